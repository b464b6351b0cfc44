"""The audit trail on the real mesh: decisions and model calls chained per tenant, verified,
tampering with an exported copy found and named, and a deleted head reported and waited out by the
auditor until it is resealed."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time

import pytest

from mesh.io.bus import Publisher, read_all
from mesh.io.keys import Keys
from mesh.io.redis_clients import sync_redis
from mesh.wire.codec import default_codec
from mesh.wire.envelope import new_envelope
from schemas.models import AuditRecord, Decision, Principal, TaskStatus
from tests.integration.test_answer_end_to_end import ingest, unchecked
from tests.integration.test_observability import _metrics, _value

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
    refused = unchecked(client).ask("   ", who)  # sent as another client might: the planner refuses it
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
    assert f"record seq 1 at partition {victim['partition']} offset {victim['offset']}: its tag does not verify" \
        in bad.stdout

    removed = tmp_path / "removed.jsonl"
    removed.write_text("".join(json.dumps(r) + "\n" for i, r in enumerate(rows) if i != mine[1]))
    gone = cli(settings, "verify", "--tenant", tenant, "--file", str(removed), "--json")
    assert gone.returncode == 1
    assert any("seq 2 missing before it" in p for p in json.loads(gone.stdout)["problems"])


def report(settings, tenant: str, n: int, publisher: Publisher | None = None) -> None:
    """An audit event for ``tenant`` on ``audit.events``, as an agent reports one."""
    event = AuditRecord(envelope=new_envelope(tenant, "audit"), agent="planner", principal=f"{tenant}/u",
                        action="submit_task", resource=f"Task::{n}", decision=Decision.allow)
    publisher = publisher or Publisher(settings)
    publisher.send(settings.topic_prefix + "audit.events", tenant.encode(), default_codec().encode(event))
    publisher.flush()


def audit_trips(settings) -> tuple[float, float]:
    """The auditor's Redis round trips for audit.events so far, and the events they were shared out over."""
    text = _metrics(settings, "auditor")
    return tuple(_value(text, f"switchboard_redis_roundtrips_{part}", agent="auditor", topic="audit.events")
                 for part in ("sum", "count"))


def test_events_reported_one_by_one_are_appended_in_batches(settings, tenant):
    """The auditor lets its events gather before it appends them (they are off the answer's path): one
    transaction for many events, where events fetched one at a time take one each."""
    report(settings, tenant, 0)
    assert len(chain_of(settings, tenant, 1)) == 1
    trips_before, events_before = audit_trips(settings)
    publisher = Publisher(settings)
    for n in range(1, 13):  # 12 events about 20 ms apart, as hops report them under a light load
        report(settings, tenant, n, publisher)
        time.sleep(0.015)
    assert [r.seq for r in chain_of(settings, tenant, 13)] == list(range(1, 14))
    trips, events = audit_trips(settings)
    assert events - events_before == 12
    # an event appended alone pays its batch's round trips by itself (12 here); gathered, a few batches share them
    assert trips - trips_before <= 6, f"the auditor appended its 12 events in {trips - trips_before:g} round trips"


def test_a_deleted_head_is_tampered_and_the_auditor_appends_nothing_until_it_is_resealed(settings, tenant):
    report(settings, tenant, 1)
    assert [r.seq for r in chain_of(settings, tenant, 1)] == [1]
    r, head = sync_redis(settings), Keys(settings.key_prefix).audit_head(tenant)
    assert cli(settings, "verify", "--tenant", tenant).returncode == 0
    r.delete(head)
    try:
        bad = cli(settings, "verify", "--tenant", tenant, "--json")
        assert bad.returncode == 1, bad.stdout + bad.stderr
        assert any("no head in Redis for a chain of 1 records" in p for p in json.loads(bad.stdout)["problems"])
        report(settings, tenant, 2)  # its event waits: the chain is halted
        assert len(chain_of(settings, tenant, 2, timeout_s=4.0)) == 1 and not r.exists(head)  # no new seq 1
    finally:
        fixed = cli(settings, "reseal", "--tenant", tenant)
    assert fixed.returncode == 0 and f"chain {tenant}: resealed at seq 1" in fixed.stdout, fixed.stdout + fixed.stderr
    assert [rec.seq for rec in chain_of(settings, tenant, 2)] == [1, 2]  # the waiting event, appended after it
    ok = cli(settings, "verify", "--tenant", tenant)
    assert ok.returncode == 0, ok.stdout + ok.stderr
