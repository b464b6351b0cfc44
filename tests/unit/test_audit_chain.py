"""policy.audit_chain.verify, over chains sealed the way the auditor seals them: what tampering it sees."""

from __future__ import annotations

import os

import pytest

from agents.auditor import chained
from mesh.security.audit_keys import ChainKeys
from mesh.wire.codec import default_codec
from mesh.wire.envelope import new_envelope
from policy.audit_chain import GENESIS, Head, digest, seal, sign_head, verify
from schemas.models import AuditRecord, Decision

pytestmark = pytest.mark.unit
CODEC = default_codec()
KEYS = ChainKeys([os.urandom(32)])


def event(n: int, tenant: str = "acme") -> AuditRecord:
    return AuditRecord(envelope=new_envelope(tenant, f"audit.{n}"), agent="planner", principal=f"{tenant}/u",
                       action="submit_task", resource=f"task/{n}", decision=Decision.allow)


class Chain:
    """A tenant's chain as the auditor appends it: the log's messages and the head it keeps."""

    def __init__(self, tenant: str = "acme", keys: ChainKeys = KEYS) -> None:
        self.tenant, self.keys, self.msgs, self.seq, self.tag = tenant, keys, [], 0, GENESIS

    def append(self, n: int = 1, offset_from: int = 0) -> Chain:
        for _ in range(n):
            self.seq += 1
            rec, self.tag = seal(chained(event(self.seq, self.tenant), self.seq, self.tag), self.tag, self.keys, CODEC)
            self.msgs.append((0, offset_from + len(self.msgs), CODEC.encode(rec)))
        return self

    def head(self) -> Head:
        return Head(self.seq, self.tag, sign_head(self.keys, self.tenant, self.seq, self.tag))


def chain(n: int, tenant: str = "acme") -> Chain:
    return Chain(tenant).append(n)


def problems(msgs, heads=None, keys=KEYS) -> list[str]:
    return [str(p) for p in verify(msgs, CODEC, keys, heads).problems]


def test_an_untouched_log_verifies_and_interleaved_chains_are_kept_apart():
    a, b = chain(5, "acme"), chain(3, "globex")
    m, n = a.msgs, b.msgs
    mixed = [m[0], n[0], m[1], m[2], n[1], m[3], n[2], m[4]]
    report = verify(mixed, CODEC, KEYS, {"acme": a.head(), "globex": b.head()})
    assert report.ok, report.problems
    assert report.records == {"acme": 5, "globex": 3}


def test_an_altered_record_is_named():
    msgs = chain(5).msgs
    rec = CODEC.decode(msgs[2][2]).model_copy(update={"decision": Decision.deny})
    msgs[2] = (0, 2, CODEC.encode(rec))
    found = problems(msgs)
    assert len(found) == 1 and "record seq 3 at partition 0 offset 2: its tag does not verify" in found[0]


def test_a_removed_record_is_named():
    msgs = chain(5).msgs
    del msgs[2]
    found = problems(msgs)
    assert len(found) == 1 and "seq 3 missing before it: records were removed" in found[0]


def test_reordered_records_are_caught():
    msgs = chain(5).msgs
    msgs[1], msgs[2] = msgs[2], msgs[1]
    assert any("reordered" in p for p in problems(msgs))


def test_a_redelivery_replay_is_counted_not_a_fault():
    msgs = chain(3).msgs
    report = verify([msgs[0], msgs[1], msgs[2], msgs[1]], CODEC, KEYS)
    assert report.ok and report.replays == 1


def test_a_forged_record_with_a_moved_head_is_tampered():
    c = chain(4)
    genuine = c.head()
    # whoever can write Redis and the log: a record after the last, linked to the head's tag, with a hash of its own
    forged = chained(event(99), 5, genuine.tag).model_copy(update={"prev_hash": f"{genuine.tag}|{KEYS.signing}:"
                                                                                f"{'ab' * 32}"})
    raw = CODEC.encode(forged)
    msgs = c.msgs + [(0, 4, raw)]
    moved = Head(5, f"{KEYS.signing}:{'ab' * 32}", genuine.sig)
    found = problems(msgs, {"acme": moved})
    assert any("record seq 5 at partition 0 offset 4: its tag does not verify" in p for p in found)
    assert any("its head in Redis (seq 5) does not verify" in p for p in found)
    # a tag made with a key of the forger's own is no better
    theirs = Chain("acme", ChainKeys([os.urandom(32)]))
    theirs.seq, theirs.tag = 4, genuine.tag
    theirs.append(1, offset_from=4)
    found = problems(c.msgs + theirs.msgs, {"acme": theirs.head()})
    assert any("no configured audit key has id" in p for p in found)


def test_a_deleted_head_is_tampered():
    c = chain(3)
    assert verify(c.msgs, CODEC, KEYS, {"acme": c.head()}).ok
    found = problems(c.msgs, {})
    assert len(found) == 1 and "no head in Redis for a chain of 3 records: it was deleted" in found[0]


def test_a_restarted_chain_is_tampered():
    first, again = chain(3), chain(2)  # the head lost: appending started over at seq 1
    msgs = first.msgs + [(0, 3 + i, raw) for i, (_, _, raw) in enumerate(again.msgs)]
    found = problems(msgs, {"acme": again.head()})
    assert len(found) == 1
    assert "record seq 1 at partition 0 offset 3: a second seq 1, after seq 3 at partition 0 offset 2: the chain " \
           "restarted" in found[0]


def test_a_fork_is_tampered():
    c = chain(3)
    rolled = Chain("acme")  # the head rolled back to seq 2: another record 3 after the same predecessor
    rolled.msgs, rolled.seq = list(c.msgs[:2]), 2
    rolled.tag = CODEC.decode(c.msgs[2][2]).prev_hash.partition("|")[0]
    rolled.append(1, offset_from=1)
    msgs = c.msgs + [rolled.msgs[2]]
    found = problems(msgs, {"acme": rolled.head()})
    assert len(found) == 1 and "the chain forked" in found[0] and "same predecessor as seq 3" in found[0]


def test_the_newest_record_altered_or_removed_is_caught_against_the_head():
    c = chain(4)
    known = {"acme": c.head()}
    assert any("newest records were altered or removed" in p for p in problems(c.msgs[:-1], known))
    rec = CODEC.decode(c.msgs[-1][2]).model_copy(update={"resource": "task/other"})
    altered = c.msgs[:-1] + [(0, 3, CODEC.encode(rec))]
    assert any("its tag does not verify" in p for p in problems(altered))  # caught without the head too


def test_after_a_key_rotation_old_records_still_verify_under_their_key():
    old, new = os.urandom(32), os.urandom(32)
    c = Chain("acme", ChainKeys([old])).append(3)
    c.keys = ChainKeys([new, old])  # rotated: the new key signs, the old one is kept to verify
    c.append(2)
    tags = [CODEC.decode(raw).prev_hash.rpartition("|")[2].partition(":")[0] for _, _, raw in c.msgs]
    assert len(set(tags[:3])) == 1 and len(set(tags[3:])) == 1 and tags[0] != tags[3]
    assert verify(c.msgs, CODEC, c.keys, {"acme": c.head()}).ok
    found = problems(c.msgs, {"acme": c.head()}, keys=ChainKeys([new]))  # the old key dropped: those cannot be checked
    assert len(found) == 3 and all("no configured audit key has id" in p for p in found)


def test_records_from_before_keyed_chains_verify_until_the_first_keyed_one():
    raws, prev = [], GENESIS
    for i in (1, 2):
        raw = CODEC.encode(chained(event(i), i, prev))
        raws.append(raw)
        prev = digest(raw)
    c = Chain("acme")
    c.seq, c.tag = 2, prev
    c.append(1, offset_from=2)
    msgs = [(0, 0, raws[0]), (0, 1, raws[1]), c.msgs[0]]
    assert verify(msgs, CODEC, KEYS, {"acme": c.head()}).ok
    # an unkeyed record after a keyed one is a forgery
    late = CODEC.encode(chained(event(4), 4, c.tag))
    assert any("no audit key tag after keyed records" in p for p in problems(msgs + [(0, 3, late)]))


def test_garbage_in_the_log_is_reported():
    assert "not an audit record" in problems([(0, 0, b"junk")])[0]
