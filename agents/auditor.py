"""The auditor: the one writer of each tenant's hash-chained audit trail.

In:  ``audit.events`` (AuditRecord as agents report them, keyed by tenant).
Out: ``audit.log`` (the same record with ``chain``, ``seq`` and ``prev_hash``, keyed by tenant).

Every agent reports decisions and model calls to ``audit.events``; the auditor that owns a
tenant's partition appends them to the tenant's chain (``mesh.audit_chain``). The chain's head
(last seq and hash) and each appended record live in Redis, written in one transaction: a
redelivered event gets back the record it was appended as, so a crash never leaves a gap and
never appends twice. ``switchboard audit verify`` checks the whole log against the heads.
"""

from __future__ import annotations

from redis.exceptions import WatchError

from mesh.app import AgentContext, AgentSpec
from mesh.audit_chain import GENESIS, digest
from mesh.envelope import child_envelope
from mesh.runtime import Emit, Route
from mesh.state import redis_errors
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

    async def append(event: AuditRecord) -> list[Emit]:
        tenant = event.envelope.tenant_id
        head, written = head_key(prefix, tenant), f"{prefix}t:{tenant}:audit:rec:{event.envelope.idempotency_key}"
        async with redis_errors("appending to the audit chain"):
            while True:
                async with redis.pipeline(transaction=True) as pipe:
                    try:
                        await pipe.watch(head, written)
                        before = await pipe.get(written)
                        if before is not None:  # appended already, by a run that died before sending
                            return [Emit("audit.log", codec.decode(before), key=tenant)]
                        seq, last = await pipe.hmget(head, "seq", "hash")
                        record = chained(event, int(seq or 0) + 1, last.decode() if last else GENESIS)
                        raw = codec.encode(record)
                        pipe.multi()
                        pipe.hset(head, mapping={"seq": record.seq, "hash": digest(raw)})
                        pipe.set(written, raw, ex=_RECORD_TTL_S)
                        await pipe.execute()
                        return [Emit("audit.log", record, key=tenant)]
                    except WatchError:
                        continue  # another auditor appended meanwhile (a rebalance): read the new head

    return [Route("audit.events", append, reports="nobody")]


spec = AgentSpec("auditor", routes)
