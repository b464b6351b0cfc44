"""Every module stays small enough to read in one sitting."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.contract

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 400
FILES = sorted(p for pkg in ("agents", "mesh", "index", "policy", "infra") for p in (ROOT / pkg).rglob("*.py"))


def test_there_are_modules_to_check():
    assert len(FILES) > 20


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_module_under_limit(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines < LIMIT, f"{path.relative_to(ROOT)} has {lines} lines; split it (limit {LIMIT})"
