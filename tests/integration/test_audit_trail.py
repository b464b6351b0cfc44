"""The audit trail on the real mesh: decisions and model calls chained per tenant, verified, and
tampering with an exported copy found and named."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time

import pytest

from mesh.io.bus import read_all
from mesh.wire.codec import default_codec
from schemas.models import AuditRecord, Decision, Principal, TaskStatus
from tests.integration.test_answer_end_to_end import ingest

pytestmark = pytest.mark.integration


def cli(settings, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mesh.cli.main", "audit", *args], env={**os.environ,
                          **settings.to_env()}, capture_output=True, text=True, timeout=120)


def chain_of(settings, tenant: str, want: int, timeout_s: float = 20.0) -> list[AuditRecord]:
    codec, deadline = default_codec(), time.monotonic() + timeout_s
    while True:
        msgs = read_all(settings, settings.topic_prefix + "audit.log", idle_s=0.5)
        records = [r for r in (codec.decode(m.value()) for m in msgs) if r.chain == tenant]
        if len(records) >= want or time.monotonic() > deadline:
            return records
        time.sleep(0.3)


def test_decisions_and_model_calls_are_chained_and_tampering_is_named(settings, tenant, tmp_path):
    client = ingest(settings, tenant)
    who = Principal(tenant_id=tenant, user_id="u1")
    answered = client.ask("How long are audit logs retained?", who)
    refused = client.ask("   ", who)
    assert answered.status is TaskStatus.answered and refused.status is TaskStatus.rejected
    records = chain_of(settings, tenant, 3)
    assert [r.seq for r in records] == list(range(1, len(records) + 1))
    by_action = {(r.action, r.decision) for r in records}
    assert {("submit_task", Decision.allow), ("submit_task", Decision.deny), ("use_model", Decision.allow)} <= by_action
    call = next(r for r in records if r.action == "use_model")
    assert call.endpoint == "builtin" and call.model == "builtin-extractive" and len(call.input_sha256) == 64
    denial = next(r for r in records if r.decision is Decision.deny)
    assert denial.reason.startswith("empty_question")
    assert all("retained" not in r.model_dump_json() for r in records)  # hashes, never the question

    ok = cli(settings, "verify", "--tenant", tenant, "--json")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert json.loads(ok.stdout)["records"] == {tenant: len(records)}

    export = tmp_path / "audit.jsonl"
    assert cli(settings, "export", str(export)).returncode == 0
    rows = [json.loads(line) for line in export.read_text().splitlines()]
    codec = default_codec()
    mine = [i for i, r in enumerate(rows) if codec.decode(base64.b64decode(r["value"])).chain == tenant]
    assert len(mine) == len(records)

    altered = [dict(r) for r in rows]
    victim = altered[mine[0]]
    record = codec.decode(base64.b64decode(victim["value"])).model_copy(update={"decision": Decision.deny})
    victim["value"] = base64.b64encode(codec.encode(record)).decode()
    tampered = tmp_path / "altered.jsonl"
    tampered.write_text("".join(json.dumps(r) + "\n" for r in altered))
    bad = cli(settings, "verify", "--tenant", tenant, "--file", str(tampered))
    assert bad.returncode == 1
    assert f"seq 1 at partition {victim['partition']} offset {victim['offset']}): that record was altered" in bad.stdout

    removed = tmp_path / "removed.jsonl"
    removed.write_text("".join(json.dumps(r) + "\n" for i, r in enumerate(rows) if i != mine[1]))
    gone = cli(settings, "verify", "--tenant", tenant, "--file", str(removed), "--json")
    assert gone.returncode == 1
    assert any("seq 2 missing before it" in p for p in json.loads(gone.stdout)["problems"])
