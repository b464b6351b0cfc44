"""Every Redis key is named by mesh.io.keys.Keys; no other module formats one by hand.

Checked on the source with ``ast``, in every package that talks to Redis. A hand-built key is
a string put together from

- a key prefix (a name ending in ``prefix``: ``key_prefix``, ``keys.prefix``, ``cache_prefix``...)
  followed by a key-like literal (``t:``, ``breaker:``, ``deks``...);
- anything followed by a literal that starts like one of our keys (``t:``, ``policy:``, ``agents:``...);
- a ``Keys`` method's result followed by more of a key (``:version``, ``*``).

Topic names are not keys: ``topic_prefix`` is never a key prefix, and a topic name cannot hold
a ``:``, so ``Topics`` (mesh/wire/topics.py) and its prefix are not flagged.
"""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from mesh.io.keys import Keys

pytestmark = pytest.mark.contract

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("mesh", "agents", "index", "policy", "bench", "infra")
KEYS_MODULE = "mesh/io/keys.py"

_PREFIXISH = re.compile(r"(^|_)prefix$")
_NOT_KEY_PREFIXES = {"topic_prefix"}
_AFTER_PREFIX = re.compile(r"^(\w*:|\w+$)")  # "t:...", "breaker:...", "deks"
_KEY_START = re.compile(r"^(t|idem|task|pending|agents|lease|breaker|route|policy|dlq|deks|replay|rebuild|audit)"
                        r"(:(?!\s)|$)")
_KEY_TAIL = re.compile(r"^[:*]")
KEY_METHODS = {name for name, _ in inspect.getmembers(Keys, inspect.isfunction) if not name.startswith("_")}


def _name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _is_prefix(node: ast.AST) -> bool:
    """A key prefix: ``key_prefix``, ``s.cache_prefix or s.key_prefix``, ``keys.prefix``, ``self._prefix``..."""
    if isinstance(node, ast.BoolOp):
        return any(_is_prefix(v) for v in node.values)
    name = _name(node)
    return name is not None and name not in _NOT_KEY_PREFIXES and bool(_PREFIXISH.search(name))


def _is_key_call(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in KEY_METHODS


def _flagged(left: ast.AST, literal: str) -> bool:
    return ((_is_prefix(left) and bool(_AFTER_PREFIX.match(literal)))
            or bool(_KEY_START.match(literal))
            or (_is_key_call(left) and bool(_KEY_TAIL.match(literal))))


def _pairs(tree: ast.AST) -> Iterator[tuple[int, ast.AST, str]]:
    """(line, expression, the literal right after it) in f-strings and in ``expr + "literal"``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            for a, b in zip(node.values, node.values[1:]):
                if isinstance(a, ast.FormattedValue) and isinstance(b, ast.Constant) and isinstance(b.value, str):
                    yield node.lineno, a.value, b.value
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add) and \
                isinstance(node.right, ast.Constant) and isinstance(node.right.value, str):
            left = node.left
            if isinstance(left, ast.JoinedStr) and left.values and isinstance(left.values[-1], ast.FormattedValue):
                left = left.values[-1].value
            yield node.lineno, left, node.right.value


def hand_built_keys(source: str) -> list[str]:
    """Lines of ``source`` that put a Redis key together by hand, with the piece that gives it away."""
    return sorted({f"{line}: {{{ast.unparse(expr)}}}{literal}" for line, expr, literal in _pairs(ast.parse(source))
                   if _flagged(expr, literal)}, key=lambda s: int(s.split(":")[0]))


def sources() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")
                  if p.relative_to(ROOT).as_posix() != KEYS_MODULE)


# --- the checker itself -----------------------------------------------------------------------------

def test_the_checker_flags_every_hand_built_form():
    source = '''
a = f"{settings.key_prefix}t:{tenant}:budget"
b = f"{settings.cache_prefix or settings.key_prefix}deks"
c = keys.prefix + "policy:"
d = f"{self._prefix}route:{name}"
e = f"{live}policy:*"
f = self._keys.docs(tenant) + ":version"
g = f"{keys.task(tenant, task_id)}:masks"
h = f"{prefix}t:{tenant}:audit:rec:{key}"
'''
    assert [s.split(":")[0] for s in hand_built_keys(source)] == [str(n) for n in range(2, 10)]


def test_the_checker_leaves_topics_text_and_keys_calls_alone():
    source = '''
a = f"{settings.topic_prefix}switchboard-{agent}"
b = f"{settings.topic_prefix}replay.{replay_id}."
c = self.prefix + logical
d = f"route: {r.route_reason[:80]}"
e = f"{best.name}: ${cost:.6f} expected"
f = keys.task(tenant, task_id)
g = f"{prefix}{branch}t+{e.at_ms - start} ms"
h = f"{n} task: {x}"
i = tempfile.mkdtemp(prefix="sb-bench-")
'''
    assert hand_built_keys(source) == []


# --- the rule ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_redis_keys_are_built_only_by_keys(path):
    assert hand_built_keys(path.read_text()) == [], "name the key with a method of mesh.io.keys.Keys"


def test_the_rule_covers_real_modules():
    assert len(sources()) > 50 and {"ledger", "audit_head", "audit_record"} <= KEY_METHODS
