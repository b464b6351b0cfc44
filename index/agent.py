"""The index agent: owns the documents and their vectors, and answers dense searches.

In:  ``docs.ingest`` (DocumentIngest: upsert or delete), ``index.queries`` (IndexQuery), and, unless
     ``query_prefetch`` is off, ``steps.retrieve`` (RetrieveStep: its question is encoded as soon as
     the step is published, in its own consumer group beside the retriever's, so that the
     retriever's query for it, a hop later, finds the vector ready or under way).
Out: ``index.results`` (IndexResult: the best passage of each of the k best documents).
Errors: a document whose access tenant differs from its envelope's is dead-lettered.

One shard per tenant, rebuilt from the document store when its version moves; vectors come
from the embedding cache, so a rebuild (or another replica) re-encodes nothing. The replica that
ingests rebuilds the shard once a burst of documents is over (no batch in hand for ``_SETTLE_S``), so
the first query after a bulk load finds it ready instead of waiting out the build (and the
retriever's timeout). Ingest and queries are handled in batches: what arrives together is
encoded and searched together.
Search runs under the query's allow-list: ids outside it are never returned.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections import defaultdict

import numpy as np

from index import snapshots
from index.cache import EmbeddingCache
from index.corpus import Corpus, best_per_doc, doc_passages
from index.encoder import DIM, Encoder, model_id, resolve_precision
from index.store import DocStore, PerTenant
from index.vectors import VectorShard, gpu_available
from mesh.errors import DeterministicError
from mesh.observe.logs import get_logger
from mesh.observe.metrics import SHARD_BUILDS
from mesh.runtime.background import in_background
from mesh.runtime.processor import Emit, Route
from mesh.runtime.spec import AgentContext, AgentSpec, Parts
from mesh.wire.envelope import child_envelope
from schemas.models import (
    DocumentIngest,
    IndexQuery,
    IndexResult,
    Passage,
    RetrievalMode,
    RetrieveStep,
)

__all__ = ["spec"]

log = get_logger("switchboard.index")

_SETTLE_S = 0.5  # quiet time after an ingest batch before its tenant's shard is rebuilt
_trigger = contextvars.ContextVar("trigger", default="query")  # what asked for a shard build


def routes(ctx: AgentContext) -> Parts:
    s = ctx.settings
    store = DocStore(ctx.redis, ctx.keys, ctx.sealer)
    precision = resolve_precision(s.encoder_precision)
    vectors_of = model_id(precision)  # keys cached vectors and snapshots: a model and precision
    encoder: list[Encoder] = []  # loaded once, on first use, off the event loop (about 2 s)
    loading = asyncio.Lock()

    async def encode_async(texts: list[str]) -> np.ndarray:
        async with loading:
            if not encoder:
                encoder.append(await asyncio.to_thread(Encoder, s.encoder_threads, s.encoder_max_length,
                                                       s.encoder_batch_size, precision))
        return await encoder[0].encode_async(texts)

    cache = EmbeddingCache(ctx.redis, ctx.keys.shared(s.cache_prefix), vectors_of, DIM, encode_async,
                           capacity=s.embedding_cache_size)
    device = ("gpu" if gpu_available() else "cpu") if s.index_device == "auto" else s.index_device
    async def build_shard(corpus: Corpus) -> VectorShard:
        texts = [r.searchable for r in corpus.rows]
        key = snapshots.fingerprint(vectors_of, texts)
        vectors = await asyncio.to_thread(snapshots.load, s.snapshots, corpus.tenant, key)
        source = "snapshot"
        if vectors is None:
            vectors, source = await cache.get_many(texts, corpus.tenant), "cache"
            await asyncio.to_thread(snapshots.save, s.snapshots, corpus.tenant, key, vectors)
        shard = VectorShard(DIM, device, s.exact_threshold, s.nprobe)
        shard.upsert(np.arange(len(corpus.rows), dtype=np.int64), vectors)
        SHARD_BUILDS.labels(_trigger.get()).inc()
        log.info("shard_built", tenant=corpus.tenant, version=corpus.version, docs=len(corpus.docs),
                 passages=len(corpus.rows), source=source, cache_hit_rate=round(cache.hit_rate, 3), device=device,
                 trigger=_trigger.get())
        return shard

    shards = PerTenant(store, build_shard)
    settle_at: dict[str, float] = {}  # tenant -> when its ingest will have been quiet long enough
    refreshing: dict[str, asyncio.Task] = {}
    ingesting = [0]  # ingest batches in hand: a rebuild then would encode their texts a second time

    async def refresh(tenant: str) -> None:
        _trigger.set("ingest")  # this task's own context
        loop = asyncio.get_running_loop()
        try:
            while tenant in settle_at:  # again if documents came in during the build
                while ingesting[0] or (wait := settle_at[tenant] - loop.time()) > 0:
                    await asyncio.sleep(_SETTLE_S if ingesting[0] else wait)
                del settle_at[tenant]
                await shards.get(tenant)
        except Exception as err:  # the next query builds it then; nothing is lost
            log.warning("shard_refresh_failed", tenant=tenant, error=str(err))
        finally:
            refreshing.pop(tenant, None)

    def refresh_soon(tenant: str) -> None:
        """Rebuild ``tenant``'s shard once no batch is in hand and none came for ``_SETTLE_S``."""
        settle_at[tenant] = asyncio.get_running_loop().time() + _SETTLE_S
        if tenant not in refreshing:
            refreshing[tenant] = asyncio.create_task(refresh(tenant))

    async def ingest_many(docs: list[DocumentIngest]) -> list[list[Emit]]:
        ingesting[0] += 1
        try:
            return await store_and_encode(docs)
        finally:
            ingesting[0] -= 1

    async def store_and_encode(docs: list[DocumentIngest]) -> list[list[Emit]]:
        texts: dict[str, list[str]] = defaultdict(list)
        for doc in docs:
            if doc.access.tenant_id != doc.envelope.tenant_id:
                raise DeterministicError(f"document {doc.doc_id} is for tenant {doc.access.tenant_id!r} but was "
                                         f"sent for tenant {doc.envelope.tenant_id!r}", code="tenant_mismatch")
        for doc in docs:
            tenant = doc.access.tenant_id
            previous = await store.apply(doc)
            new = [] if doc.op.value == "delete" else [r.searchable for r in doc_passages(doc)]
            if previous is not None:
                await cache.forget([t for t in (r.searchable for r in doc_passages(previous)) if t not in new], tenant)
            texts[tenant] += new
        for tenant, new in texts.items():  # encode now, a batch per tenant, so queries find them cached
            await cache.get_many(new, tenant)
            refresh_soon(tenant)
        return [[] for _ in docs]

    async def query_many(queries: list[IndexQuery]) -> list[list[Emit]]:
        vectors = np.empty((len(queries), DIM), dtype=np.float32)
        by_tenant: dict[str, list[int]] = defaultdict(list)
        for i, q in enumerate(queries):
            by_tenant[q.envelope.tenant_id].append(i)
        for tenant, members in by_tenant.items():
            vectors[members] = await cache.get_many([queries[i].text for i in members], tenant)
        groups: dict[tuple, list[int]] = defaultdict(list)
        for i, q in enumerate(queries):
            groups[(q.envelope.tenant_id, None if q.allow is None else tuple(sorted(q.allow)))].append(i)
        out: list[list[Emit]] = [[] for _ in queries]
        for (tenant, allow), members in groups.items():
            corpus, shard = await shards.get(tenant)
            rows = None if allow is None else np.flatnonzero(corpus.row_mask(list(allow)))
            k = max(queries[i].k for i in members)
            scores, ids = shard.search(vectors[members], k * 3, rows)
            for j, i in enumerate(members):
                q = queries[i]
                best = best_per_doc(scores[j], ids[j], corpus.doc_of_row, q.k)
                # ids and scores only: the retriever holds the same passages (a result of 100 hits stays small)
                hits = [Passage(doc_id=d, passage_id=corpus.rows[r].passage_id, text="", score=round(float(sc), 6))
                        for d, r, sc in best]
                searched = len(corpus.docs) if allow is None else len(set(allow) & corpus.docs.keys())
                out[i] = [Emit("index.results", IndexResult(envelope=child_envelope(q.envelope, "index.result"),
                                                            query_id=q.query_id, hits=hits, searched=searched))]
        return out

    async def prefetch_many(steps: list[RetrieveStep]) -> list[list[Emit]]:
        """Start encoding the questions of steps that will query the index; return at once.

        Nothing waits on it but the query that will ask for the same text (``EmbeddingCache`` shares
        an encoding under way), so a failure here only means that query encodes the text itself.
        """
        questions: dict[str, list[str]] = defaultdict(list)
        for step in steps:
            if step.mode is not RetrievalMode.lexical:
                questions[step.envelope.tenant_id].append(step.question)
        for tenant, texts in questions.items():
            in_background(cache.get_many(texts, tenant), "prefetching questions")
        return [[] for _ in steps]

    async def warmup() -> None:
        await encode_async(["warm up"])  # load the model before reporting ready, not on the first query

    prefetch = [Route("steps.retrieve", idempotent=False, reports="nobody", handle_many=prefetch_many)]
    return Parts([Route("docs.ingest", idempotent=False, reports="nobody", handle_many=ingest_many, batch_size=128),
                  # a failed search is the retriever's to handle (it answers from BM25 after its timeout). No
                  # ledger: a search has no side effect, and a redelivered query's result carries the same
                  # idempotency key, which the retriever's own ledger answers with what it sent the first time
                  # (saves two Redis round trips, one of them writing a hundred hits, on each query's path)
                  Route("index.queries", idempotent=False, reports="nobody", handle_many=query_many),
                  # no ledger and no output either: a prefetch only warms the cache
                  *(prefetch if s.query_prefetch else [])], warmup=warmup)


spec = AgentSpec("index", routes)
