"""The auditor: the one writer of each tenant's hash-chained audit trail.

In:  ``audit.events`` (AuditRecord as agents report them, keyed by tenant).
Out: ``audit.log`` (the same record with ``chain``, ``seq`` and ``prev_hash``, keyed by tenant).

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

from mesh.io.redis_clients import redis_errors
from mesh.runtime.processor import Emit, Route
from mesh.runtime.spec import AgentContext, AgentSpec
from mesh.wire.envelope import child_envelope
from policy.audit_chain import GENESIS, digest
from schemas.models import AuditRecord

__all__ = ["spec", "chained", "head_key"]

_RECORD_TTL_S = 7 * 24 * 3600


def head_key(prefix: str, tenant: str) -> str:
    return f"{prefix}t:{tenant}:audit:head"


def chained(event: AuditRecord, seq: int, prev_hash: str) -> AuditRecord:
    """``event`` as the record number ``seq`` of its tenant's chain; pure."""
    return event.model_copy(update={"envelope": child_envelope(event.envelope, "audit.chained"),
                                    "chain": event.envelope.tenant_id, "seq": seq, "prev_hash": prev_hash})


def routes(ctx: AgentContext) -> list[Route]:
    redis, codec, prefix = ctx.redis, ctx.codec, ctx.keys.prefix

    async def append(tenant: str, events: list[AuditRecord]) -> list[AuditRecord]:
        """``events`` appended in order to ``tenant``'s chain in one transaction; an event appended
        before (a redelivery, or twice in this batch) gets back the record it was appended as."""
        head = head_key(prefix, tenant)
        written = [f"{prefix}t:{tenant}:audit:rec:{e.envelope.idempotency_key}" for e in events]
        async with redis_errors("appending to the audit chain"):
            while True:
                async with redis.pipeline(transaction=True) as pipe:
                    try:
                        await pipe.watch(head, *set(written))
                        before = await pipe.mget(written)
                        seq, last = await pipe.hmget(head, "seq", "hash")
                        seq, last = int(seq or 0), last.decode() if last else GENESIS
                        made: dict[str, AuditRecord] = {}
                        out, new = [], []
                        for key, event, old in zip(written, events, before):
                            if old is None and key not in made:
                                seq += 1
                                made[key] = chained(event, seq, last)
                                raw = codec.encode(made[key])
                                last = digest(raw)
                                new.append((key, raw))
                            out.append(made[key] if key in made else codec.decode(old))
                        if new:
                            pipe.multi()
                            pipe.hset(head, mapping={"seq": seq, "hash": last})
                            for key, raw in new:
                                pipe.set(key, raw, ex=_RECORD_TTL_S)
                            await pipe.execute()
                        return out
                    except WatchError:
                        continue  # another auditor appended meanwhile (a rebalance): read the new head

    async def append_many(events: list[AuditRecord]) -> list[list[Emit]]:
        by_tenant: dict[str, list[int]] = {}
        for i, event in enumerate(events):
            by_tenant.setdefault(event.envelope.tenant_id, []).append(i)
        out: list[list[Emit]] = [[] for _ in events]
        for tenant, places in by_tenant.items():
            for i, record in zip(places, await append(tenant, [events[i] for i in places])):
                out[i] = [Emit("audit.log", record, key=tenant)]
        return out

    # idempotent=False: the appended record kept under each event's key already answers a redelivery
    return [Route("audit.events", handle_many=append_many, idempotent=False, reports="nobody", batch_size=64)]


spec = AgentSpec("auditor", routes)
