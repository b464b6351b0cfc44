"""The scanner: finds the sensitive values in ingested passages before the first step packs them.

In:  ``docs.ingest`` (DocumentIngest), in a consumer group of its own beside the index agent's.
Out: nothing on the bus. What it finds goes to Redis (``policy.scans``: types and offsets per text,
never a value), where the retriever's sanitization reads it instead of scanning on the query path.
Errors: a document sent for another tenant is refused, as the index agent refuses it.

It also sweeps what is stored: a timer checks each tenant's stored titles and passages against the
detections kept for the current detector, and scans those missing. So a corpus ingested before the
scanner ran, or before a change to the detector's rules (its fingerprint, part of every key), is
scanned ahead too, and kept detections are renewed before they expire. One replica sweeps a tenant
once per period (half the detections' lifetime); a sweep cut short is taken up at the next tick.

Masking does not depend on this agent. The retriever scans any passage that nobody has scanned yet
when a step first packs it, so a scanner that is stopped, lagging or crashed costs latency and never
a leak. What the scanner changes is where the CPU goes: a passage's scan (about as long as its
encoding) leaves the first question that packs it, and the retriever's process, for this one. The
worker runs last in line for the CPU (``SCHED_IDLE``), so on a shared machine it takes only what the
encoder and the query path leave, and ingest keeps the encoder's pace.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict

from index.corpus import StoredDoc, check_tenants, doc_passages
from index.store import DocStore
from mesh.observe.logs import get_logger
from mesh.runtime.processor import Emit, Route
from mesh.runtime.spec import AgentContext, AgentSpec, Parts, Timer
from policy.scans import Scans
from policy.step_sanitizer import sanitizer_for
from schemas.models import DocumentIngest, DocumentOp

__all__ = ["spec", "texts_to_scan", "texts_of", "Scanner"]

log = get_logger("switchboard.scanner")

#: how often the sweep checks for a tenant to sweep (a check is one Redis command per tenant)
SWEEP_EVERY_S = 60.0
#: how often the tenants are listed again (a scan of the keyspace); tenants seen on ingest join at once
LIST_TENANTS_EVERY_S = 600.0


def texts_of(docs: list[StoredDoc] | list[DocumentIngest]) -> list[str]:
    """Each distinct text a step may pack from ``docs``: titles and passages, as the retriever masks them
    (the same strings, so the detections are found under the same keys)."""
    texts: dict[str, None] = {}
    for doc in docs:
        for row in doc_passages(doc):
            texts.update(dict.fromkeys(t for t in (row.title, row.text) if t.strip()))
    return list(texts)


def texts_to_scan(docs: list[DocumentIngest]) -> dict[str, list[str]]:
    """``texts_of`` the upserts among ``docs``, per tenant (a delete has nothing to scan)."""
    by_tenant: dict[str, list[DocumentIngest]] = defaultdict(list)
    for doc in docs:
        if doc.op is DocumentOp.upsert:
            by_tenant[doc.access.tenant_id].append(doc)
    return {tenant: texts_of(upserts) for tenant, upserts in by_tenant.items()}


class Scanner:
    """Scans the passages of each batch of ingested documents, a batch through the NLP pipeline per tenant,
    and sweeps the stored ones."""

    def __init__(self, scans: Scans | None, store: DocStore, clock=time.monotonic) -> None:
        self._scans, self._store, self._clock = scans, store, clock  # scans None: the mesh does not sanitize
        self._tenants: set[str] = set()
        self._listed_at: float | None = None

    async def warmup(self) -> None:
        if self._scans is not None:
            await asyncio.to_thread(self._scans.detector.warm)

    async def scan_many(self, docs: list[DocumentIngest]) -> list[list[Emit]]:
        check_tenants(docs)
        if self._scans is not None:
            for tenant, texts in texts_to_scan(docs).items():
                self._tenants.add(tenant)
                await self._scans.find_many(tenant, texts)  # known texts cost a Redis read, not a scan
        return [[] for _ in docs]

    async def sweep(self) -> list[Emit]:
        """Sweep each tenant that is due: every stored text's detections kept, the missing ones scanned."""
        if self._scans is not None:
            for tenant in await self._known_tenants():
                if await self._scans.start_sweep(tenant):
                    await self._sweep(tenant)
        return []

    async def _sweep(self, tenant: str) -> None:
        started, scanned, done = self._clock(), 0, False
        try:
            async for docs in self._store.batches(tenant):
                scanned += await self._scans.keep(tenant, texts_of(docs))
                await self._scans.hold_sweep(tenant)
            done = True
        finally:
            await self._scans.end_sweep(tenant, done)
        log.info("tenant_swept", tenant=tenant, scanned=scanned, seconds=round(self._clock() - started, 1))

    async def _known_tenants(self) -> list[str]:
        if self._listed_at is None or self._clock() - self._listed_at >= LIST_TENANTS_EVERY_S:
            self._tenants.update(await self._store.tenants())
            self._listed_at = self._clock()
        return sorted(self._tenants)


# --- wiring --------------------------------------------------------------------------------------------

def routes(ctx: AgentContext) -> Parts:
    scanner = Scanner(sanitizer_for(ctx).scans if ctx.settings.sanitize else None,
                      DocStore(ctx.redis, ctx.keys, ctx.sealer))
    # no ledger: a scan has no side effect but the detections it keeps, and a redelivered document finds them kept
    return Parts([Route("docs.ingest", idempotent=False, reports="nobody", handle_many=scanner.scan_many,
                        batch_size=32)], timers=[Timer(SWEEP_EVERY_S, scanner.sweep)], warmup=scanner.warmup)


spec = AgentSpec("scanner", routes, background=True)
