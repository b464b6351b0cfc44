"""Finding agents: each registers an ``AgentSpec`` under the ``switchboard.agents`` entry point
group (see pyproject.toml), so the runtime never imports an agent module by name and a
platform team can add its own agents the same way."""

from __future__ import annotations

from importlib.metadata import entry_points

from mesh.runtime.spec import AgentContext, AgentSpec, Parts
from mesh.settings import Settings

__all__ = ["agent_names", "load_spec", "input_topics"]

_GROUP = "switchboard.agents"


def agent_names() -> list[str]:
    """Every registered agent, in the order `up` starts them (the index agent first)."""
    names = sorted(ep.name for ep in entry_points(group=_GROUP))
    return sorted(names, key=lambda n: n != "index")


def load_spec(name: str) -> AgentSpec:
    found = [ep for ep in entry_points(group=_GROUP) if ep.name == name]
    if not found:
        raise SystemExit(f"unknown agent {name!r}: choose one of {', '.join(agent_names())} "
                         "(is the package installed? `make setup`)")
    spec = found[0].load()
    if not isinstance(spec, AgentSpec):
        raise SystemExit(f"entry point {found[0].value} is not an AgentSpec")
    return spec


class _NoKeys:
    """The sealer of a context built only to list routes: no key file is read or made, and none may be used."""

    def __getattr__(self, name: str):
        raise RuntimeError("routes listed by input_topics must not seal or open anything")


def input_topics(name: str, settings: Settings) -> list[str]:
    """The logical topics agent ``name`` consumes (its routes are built; nothing is connected to)."""
    from mesh.io.keys import Keys
    from mesh.io.redis_clients import connect
    from mesh.wire.codec import default_codec
    from mesh.wire.topics import Topics

    ctx = AgentContext(settings, default_codec(), Topics(settings.topic_prefix), Keys(settings.key_prefix),
                       connect(settings), sealer=_NoKeys())
    built = load_spec(name).routes(ctx)
    return [r.topic for r in (built if isinstance(built, Parts) else Parts(built)).routes]
