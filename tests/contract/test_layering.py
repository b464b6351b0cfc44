"""Architecture rules, checked on the source with ``ast``: who may import whom, who reads the environment.

- an agent never imports another agent (agents meet on topics);
- mesh/ (the runtime) never imports agents, index or policy;
- index/ never imports agents; policy/ never imports agents or index;
- infra/ (processes, the embedded stack) imports none of them, mesh included: mesh.ops passes it
  plain ports, paths and checks;
- inside mesh/, every module belongs to a wing on a floor (``FLOORS``) and imports only its own
  wing or wings of lower floors; wings on one floor do not import each other;
- mesh/wire (what goes on the topics) imports nothing of mesh above floor 1;
- only mesh/settings.py reads the environment.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.contract

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("agents", "mesh", "index", "policy")
FORBIDDEN = {"mesh": {"agents", "index", "policy"}, "index": {"agents"}, "policy": {"agents", "index"},
             "infra": {"mesh", "agents", "index", "policy"}}
ENV_READER = "mesh/settings.py"

# The wings of mesh/, bottom to top. A wing is a module or a package (with everything under it).
FLOORS: dict[str, int] = {
    "mesh.text": 1, "mesh.errors": 1, "mesh.cli_input": 1, "mesh.redis_url": 1,  # plain helpers: no mesh imports
    "mesh.wire": 2, "mesh.retry": 2,                               # what goes on the topics; retry policy
    "mesh.endpoints": 3,                                           # model endpoints (their retry policy)
    "mesh.settings": 4,                                            # every setting, the one env reader
    "mesh.observe": 5,                                             # logs, metrics, traces
    "mesh.io": 6,                                                  # Kafka, Redis, their keys and stores
    "mesh.security": 7,                                            # keys, sealing, principal tokens
    "mesh.runtime": 8, "mesh.llm": 8, "mesh.planning": 8, "mesh.client": 8,  # siblings: none imports another
    "mesh.ops": 9,                                                 # the stack, replay, dead letters, usage
    "mesh.cli": 10,                                                # commands
}
# Modules of a wing that live outside its folder.
IN_WING = {"mesh.settings_doc": "mesh.cli"}  # the settings' reference, printed by a command
PACKAGE_FLOOR = 0  # mesh/__init__.py imports nothing of mesh
WIRE_CEILING = 1  # the highest floor mesh.wire may import


def modules(*packages: str) -> list[Path]:
    return sorted(p for pkg in packages for p in (ROOT / pkg).rglob("*.py"))


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(source: str, module: str) -> Iterator[tuple[int, str]]:
    """(line, imported module) for every import anywhere in ``source``, function bodies included.
    ``from a import b`` yields both ``a`` and ``a.b`` (b may be a module); relative imports are resolved."""
    package = module.split(".")[:-1] if "." in module else []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            target = base + ([node.module] if node.module else [])
            if target:
                yield node.lineno, ".".join(target)
            for alias in node.names:
                yield node.lineno, ".".join(target + [alias.name])


def env_reads(source: str) -> Iterator[int]:
    """Lines that touch os.environ / os.getenv (or import them from os)."""
    names = {"environ", "environb", "getenv", "getenvb"}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in names and \
                isinstance(node.value, ast.Name) and node.value.id == "os":
            yield node.lineno
        elif isinstance(node, ast.ImportFrom) and node.module == "os" and \
                any(a.name in names for a in node.names):
            yield node.lineno


def _top(name: str) -> str:
    return name.split(".")[0]


def cross_agent_imports(source: str, module: str) -> list[str]:
    """Imports of an agent module other than ``module`` itself."""
    me = module.split(".")[-1]
    return [f"{line}: {name}" for line, name in imports(source, module)
            if _top(name) == "agents" and "." in name and name.split(".")[1] != me]


def upward_imports(source: str, module: str) -> list[str]:
    """Imports of a package that ``module``'s layer must not depend on."""
    banned = FORBIDDEN.get(_top(module), set())
    return [f"{line}: {name}" for line, name in imports(source, module) if _top(name) in banned]


def wing_of(name: str, floors: dict[str, int] = FLOORS, in_wing: dict[str, str] = IN_WING) -> str | None:
    """The wing of mesh module ``name`` (the longest entry of ``floors`` or ``in_wing`` it is or is under);
    None if it has none."""
    parts = name.split(".")
    for n in range(len(parts), 0, -1):
        prefix = ".".join(parts[:n])
        if prefix in in_wing:
            return in_wing[prefix]
        if prefix in floors:
            return prefix
    return None


def floor_of(name: str, floors: dict[str, int] = FLOORS) -> int | None:
    if name == "mesh":
        return PACKAGE_FLOOR
    wing = wing_of(name, floors)
    return None if wing is None else floors[wing]


def floor_violations(source: str, module: str, floors: dict[str, int] = FLOORS) -> list[str]:
    """Imports of mesh modules by mesh ``module`` that are neither in its wing nor on a lower floor.

    Importing the package ``mesh`` itself is always allowed; a mesh module on no floor is a violation."""
    mine, my_floor = wing_of(module, floors), floor_of(module, floors)
    out = []
    for line, name in imports(source, module):
        if _top(name) != "mesh" or name == "mesh":
            continue
        wing, floor = wing_of(name, floors), floor_of(name, floors)
        if floor is None:
            out.append(f"{line}: {name} (on no floor)")
        elif wing != mine and (my_floor is None or floor >= my_floor):
            out.append(f"{line}: {name} (floor {floor}, {module} is on {my_floor})")
    return out


def imports_above(source: str, module: str, ceiling: int, floors: dict[str, int] = FLOORS) -> list[str]:
    """Imports of mesh modules above floor ``ceiling``, other than ``module``'s own wing."""
    mine = wing_of(module, floors)
    return [f"{line}: {name}" for line, name in imports(source, module)
            if _top(name) == "mesh" and name != "mesh" and wing_of(name, floors) != mine
            and (floor_of(name, floors) or 99) > ceiling]


# --- the checkers themselves ------------------------------------------------------------------------

def test_imports_finds_every_form():
    source = """
import agents.planner
import agents.validator as v
from agents import executor
from agents.retriever import index_query
from . import sibling
from .. import policy
def later():
    from index.bm25 import BM25
"""
    found = {name for _, name in imports(source, "agents.example")}
    assert {"agents.planner", "agents.validator", "agents.executor", "agents.retriever", "agents.sibling",
            "policy", "index.bm25"} <= found


def test_cross_agent_imports_flags_other_agents_only():
    source = "from agents import planner\nfrom agents.executor import execute\nimport agents\nimport mesh.runtime.faust_app\n"
    assert cross_agent_imports(source, "agents.executor") == ["1: agents.planner"]
    assert cross_agent_imports("from . import validator\n", "agents.executor") == ["1: agents.validator"]


def test_upward_imports_flags_forbidden_layers_only():
    source = "import mesh.text\nfrom schemas.models import Passage\ndef f():\n    from index import bm25\n"
    assert upward_imports(source, "policy.access") == ["4: index", "4: index.bm25"]
    assert upward_imports(source, "index.bm25") == []
    assert upward_imports("from agents.planner import STEP\n", "mesh.runtime.processor")[0] == "1: agents.planner"


def test_floor_violations_flag_upward_and_sideways_imports():
    floors = {"mesh.low": 1, "mesh.mid": 2, "mesh.side": 2, "mesh.top": 3}
    source = """
import mesh
from mesh import low
from mesh.mid import helper
from . import sibling
def later():
    from mesh.top.cli import main
    import mesh.side
    import mesh.nowhere
"""
    assert floor_violations(source, "mesh.mid.thing", floors) == [
        "7: mesh.top.cli (floor 3, mesh.mid.thing is on 2)", "7: mesh.top.cli.main (floor 3, mesh.mid.thing is on 2)",
        "8: mesh.side (floor 2, mesh.mid.thing is on 2)", "9: mesh.nowhere (on no floor)"]
    assert floor_violations("from mesh.mid import helper\nimport mesh.side\n", "mesh.top", floors) == []
    assert floor_violations("from mesh.mid.a import b\n", "mesh.low", floors)[0].startswith("1: mesh.mid.a ")


def test_floor_checker_flags_an_upward_import_in_the_real_table():
    assert floor_violations("from mesh.cli.main import main\n", "mesh.wire.codec") != []
    assert floor_violations("from mesh.runtime.worker import run\n", "mesh.io.bus") != []
    assert floor_violations("from mesh.llm.routing import Load\n", "mesh.runtime.processor") != []  # same floor
    assert floor_violations("from mesh.io.bus import read_all\nfrom mesh.errors import E\n", "mesh.ops.dlq") == []
    assert floor_violations("import mesh.settings\n", "mesh") != []  # the package's __init__ is below every wing
    assert floor_violations("from mesh.settings_doc import x\n", "mesh.cli.main") == []  # one wing
    assert floor_violations("from mesh.settings_doc import x\n", "mesh.ops.stack") != []


def test_imports_above_flags_only_what_is_over_the_ceiling():
    source = "from mesh.errors import E\nfrom mesh.settings import Settings\nfrom .codec import x\n"
    assert imports_above(source, "mesh.wire.envelope", 1) == ["2: mesh.settings", "2: mesh.settings.Settings"]


def test_env_reads_finds_every_form():
    source = """
import os
from os import environ
a = os.environ["X"]
b = os.getenv("Y")
c = {**os.environ}
d = os.getpid()
"""
    assert sorted(env_reads(source)) == [3, 4, 5, 6]


# --- the rules --------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", modules("agents"), ids=lambda p: p.name)
def test_agents_never_import_each_other(path):
    assert cross_agent_imports(path.read_text(), module_name(path)) == []


@pytest.mark.parametrize("path", modules(*FORBIDDEN), ids=lambda p: str(p.relative_to(ROOT)))
def test_layers_import_only_downward(path):
    assert upward_imports(path.read_text(), module_name(path)) == []


@pytest.mark.parametrize("path", modules("mesh"), ids=lambda p: str(p.relative_to(ROOT)))
def test_mesh_wings_import_only_their_own_or_lower_floors(path):
    module = module_name(path)
    assert floor_of(module) is not None, f"{module} is on no floor: add its wing to FLOORS"
    assert floor_violations(path.read_text(), module) == []


@pytest.mark.parametrize("path", modules("mesh/wire"), ids=lambda p: str(p.relative_to(ROOT)))
def test_wire_imports_nothing_of_mesh_above_floor_1(path):
    assert imports_above(path.read_text(), module_name(path), WIRE_CEILING) == []


@pytest.mark.parametrize("path", [p for p in modules(*PACKAGES) if p.relative_to(ROOT).as_posix() != ENV_READER],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_only_settings_reads_the_environment(path):
    rel = path.relative_to(ROOT).as_posix()
    assert [f"{rel}:{line}" for line in env_reads(path.read_text())] == []


def test_the_rules_cover_real_modules():
    assert len(modules("agents")) >= 4 and len(modules("mesh")) >= 10
    assert len(modules("mesh/wire")) >= 3 and len(modules("infra")) >= 2
    packages = {p.parent.name for p in modules("mesh") if p.name == "__init__.py" and p.parent.name != "mesh"}
    assert {f"mesh.{name}" for name in packages} <= set(FLOORS)
