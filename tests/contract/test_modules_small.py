"""Every module stays small enough to read in one sitting, and every function short enough to read at a glance."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.contract

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 400
FUNCTION_LIMIT = 80
FILES = sorted(p for pkg in ("agents", "mesh", "index", "policy", "infra") for p in (ROOT / pkg).rglob("*.py"))


def test_there_are_modules_to_check():
    assert len(FILES) > 20


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_module_under_limit(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines < LIMIT, f"{path.relative_to(ROOT)} has {lines} lines; split it (limit {LIMIT})"


def long_functions(source: str, limit: int = FUNCTION_LIMIT) -> list[str]:
    """``name (n lines)`` of every function or method in ``source`` longer than ``limit`` lines."""
    return [f"{n.name} ({n.end_lineno - n.lineno + 1} lines)" for n in ast.walk(ast.parse(source))
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.end_lineno - n.lineno + 1 > limit]


def test_long_functions_finds_methods_and_nested_functions():
    body = "\n".join(f"    x{i} = {i}" for i in range(5))
    source = f"class A:\n    def m(self):\n{body.replace('    ', '        ')}\n\ndef f():\n    def g():\n{body.replace('    ', '        ')}\n    return g\n"
    assert sorted(long_functions(source, limit=4)) == ["f (8 lines)", "g (6 lines)", "m (6 lines)"]


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_functions_under_limit(path):
    assert long_functions(path.read_text(encoding="utf-8")) == [], \
        f"{path.relative_to(ROOT)}: split these (limit {FUNCTION_LIMIT} lines)"
