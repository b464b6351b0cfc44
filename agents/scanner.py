"""The scanner: finds the sensitive values in ingested passages before the first step packs them.

In:  ``docs.ingest`` (DocumentIngest), in a consumer group of its own beside the index agent's.
Out: nothing on the bus. What it finds goes to Redis (``policy.scans``: types and offsets per text,
never a value), where the retriever's sanitization reads it instead of scanning on the query path.
Errors: a document sent for another tenant is refused, as the index agent refuses it.

Masking does not depend on this agent. The retriever scans any passage that nobody has scanned yet
when a step first packs it, so a scanner that is stopped, lagging or crashed costs latency and never
a leak. What the scanner changes is where the CPU goes: a passage's scan (about as long as its
encoding) leaves the first question that packs it, and the retriever's process, for this one. The
worker runs last in line for the CPU (``SCHED_IDLE``), so on a shared machine it takes only what the
encoder and the query path leave, and ingest keeps the encoder's pace.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict

from index.corpus import check_tenants, doc_passages
from mesh.runtime.processor import Emit, Route
from mesh.runtime.spec import AgentContext, AgentSpec, Parts
from policy.scans import Scans
from policy.step_sanitizer import sanitizer_for
from schemas.models import DocumentIngest, DocumentOp

__all__ = ["spec", "texts_to_scan", "Scanner"]


def texts_to_scan(docs: list[DocumentIngest]) -> dict[str, list[str]]:
    """Per tenant, each distinct text a step may pack from ``docs``: titles and passages, as the retriever
    masks them (the same strings, so the detections are found under the same keys); none of a delete."""
    texts: dict[str, dict[str, None]] = defaultdict(dict)
    for doc in docs:
        if doc.op is DocumentOp.upsert:
            for row in doc_passages(doc):
                texts[doc.access.tenant_id].update(dict.fromkeys(t for t in (row.title, row.text) if t.strip()))
    return {tenant: list(found) for tenant, found in texts.items()}


class Scanner:
    """Scans the passages of each batch of ingested documents, a batch through the NLP pipeline per tenant."""

    def __init__(self, scans: Scans | None) -> None:
        self._scans = scans  # None: the mesh does not sanitize, so there is nothing to scan for

    async def warmup(self) -> None:
        if self._scans is not None:
            await asyncio.to_thread(self._scans.detector.warm)

    async def scan_many(self, docs: list[DocumentIngest]) -> list[list[Emit]]:
        check_tenants(docs)
        if self._scans is not None:
            for tenant, texts in texts_to_scan(docs).items():
                await self._scans.find_many(tenant, texts)  # known texts cost a Redis read, not a scan
        return [[] for _ in docs]


# --- wiring --------------------------------------------------------------------------------------------

def routes(ctx: AgentContext) -> Parts:
    scanner = Scanner(sanitizer_for(ctx).scans if ctx.settings.sanitize else None)
    # no ledger: a scan has no side effect but the detections it keeps, and a redelivered document finds them kept
    return Parts([Route("docs.ingest", idempotent=False, reports="nobody", handle_many=scanner.scan_many,
                        batch_size=32)], warmup=scanner.warmup)


spec = AgentSpec("scanner", routes, background=True)
