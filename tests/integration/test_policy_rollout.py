"""A candidate policy set in shadow reports exactly where it differs; promote and rollback switch
sets in running agents, without restarts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid

import pytest

from policy.engine import SHIPPED
from schemas.models import Principal, TaskStatus
from tests.integration.test_answer_end_to_end import ingest

pytestmark = pytest.mark.integration


def cli(settings, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mesh.cli.main", "policy", *args], env={**os.environ,
                          **settings.to_env()}, capture_output=True, text=True, timeout=120)


def test_shadow_reports_exactly_the_differing_requests_then_promote_and_rollback(settings, tenant, tmp_path):
    role = f"intern{uuid.uuid4().hex[:6]}"
    candidate = tmp_path / "candidate"
    candidate.mkdir()
    (candidate / "schema.cedarschema").write_text((SHIPPED / "schema.cedarschema").read_text())
    (candidate / "policies.cedar").write_text((SHIPPED / "policies.cedar").read_text() + f'''
@id("interns-submit-nothing")
forbid (principal, action == Switchboard::Action::"submit_task", resource)
when {{ principal.roles.contains("{role}") }};
''')
    client = ingest(settings, tenant)
    shadow = cli(settings, "shadow", str(candidate), "--share", "1")
    assert shadow.returncode == 0, shadow.stderr
    intern = Principal(tenant_id=tenant, user_id="ivy", roles=[role])
    staff = Principal(tenant_id=tenant, user_id="sol")
    tasks = {who.user_id + str(i): client.ask("How long are audit logs retained?", who)
             for i, who in enumerate([intern, staff, intern])}
    assert all(t.status is TaskStatus.answered for t in tasks.values())  # shadow decides nothing
    diffs = json.loads(cli(settings, "diff", "--json").stdout)
    mine = [d for d in diffs if d["principal"].startswith(tenant + "/")]
    assert {d["request"] for d in mine} == {tasks["ivy0"].envelope.task_id, tasks["ivy2"].envelope.task_id}
    assert {(d["action"], d["active"], d["candidate"]) for d in mine} == {("submit_task", "allow", "deny")}
    assert all(d["candidate_policies"] == ["interns-submit-nothing"] for d in mine)
    status = json.loads(cli(settings, "status", "--json").stdout)
    before = status["active"]
    try:
        assert cli(settings, "promote").returncode == 0
        time.sleep(1.5)  # agents re-read the rollout every second
        refused = client.ask("How long are audit logs retained?", intern)
        assert refused.status is TaskStatus.rejected and refused.rejection.policy_ids == ["interns-submit-nothing"]
        assert client.ask("How long are audit logs retained?", staff).status is TaskStatus.answered
    finally:
        assert cli(settings, "rollback").returncode == 0
    time.sleep(1.5)
    again = client.ask("How long are audit logs retained?", intern)
    assert again.status is TaskStatus.answered and again.envelope.policy_version == before
