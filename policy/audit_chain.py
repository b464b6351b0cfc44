"""The audit trail's hash chain: how a record is linked, and how a whole log is checked. Pure.

Each tenant's audit records form one chain, written by one auditor at a time (the one that owns
the tenant's partition): record ``n`` carries ``seq = n`` and ``prev_hash``, the SHA-256 of the
bytes of record ``n - 1`` as written (``GENESIS`` for the first). Checking a log in its order:

- a record whose bytes differ from what the next record's ``prev_hash`` says was **altered**;
- a jump in ``seq`` means records were **removed**;
- a ``seq`` lower than expected means records were **reordered** (or replayed out of place);
- a record identical to the one before it is a redelivery's replay, counted, not a fault;
- the last record of a chain is checked against the head the auditor keeps in Redis, when given,
  so altering or removing the newest record is caught too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from mesh.errors import DeterministicError
from mesh.wire.codec import AvroCodec
from schemas.models import AuditRecord

__all__ = ["GENESIS", "digest", "Problem", "Report", "verify"]

GENESIS = "0" * 64


def digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True)
class Problem:
    chain: str
    partition: int
    offset: int
    seq: int
    what: str

    def __str__(self) -> str:
        return f"chain {self.chain or '?'}: record seq {self.seq} at partition {self.partition} offset " \
               f"{self.offset}: {self.what}"


@dataclass
class Report:
    records: dict[str, int] = field(default_factory=dict)  # chain -> records checked
    replays: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class _Chain:
    seq: int = 0
    hash: str = GENESIS
    raw: bytes | None = None
    at: tuple[int, int] = (-1, -1)


def verify(messages: Iterable[tuple[int, int, bytes]], codec: AvroCodec,
           heads: dict[str, tuple[int, str]] | None = None, chains: set[str] | None = None) -> Report:
    """Check ``(partition, offset, value)`` messages of ``audit.log`` in log order.

    ``heads``: chain -> (seq, hash) as the auditor last recorded it. ``chains``: only these.
    """
    report, state = Report(), {}
    for partition, offset, raw in messages:
        try:
            rec = codec.decode(raw)
        except DeterministicError as err:
            report.problems.append(Problem("?", partition, offset, -1, f"not an audit record ({err})"))
            continue
        if not isinstance(rec, AuditRecord):
            report.problems.append(Problem("?", partition, offset, -1, f"not an audit record ({type(rec).__name__})"))
            continue
        if chains is not None and rec.chain not in chains:
            continue
        c = state.setdefault(rec.chain, _Chain())
        if raw == c.raw:
            report.replays += 1
            continue
        report.records[rec.chain] = report.records.get(rec.chain, 0) + 1
        problem = _link(c, rec)
        if problem:
            report.problems.append(Problem(rec.chain, partition, offset, rec.seq, problem))
        c.seq, c.hash, c.raw, c.at = rec.seq, digest(raw), raw, (partition, offset)
    for chain, (seq, head) in (heads or {}).items():
        if chains is not None and chain not in chains:
            continue
        c = state.get(chain, _Chain())
        if (c.seq, c.hash) != (seq, head):
            where = f"the last record read is seq {c.seq}" if c.raw else "no record of it was read"
            report.problems.append(Problem(chain, *c.at, c.seq, f"the chain should end at seq {seq} with hash "
                                           f"{head[:12]}..., but {where}: the newest records were altered or "
                                           "removed"))
    return report


def _link(c: _Chain, rec: AuditRecord) -> str | None:
    if rec.seq == c.seq + 1 and rec.prev_hash == c.hash:
        return None
    if rec.seq == c.seq + 1:
        return (f"its prev_hash {str(rec.prev_hash)[:12]}... is not the hash of the record before it "
                f"(seq {c.seq} at partition {c.at[0]} offset {c.at[1]}): that record was altered")
    if rec.seq > c.seq + 1:
        gap = f"seq {c.seq + 1}" if rec.seq == c.seq + 2 else f"seq {c.seq + 1} to {rec.seq - 1}"
        return f"{gap} missing before it: records were removed"
    return f"expected seq {c.seq + 1}: records were reordered or replayed out of place"
