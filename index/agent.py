"""The index agent: owns the documents and answers searches under an access filter.

In:  ``docs.ingest`` (DocumentIngest: upsert or delete), ``index.queries`` (IndexQuery).
Out: ``index.results`` (IndexResult, keyed by task).
Errors: a document whose access tenant differs from its envelope's is dead-lettered.

Search is lexical (BM25 over passages) for now; dense ANN search joins it behind the same
topics. Documents the filter refuses are never scored.
"""

from __future__ import annotations

import asyncio

from index.lexical import LexicalIndex
from index.store import DocStore
from mesh.app import AgentContext, AgentSpec
from mesh.envelope import child_envelope
from mesh.errors import DeterministicError
from mesh.runtime import Emit, Route
from schemas.models import DocumentIngest, IndexQuery, IndexResult, Passage

__all__ = ["spec"]


class _Indexes:
    """One in-memory index per tenant, rebuilt when the store's version moves."""

    def __init__(self, store: DocStore) -> None:
        self._store = store
        self._by_tenant: dict[str, tuple[int, LexicalIndex]] = {}
        self._lock = asyncio.Lock()

    async def get(self, tenant: str) -> LexicalIndex:
        version = await self._store.version(tenant)
        cached = self._by_tenant.get(tenant)
        if cached and cached[0] == version:
            return cached[1]
        async with self._lock:
            version, docs = await self._store.load(tenant)
            index = await asyncio.to_thread(LexicalIndex, docs)
            self._by_tenant[tenant] = (version, index)
            return index


def routes(ctx: AgentContext) -> list[Route]:
    store = DocStore(ctx.redis, ctx.keys)
    indexes = _Indexes(store)

    async def ingest(doc: DocumentIngest) -> list[Emit]:
        if doc.access.tenant_id != doc.envelope.tenant_id:
            raise DeterministicError(f"document {doc.doc_id} is for tenant {doc.access.tenant_id!r} but was sent "
                                     f"for tenant {doc.envelope.tenant_id!r}", code="tenant_mismatch")
        await store.apply(doc)
        return []

    async def query(q: IndexQuery) -> list[Emit]:
        index = await indexes.get(q.filter.tenant_id)
        ranked, searched = index.search(q.text, q.k, lambda d: q.filter.permits(d.meta))
        hits = [Passage(doc_id=p.doc.doc_id, passage_id=p.passage_id, title=p.doc.title, text=p.text,
                        score=round(score, 6)) for score, p in ranked]
        result = IndexResult(envelope=child_envelope(q.envelope, "index.result"), query_id=q.query_id,
                             hits=hits, searched=searched)
        return [Emit("index.results", result)]

    return [Route("docs.ingest", ingest, idempotent=False, reports_to_client=False),
            Route("index.queries", query)]


spec = AgentSpec("index", routes)
