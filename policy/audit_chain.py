"""The audit trail's keyed chain: how a record is sealed and linked, and how a whole log is checked. Pure.

Each tenant's audit records form one chain, written by one auditor at a time (the one that owns
the tenant's partition). Record ``n`` carries ``seq = n`` and, in ``prev_hash``,
``<prev>|<key id>:<mac>``:

- ``prev`` is the tag of record ``n - 1`` (``GENESIS`` for the first): the link;
- ``<key id>:<mac>`` is the record's own tag, an HMAC-SHA256 (``mesh.security.audit_keys``) of
  the record as encoded with ``prev_hash = prev``, under the key the id names.

Redis and the topics never hold the key, so whoever can write both can neither alter a record nor
add one that verifies. The chain's head in Redis (last seq, its tag) is signed the same way.
Checking a log in its order (``verify``) names each problem in one line:

- a record whose tag does not verify was **altered** or **forged**;
- a jump in ``seq`` means records were **removed**;
- a second ``seq 1`` means the chain **restarted** (its head was lost);
- two records naming the same predecessor mean the chain **forked** (a head was rolled back);
- a ``seq`` lower than expected otherwise means records were **reordered**;
- a record seen before is a redelivery's replay, counted, not a fault;
- the chain's end is checked against its head in Redis, when given: a head that is missing, not
  signed with an audit key, or not the last record read is **tampered** too.

Records written before chains were keyed (``prev_hash`` a bare SHA-256 of the record before) still
verify as such at the start of a chain; one after a keyed record is a forgery.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from mesh.errors import DeterministicError
from mesh.security.audit_keys import ChainKeys, UnknownChainKey
from mesh.wire.codec import AvroCodec
from schemas.models import AuditRecord

__all__ = ["GENESIS", "Head", "Problem", "Report", "digest", "seal", "head_problem", "sign_head", "verify"]

GENESIS = "0" * 64


class Head(NamedTuple):
    """A chain's head as the auditor keeps it in Redis: last seq, its tag, and the head's signature."""

    seq: int
    tag: str
    sig: str | None = None


def digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def seal(record: AuditRecord, prev: str, keys: ChainKeys, codec: AvroCodec) -> tuple[AuditRecord, str]:
    """``record`` linked after ``prev`` and tagged under the signing key; and its tag (the next one's ``prev``)."""
    body = record.model_copy(update={"prev_hash": prev})
    tag = keys.mac(b"audit-record\0" + codec.encode(body))
    return body.model_copy(update={"prev_hash": f"{prev}|{tag}"}), tag


def _head_message(chain: str, seq: int, tag: str) -> bytes:
    return f"audit-head\0{chain}\0{seq}\0{tag}".encode()


def sign_head(keys: ChainKeys, chain: str, seq: int, tag: str) -> str:
    return keys.mac(_head_message(chain, seq, tag))


def head_problem(keys: ChainKeys, chain: str, head: Head) -> str | None:
    """Why ``head`` cannot be trusted, or None when its signature verifies."""
    if not head.sig:
        return "its head in Redis is not signed (it was written without an audit key, or before chains were keyed)"
    try:
        if keys.check(_head_message(chain, head.seq, head.tag), head.sig):
            return None
    except UnknownChainKey as err:
        return f"its head in Redis is signed with an unknown key: {err}"
    return f"its head in Redis (seq {head.seq}) does not verify: it was written or moved without the audit key"


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
    ends: dict[str, Head] = field(default_factory=dict)  # chain -> its last record read: seq and tag (unsigned)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class _Chain:
    seq: int = 0
    tag: str = GENESIS  # what the next record's prev must be
    keyed: bool = False
    at: tuple[int, int] = (-1, -1)
    seen: set[str] = field(default_factory=set)  # digests of records read: a repeat is a replay
    prevs: dict[str, tuple[int, tuple[int, int]]] = field(default_factory=dict)  # prev -> (seq, where) claiming it


def verify(messages: Iterable[tuple[int, int, bytes]], codec: AvroCodec, keys: ChainKeys,
           heads: dict[str, Head] | None = None, chains: set[str] | None = None) -> Report:
    """Check ``(partition, offset, value)`` messages of ``audit.log`` in log order.

    ``heads``: every chain's head as kept in Redis (a chain with records and no head is a problem);
    None to not check the ends. ``chains``: only these.
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
        if digest(raw) in c.seen:
            report.replays += 1
            continue
        c.seen.add(digest(raw))
        report.records[rec.chain] = report.records.get(rec.chain, 0) + 1
        where = (partition, offset)
        for what in _check(c, rec, raw, codec, keys, where):
            report.problems.append(Problem(rec.chain, partition, offset, rec.seq, what))
    for chain, c in state.items():
        report.ends[chain] = Head(c.seq, c.tag)
    if heads is not None:
        _check_heads(report, state, keys, heads, chains)
    return report


def _check(c: _Chain, rec: AuditRecord, raw: bytes, codec: AvroCodec, keys: ChainKeys,
           where: tuple[int, int]) -> list[str]:
    """The problems of ``rec`` as the next record of ``c``; ``c`` then follows it."""
    prev, sep, tag = (rec.prev_hash or "").partition("|")
    problems = []
    if sep:
        problems += _tag_problem(rec, prev, tag, codec, keys)
    elif c.keyed:
        problems.append("it carries no audit key tag after keyed records: it was forged without the key")
    before = f"seq {c.seq} at partition {c.at[0]} offset {c.at[1]}"
    if rec.seq == 1 and c.seq > 0:
        problems.append(f"a second seq 1, after {before}: the chain restarted (its head was lost or deleted)")
    elif prev in c.prevs:
        seq, (p, o) = c.prevs[prev]
        problems.append(f"it names the same predecessor as seq {seq} at partition {p} offset {o}: the chain forked "
                        "(its head was rolled back or forged)")
    elif rec.seq == c.seq + 1 and prev != c.tag:
        problems.append(f"its prev does not name the record before it ({before}): that record was altered")
    elif rec.seq > c.seq + 1:
        gap = f"seq {c.seq + 1}" if rec.seq == c.seq + 2 else f"seq {c.seq + 1} to {rec.seq - 1}"
        problems.append(f"{gap} missing before it: records were removed")
    elif rec.seq <= c.seq and rec.seq != 1:
        problems.append(f"expected seq {c.seq + 1}: records were reordered or replayed out of place")
    c.prevs.setdefault(prev, (rec.seq, where))
    c.seq, c.at = rec.seq, where
    c.tag, c.keyed = (tag, True) if sep else (digest(raw), c.keyed)
    return problems


def _tag_problem(rec: AuditRecord, prev: str, tag: str, codec: AvroCodec, keys: ChainKeys) -> list[str]:
    body = codec.encode(rec.model_copy(update={"prev_hash": prev}))
    try:
        if keys.check(b"audit-record\0" + body, tag):
            return []
    except UnknownChainKey as err:
        return [f"its tag cannot be checked: {err}"]
    return [(f"its tag does not verify under audit key {tag.partition(':')[0]}: that record was altered, or forged "
             "without the key")]


def _check_heads(report: Report, state: dict[str, _Chain], keys: ChainKeys, heads: dict[str, Head],
                 chains: set[str] | None) -> None:
    for chain in sorted(set(heads) | set(state)):
        if chains is not None and chain not in chains:
            continue
        c, head = state.get(chain, _Chain()), heads.get(chain)
        if head is None:
            report.problems.append(Problem(chain, *c.at, c.seq, f"no head in Redis for a chain of {c.seq} records: "
                                           "it was deleted (the auditor appends nothing to this chain until it is "
                                           "resealed)"))
            continue
        why = head_problem(keys, chain, head)
        if why:
            report.problems.append(Problem(chain, *c.at, c.seq, why))
        if (c.seq, c.tag) != (head.seq, head.tag):
            where = f"the last record read is seq {c.seq}" if c.seq else "no record of it was read"
            report.problems.append(Problem(chain, *c.at, c.seq, f"its head in Redis says the chain ends at seq "
                                           f"{head.seq} with tag {head.tag[:20]}..., but {where}: the newest "
                                           "records were altered or removed, or the head was moved"))
