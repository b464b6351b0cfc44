"""The auditor: the one writer of each tenant's keyed, hash-chained audit trail.

In:  ``audit.events`` (AuditRecord as agents report them, keyed by tenant).
Out: ``audit.log`` (the same record with ``chain``, ``seq`` and ``prev_hash``, keyed by tenant).
Errors: ``ChainHalted`` while a tenant's chain head cannot be trusted (below). While Redis is
unreachable (``RedisUnavailable``) the batch waits and is tried again; an event appended before the
failure gets back the record it was appended as.

Every agent reports decisions and model calls to ``audit.events``; the auditor that owns a
tenant's partition appends them to the tenant's chain, each record linked to the one before and
tagged with an HMAC under the audit key (``policy.audit_chain``). The chain's head (last seq, its
tag, and a signature over both) and each appended record live in Redis, written in one
transaction: a redelivered event gets back the record it was appended as, so a crash never leaves
a gap and never appends twice. ``switchboard audit verify`` checks the whole log against the heads.

The auditor chains only after a head it can verify. A head whose signature does not verify, or
a missing head while ``audit.log`` holds records of the tenant (a head deleted, or lost), halts the
tenant's chain: ``ChainHalted`` is an outage the runtime waits out, so nothing is appended or
lost, the events stay on ``audit.events``, the error is logged once and
``switchboard_audit_chain_halted{tenant}`` is 1, until an operator checks the log
(``switchboard audit verify``) and reseals the head from it (``switchboard audit reseal``).

Events that arrive together are appended together: one transaction per tenant for the whole
batch (watch, read, write: four round trips, where each event took six alone). The events are off
the answer's path, so the auditor's fetches let them gather (``gather_ms``) instead of answering
as soon as one is there: under load a fetch, a transaction and a produce serve dozens of events.
That record of each appended event is also what makes the route idempotent, so it keeps no ledger
entry besides.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from redis.exceptions import WatchError

from mesh.errors import TransientError
from mesh.io.bus import Tail
from mesh.io.keys import Keys
from mesh.io.pipelined import replicated
from mesh.io.redis_clients import redis_errors
from mesh.observe.logs import get_logger
from mesh.observe.metrics import AUDIT_CHAIN_HALTED
from mesh.runtime.processor import Emit, Route
from mesh.runtime.spec import AgentContext, AgentSpec
from mesh.security.audit_keys import ChainKeys, chain_keys_for
from mesh.settings import Settings
from mesh.wire.codec import AvroCodec
from mesh.wire.envelope import child_envelope
from mesh.wire.topics import Topics
from policy.audit_chain import GENESIS, Head, head_problem, seal, sign_head
from schemas.models import AuditRecord

__all__ = ["spec", "Auditor", "AuditKeysUnreadable", "ChainHalted", "chained", "head_key", "routes"]

log = get_logger("switchboard.auditor")

_RECORD_TTL_S = 7 * 24 * 3600

#: whether ``audit.log`` holds any record of a tenant (asked only when its head is missing)
HasRecords = Callable[[str], Awaitable[bool]]


class ChainHalted(TransientError):
    """A tenant's chain head cannot be trusted: nothing is appended until an operator reseals it.

    An outage to the runtime: the events wait on ``audit.events``, uncommitted, and are tried
    again until the head verifies."""

    outage = True

    def __init__(self, tenant: str, why: str) -> None:
        super().__init__(f"tenant {tenant}'s audit chain is halted: {why}. Nothing is appended to it until an "
                         f"operator checks it (`switchboard audit verify --tenant {tenant}`) and reseals its head from "
                         f"audit.log (`switchboard audit reseal --tenant {tenant}`)", code="audit_chain_halted")
        self.tenant = tenant


class AuditKeysUnreadable(TransientError):
    """The audit key files cannot be read: nothing is appended (the events wait) until they can."""

    outage = True

    def __init__(self, err: Exception) -> None:
        super().__init__(f"cannot read the audit keys ({err}); nothing is appended until every auditor can read the "
                         "files of SWITCHBOARD_AUDIT_KEY_FILES (default SWITCHBOARD_KEK_FILE)", code="audit_keys_unreadable")


def head_key(prefix: str, tenant: str) -> str:
    """The key of ``tenant``'s chain head under ``prefix`` (``Keys.audit_head``)."""
    return Keys(prefix).audit_head(tenant)


def chained(event: AuditRecord, seq: int, prev: str) -> AuditRecord:
    """``event`` as the record number ``seq`` of its tenant's chain, after ``prev``, not yet tagged; pure."""
    return event.model_copy(update={"envelope": child_envelope(event.envelope, "audit.chained"),
                                    "chain": event.envelope.tenant_id, "seq": seq, "prev_hash": prev})


def by_tenant(events: list[AuditRecord]) -> dict[str, list[int]]:
    """The places of ``events`` per tenant, each tenant's in order; pure."""
    places: dict[str, list[int]] = {}
    for i, event in enumerate(events):
        places.setdefault(event.envelope.tenant_id, []).append(i)
    return places


def log_has_records(settings: Settings) -> HasRecords:
    """Whether the mesh's ``audit.log`` holds a record keyed by a tenant: read from the start until found or idle."""
    topic = Topics(settings.topic_prefix).name("audit.log")

    def scan(tenant: str) -> bool:
        tail, key = Tail(settings, topic, from_beginning=True, missing_ok=True), tenant.encode()
        try:
            while True:
                seen = False
                for msg in tail.messages(0.5):
                    if msg.key() == key:
                        return True
                    seen = True
                if not seen:
                    return False
        finally:
            tail.close()

    return lambda tenant: asyncio.to_thread(scan, tenant)


class Auditor:
    """Appends audit events to their tenants' chains, kept in Redis (heads and appended records)."""

    def __init__(self, redis, keys: Keys, codec: AvroCodec, chain_keys: Callable[[], ChainKeys],
                 has_records: HasRecords) -> None:
        self._redis = redis
        self._keys = keys
        self._codec = codec
        self._load_keys = chain_keys  # read at the first append: building the routes touches no file
        self._loaded: ChainKeys | None = None
        self._has_records = has_records
        self._chained: set[str] = set()  # tenants whose chain this process has seen records of
        self._halted: set[str] = set()

    @property
    def _chain_keys(self) -> ChainKeys:
        if self._loaded is None:
            try:
                self._loaded = self._load_keys()
            except (OSError, ValueError) as err:
                log.error("audit_keys_unreadable", error=str(err))
                raise AuditKeysUnreadable(err) from err
        return self._loaded

    async def append_many(self, events: list[AuditRecord]) -> list[list[Emit]]:
        """The route's handler: each event as the record it was appended as, for ``audit.log``."""
        out: list[list[Emit]] = [[] for _ in events]
        for tenant, places in by_tenant(events).items():
            for i, record in zip(places, await self.append(tenant, [events[i] for i in places])):
                out[i] = [Emit("audit.log", record, key=tenant)]
            # the chain's new head and records reach the replicas before audit.log says they exist (a repeat
            # after ReplicasBehind finds them appended and waits again)
            await replicated(self._redis, self._keys.audit_head(tenant))
        return out

    async def append(self, tenant: str, events: list[AuditRecord]) -> list[AuditRecord]:
        """``events`` appended in order to ``tenant``'s chain in one transaction; an event appended
        before (a redelivery, or twice in this batch) gets back the record it was appended as.
        ``ChainHalted`` when the chain's head cannot be trusted."""
        head = self._keys.audit_head(tenant)
        written = [self._keys.audit_record(tenant, e.envelope.idempotency_key) for e in events]
        async with redis_errors("appending to the audit chain"):
            while True:
                async with self._redis.pipeline(transaction=True) as pipe:
                    try:
                        await pipe.watch(head, *set(written))
                        before = await pipe.execute_command("MGET", *written)  # a cluster pipeline blocks .mget
                        if all(old is not None for old in before):
                            return [self._codec.decode(old) for old in before]
                        seq, tag = await self._start(tenant, await pipe.hmget(head, "seq", "hash", "sig"))
                        out, new, seq, tag = self._link(events, written, before, seq, tag)
                        pipe.multi()
                        pipe.hset(head, mapping={"seq": seq, "hash": tag,
                                                 "sig": sign_head(self._chain_keys, tenant, seq, tag)})
                        for key, raw in new:
                            pipe.set(key, raw, ex=_RECORD_TTL_S)
                        await pipe.execute()
                        self._appended(tenant)
                        return out
                    except WatchError:
                        continue  # another auditor appended meanwhile (a rebalance): read the new head

    async def _start(self, tenant: str, stored: list[bytes | None]) -> tuple[int, str]:
        """The (seq, tag) to chain after: the head's, once it verifies; the chain's start when there is none yet."""
        seq, tag, sig = stored
        if seq is None:
            if tenant in self._chained or await self._has_records(tenant):
                self._chained.add(tenant)
                self._halt(tenant, "its head is missing from Redis while audit.log holds records of it (the head "
                                   "was deleted or lost; starting again at seq 1 would restart the chain)")
            return 0, GENESIS
        head = Head(int(seq), (tag or b"").decode(), sig.decode() if sig else None)
        why = head_problem(self._chain_keys, tenant, head)
        if why:
            self._halt(tenant, why)
        return head.seq, head.tag

    def _halt(self, tenant: str, why: str):
        err = ChainHalted(tenant, why)
        if tenant not in self._halted:
            self._halted.add(tenant)
            AUDIT_CHAIN_HALTED.labels(tenant).set(1)
            log.error("audit_chain_halted", tenant=tenant, reason=str(err))
        raise err

    def _appended(self, tenant: str) -> None:
        self._chained.add(tenant)
        if tenant in self._halted:
            self._halted.discard(tenant)
            AUDIT_CHAIN_HALTED.labels(tenant).set(0)
            log.warning("audit_chain_resumed", tenant=tenant)

    def _link(self, events: list[AuditRecord], written: list[str], before: list[bytes | None], seq: int,
              last: str) -> tuple[list[AuditRecord], list[tuple[str, bytes]], int, str]:
        """Each event as its chained record (new after ``seq``/``last``, or as appended before), the new
        records to write (key, encoded), and the chain's new head (seq, tag)."""
        made: dict[str, AuditRecord] = {}
        out, new = [], []
        for key, event, old in zip(written, events, before):
            if old is None and key not in made:
                seq += 1
                made[key], last = seal(chained(event, seq, last), last, self._chain_keys, self._codec)
                new.append((key, self._codec.encode(made[key])))
            out.append(made[key] if key in made else self._codec.decode(old))
        return out, new, seq, last


def routes(ctx: AgentContext, chain_keys: ChainKeys | None = None, has_records: HasRecords | None = None) -> list[Route]:
    """The auditor's route; ``chain_keys`` and ``has_records`` default to the mesh's key files and ``audit.log``."""
    keys = (lambda: chain_keys) if chain_keys is not None else \
        (lambda: chain_keys_for(ctx.settings, create=ctx.settings.embedded))
    auditor = Auditor(ctx.redis, ctx.keys, ctx.codec, keys, has_records or log_has_records(ctx.settings))
    # idempotent=False: the appended record kept under each event's key already answers a redelivery
    return [Route("audit.events", handle_many=auditor.append_many, idempotent=False, reports="nobody",
                  batch_size=64)]


#: its events are off the answer's path: its fetches let them gather (250 ms, or the broker's fetch wait where that is
#: longer) and it appends them many at once
spec = AgentSpec("auditor", routes, gather_ms=250)
