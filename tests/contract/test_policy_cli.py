"""CI runs `switchboard policy validate` and `policy test` on the shipped policies."""

from __future__ import annotations

import subprocess
import sys

import pytest

from policy.engine import SHIPPED

pytestmark = pytest.mark.contract


def run(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mesh.cli.main", "policy", *args], capture_output=True, text=True,
                          timeout=120)


def test_the_shipped_policies_validate():
    out = run("validate")
    assert out.returncode == 0 and "valid: policy set" in out.stderr


def test_the_shipped_policy_tests_pass():
    out = run("test", str(SHIPPED / "tests.jsonl"))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "cases pass" in out.stderr and out.stdout == ""


def test_a_failing_case_exits_1_and_says_which(tmp_path):
    case = tmp_path / "cases.jsonl"
    case.write_text('{"name": "wishful", "principal": {"tenant": "acme", "user": "eve", "roles": ["suspended"]}, '
                    '"action": "submit_task", "resource": {"type": "Task", "id": "t", "tenant": "acme"}, '
                    '"expect": "allow"}\n')
    out = run("test", str(case))
    assert out.returncode == 1 and "wishful: expected allow, got deny (policies: suspended-users-do-nothing)" in out.stdout
