"""policy.audit_chain.verify, over chains the auditor's own ``chained`` builds: what tampering it sees."""

from __future__ import annotations

import pytest

from agents.auditor import chained
from mesh.wire.codec import default_codec
from mesh.wire.envelope import new_envelope
from policy.audit_chain import GENESIS, digest, verify
from schemas.models import AuditRecord, Decision

pytestmark = pytest.mark.unit
CODEC = default_codec()


def event(n: int, tenant: str = "acme") -> AuditRecord:
    return AuditRecord(envelope=new_envelope(tenant, f"audit.{n}"), agent="planner", principal=f"{tenant}/u",
                       action="submit_task", resource=f"task/{n}", decision=Decision.allow)


def chain(n: int, tenant: str = "acme", partition: int = 0) -> list[tuple[int, int, bytes]]:
    out, prev = [], GENESIS
    for i in range(1, n + 1):
        raw = CODEC.encode(chained(event(i, tenant), i, prev))
        out.append((partition, len(out), raw))
        prev = digest(raw)
    return out


def head(msgs) -> tuple[int, str]:
    return len(msgs), digest(msgs[-1][2])


def test_an_untouched_log_verifies_and_interleaved_chains_are_kept_apart():
    a, b = chain(5, "acme"), chain(3, "globex")
    mixed = [a[0], b[0], a[1], a[2], b[1], a[3], b[2], a[4]]
    report = verify(mixed, CODEC, {"acme": head(a), "globex": head(b)})
    assert report.ok and report.records == {"acme": 5, "globex": 3}


def test_an_altered_record_is_named():
    msgs = chain(5)
    rec = CODEC.decode(msgs[2][2]).model_copy(update={"decision": Decision.deny})
    msgs[2] = (0, 2, CODEC.encode(rec))
    report = verify(msgs, CODEC)
    assert not report.ok
    assert "seq 3 at partition 0 offset 2): that record was altered" in str(report.problems[0])


def test_a_removed_record_is_named():
    msgs = chain(5)
    del msgs[2]
    problems = verify(msgs, CODEC).problems
    assert len(problems) == 1 and "seq 3 missing before it: records were removed" in str(problems[0])


def test_reordered_records_are_caught():
    msgs = chain(5)
    msgs[1], msgs[2] = msgs[2], msgs[1]
    assert any("reordered" in str(p) for p in verify(msgs, CODEC).problems)


def test_a_redelivery_replay_is_counted_not_a_fault():
    msgs = chain(3)
    report = verify([msgs[0], msgs[1], msgs[1], msgs[2]], CODEC)
    assert report.ok and report.replays == 1


def test_the_newest_record_altered_or_removed_is_caught_against_the_head():
    msgs = chain(4)
    known = {"acme": head(msgs)}
    assert not verify(msgs[:-1], CODEC, known).ok  # the last one removed
    rec = CODEC.decode(msgs[-1][2]).model_copy(update={"resource": "task/other"})
    altered = msgs[:-1] + [(0, 3, CODEC.encode(rec))]
    assert verify(altered, CODEC).ok  # without the head nothing follows it to tell
    assert "newest records were altered or removed" in str(verify(altered, CODEC, known).problems[0])


def test_garbage_in_the_log_is_reported():
    assert "not an audit record" in str(verify([(0, 0, b"junk")], CODEC).problems[0])
