"""Architecture rules, checked on the source with ``ast``: who may import whom, who reads the environment.

- an agent never imports another agent (agents meet on topics);
- mesh/ (the runtime) never imports agents, index or policy;
- index/ never imports agents; policy/ never imports agents or index;
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
FORBIDDEN = {"mesh": {"agents", "index", "policy"}, "index": {"agents"}, "policy": {"agents", "index"}}
ENV_READER = "mesh/settings.py"


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


@pytest.mark.parametrize("path", [p for p in modules(*PACKAGES) if p.relative_to(ROOT).as_posix() != ENV_READER],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_only_settings_reads_the_environment(path):
    rel = path.relative_to(ROOT).as_posix()
    assert [f"{rel}:{line}" for line in env_reads(path.read_text())] == []


def test_the_rules_cover_real_modules():
    assert len(modules("agents")) >= 4 and len(modules("mesh")) >= 10
