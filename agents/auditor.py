"""The auditor: the one writer of each tenant's hash-chained audit trail.

In:  ``audit.events`` (AuditRecord as agents report them, keyed by tenant).
Out: ``audit.log`` (the same record with ``chain``, ``seq`` and ``prev_hash``, keyed by tenant).
Errors: none of its own. While Redis is unreachable (``RedisUnavailable``) the batch waits and is
tried again; an event appended before the failure gets back the record it was appended as.

Every agent reports decisions and model calls to ``audit.events``; the auditor that owns a
tenant's partition appends them to the tenant's chain (``policy.audit_chain``). The chain's head
(last seq and hash) and each appended record live in Redis, written in one transaction: a
redelivered event gets back the record it was appended as, so a crash never leaves a gap and
never appends twice. ``switchboard audit verify`` checks the whole log against the heads.

Events that arrive together are appended together: one transaction per tenant for the whole
batch (watch, read, write: four round trips, where each event took six alone). That record of
each appended event is also what makes the route idempotent, so it keeps no ledger entry besides.
"""

from __future__ import annotations

from redis.exceptions import WatchError

from mesh.io.keys import Keys
from mesh.io.redis_clients import redis_errors
from mesh.runtime.processor import Emit, Route
from mesh.runtime.spec import AgentContext, AgentSpec
from mesh.wire.codec import AvroCodec
from mesh.wire.envelope import child_envelope
from policy.audit_chain import GENESIS, digest
from schemas.models import AuditRecord

__all__ = ["spec", "Auditor", "chained", "head_key"]

_RECORD_TTL_S = 7 * 24 * 3600


def head_key(prefix: str, tenant: str) -> str:
    """The key of ``tenant``'s chain head under ``prefix`` (``Keys.audit_head``)."""
    return Keys(prefix).audit_head(tenant)


def chained(event: AuditRecord, seq: int, prev_hash: str) -> AuditRecord:
    """``event`` as the record number ``seq`` of its tenant's chain; pure."""
    return event.model_copy(update={"envelope": child_envelope(event.envelope, "audit.chained"),
                                    "chain": event.envelope.tenant_id, "seq": seq, "prev_hash": prev_hash})


def by_tenant(events: list[AuditRecord]) -> dict[str, list[int]]:
    """The places of ``events`` per tenant, each tenant's in order; pure."""
    places: dict[str, list[int]] = {}
    for i, event in enumerate(events):
        places.setdefault(event.envelope.tenant_id, []).append(i)
    return places


class Auditor:
    """Appends audit events to their tenants' chains, kept in Redis (heads and appended records)."""

    def __init__(self, redis, keys: Keys, codec: AvroCodec) -> None:
        self._redis = redis
        self._keys = keys
        self._codec = codec

    async def append_many(self, events: list[AuditRecord]) -> list[list[Emit]]:
        """The route's handler: each event as the record it was appended as, for ``audit.log``."""
        out: list[list[Emit]] = [[] for _ in events]
        for tenant, places in by_tenant(events).items():
            for i, record in zip(places, await self.append(tenant, [events[i] for i in places])):
                out[i] = [Emit("audit.log", record, key=tenant)]
        return out

    async def append(self, tenant: str, events: list[AuditRecord]) -> list[AuditRecord]:
        """``events`` appended in order to ``tenant``'s chain in one transaction; an event appended
        before (a redelivery, or twice in this batch) gets back the record it was appended as."""
        head = self._keys.audit_head(tenant)
        written = [self._keys.audit_record(tenant, e.envelope.idempotency_key) for e in events]
        async with redis_errors("appending to the audit chain"):
            while True:
                async with self._redis.pipeline(transaction=True) as pipe:
                    try:
                        await pipe.watch(head, *set(written))
                        before = await pipe.mget(written)
                        seq, last = await pipe.hmget(head, "seq", "hash")
                        seq, last = int(seq or 0), last.decode() if last else GENESIS
                        out, new, seq, last = self._link(events, written, before, seq, last)
                        if new:
                            pipe.multi()
                            pipe.hset(head, mapping={"seq": seq, "hash": last})
                            for key, raw in new:
                                pipe.set(key, raw, ex=_RECORD_TTL_S)
                            await pipe.execute()
                        return out
                    except WatchError:
                        continue  # another auditor appended meanwhile (a rebalance): read the new head

    def _link(self, events: list[AuditRecord], written: list[str], before: list[bytes | None], seq: int,
              last: str) -> tuple[list[AuditRecord], list[tuple[str, bytes]], int, str]:
        """Each event as its chained record (new after ``seq``/``last``, or as appended before), the new
        records to write (key, encoded), and the chain's new head (seq, hash)."""
        made: dict[str, AuditRecord] = {}
        out, new = [], []
        for key, event, old in zip(written, events, before):
            if old is None and key not in made:
                seq += 1
                made[key] = chained(event, seq, last)
                raw = self._codec.encode(made[key])
                last = digest(raw)
                new.append((key, raw))
            out.append(made[key] if key in made else self._codec.decode(old))
        return out, new, seq, last


def routes(ctx: AgentContext) -> list[Route]:
    auditor = Auditor(ctx.redis, ctx.keys, ctx.codec)
    # idempotent=False: the appended record kept under each event's key already answers a redelivery
    return [Route("audit.events", handle_many=auditor.append_many, idempotent=False, reports="nobody",
                  batch_size=64)]


spec = AgentSpec("auditor", routes)
