"""What an agent is made of: its name, routes, timers and warm-up, and the context its handlers use.

Agents build these; ``mesh.runtime.faust_app`` runs them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from mesh.io.keys import Keys
from mesh.io.ledger import Rider
from mesh.retry import RetryPolicy
from mesh.runtime.processor import Emit, Route
from mesh.security.crypto import Sealer
from mesh.settings import Settings
from mesh.wire.codec import AvroCodec
from mesh.wire.topics import Topics

__all__ = ["AgentContext", "AgentSpec", "Parts", "Timer", "group_id"]


@dataclass
class AgentContext:
    """What an agent's handlers may use: settings, codec, topic names, Redis and key names."""

    settings: Settings
    codec: AvroCodec
    topics: Topics
    keys: Keys
    redis: object  # redis.asyncio.Redis, connected lazily on the worker's loop
    sealer: Sealer | None = None  # seals payloads kept in Redis, when the mesh encrypts at rest


@dataclass(frozen=True)
class Timer:
    """Work an agent does on a clock rather than on a message (e.g. sweeping overdue steps)."""

    interval_s: float
    run: Callable[[], Awaitable[list[Emit]]]
    #: called once what ``run`` returned was acknowledged by the broker (e.g. to forget what was sent)
    after: Callable[[], Awaitable[None]] | None = None


@dataclass(frozen=True)
class Parts:
    """What an agent runs: routes for its topics, timers, and a warm-up done before it reports ready."""

    routes: list[Route]
    timers: list[Timer] = field(default_factory=list)
    warmup: Callable[[], Awaitable[None]] | None = None
    #: reads kept fresh on the side (``mesh.io.ledger.Rider``, e.g. the policy rollout's), sent with the
    #: ledger's reads when due instead of in round trips of their own
    riders: list[Rider] = field(default_factory=list)
    #: what the agent says of itself in its heartbeat, which `switchboard agents` shows (e.g. the index agent's
    #: vector backend)
    info: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AgentSpec:
    """An agent: its name and a factory for its parts (called once the context exists)."""

    name: str
    routes: Callable[[AgentContext], list[Route] | Parts]
    retry: RetryPolicy = RetryPolicy()
    #: messages of each input topic one replica handles at once (``Settings.windows`` overrides it); sized
    #: for what the agent waits on: an executor waits seconds on models, so its window is large
    window: int = 16
    #: the worker runs last in line for the CPU (``mesh.runtime.worker.last_in_line``): work that may lag, such as
    #: scanning ahead, takes only the CPU that the agents on the request path leave
    background: bool = False
    #: how long (ms) the agent's fetches wait for records to gather before the broker answers (0: answered as
    #: soon as any record is there); for an agent off the answer's path, whose work costs less per message in
    #: larger batches: fewer fetches, handlings, Redis transactions and produces, each for many messages
    gather_ms: int = 0


def group_id(settings: Settings, agent: str) -> str:
    """The consumer group (and Faust app id) of an agent."""
    return f"{settings.topic_prefix}switchboard-{agent}"
