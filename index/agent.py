"""The index agent: owns the documents and their vectors, and answers dense searches.

In:  ``docs.ingest`` (DocumentIngest: upsert or delete), ``index.queries`` (IndexQuery), and, unless
     ``query_prefetch`` is off, ``steps.retrieve`` (RetrieveStep: its question is encoded as soon as
     the step is published, in its own consumer group beside the retriever's, so that the
     retriever's query for it, a hop later, finds the vector ready or under way).
Out: ``index.results`` (IndexResult: the best passage of each of the k best documents).
Errors: a document whose access tenant differs from its envelope's is dead-lettered.

One shard per tenant, rebuilt from the document store when a query names a newer version than the
shard's: the version the retriever read and searched with BM25, so dense search sees at least the
documents BM25 saw, and the index agent pays no round trip to read the version itself. Vectors come
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
from pathlib import Path

import numpy as np

from index import snapshots
from index.cache import EmbeddingCache
from index.corpus import Corpus, best_per_doc, check_tenants, doc_passages
from index.encoder import (
    DIM,
    Encoder,
    encoder_device,
    make_encoder,
    resolve_backend,
    vectors_id,
)
from index.store import DocStore, PerTenant
from index.torch_vectors import cuda_available
from index.vectors import VectorBackend, VectorShard, gpu_available
from mesh.observe.logs import get_logger
from mesh.observe.metrics import SHARD_BUILDS
from mesh.runtime.background import in_background
from mesh.runtime.processor import Emit, Route
from mesh.runtime.spec import AgentContext, AgentSpec, Parts
from mesh.security import step_grants
from mesh.wire.envelope import child_envelope
from schemas.models import (
    DocumentIngest,
    IndexQuery,
    IndexResult,
    Passage,
    RetrievalMode,
    RetrieveStep,
)

__all__ = ["spec", "IndexAgent", "LazyEncoder", "ShardBuilder", "choose_backend"]

log = get_logger("switchboard.index")

_SETTLE_S = 0.5  # quiet time after an ingest batch before its tenant's shard is rebuilt
_trigger = contextvars.ContextVar("trigger", default="query")  # what asked for a shard build


# --- pure functions ------------------------------------------------------------------------------------

def searchable_texts(doc: DocumentIngest) -> list[str]:
    """The texts a document is searched by (none for a delete)."""
    return [] if doc.op.value == "delete" else [r.searchable for r in doc_passages(doc)]


def by_tenant(queries: list[IndexQuery]) -> dict[str, list[int]]:
    """The places of ``queries`` per tenant."""
    members: dict[str, list[int]] = defaultdict(list)
    for i, q in enumerate(queries):
        members[q.envelope.tenant_id].append(i)
    return members


def by_search(queries: list[IndexQuery]) -> dict[tuple, list[int]]:
    """The places of ``queries`` per search they can share: one tenant, one allow-list."""
    groups: dict[tuple, list[int]] = defaultdict(list)
    for i, q in enumerate(queries):
        groups[(q.envelope.tenant_id, None if q.allow is None else tuple(sorted(q.allow)))].append(i)
    return groups


def asked_version(queries: list[IndexQuery]) -> int | None:
    """The oldest store version that ``queries`` may be searched in: the newest any of them names (the
    retriever's, so dense search sees at least the documents BM25 saw); None where one of them names none."""
    versions = [q.version for q in queries]
    return None if None in versions else max(versions)


def result(q: IndexQuery, corpus: Corpus, scores: np.ndarray, ids: np.ndarray,
           allow: tuple[str, ...] | None) -> IndexResult:
    """The answer to ``q``: the best passage of each of its k best documents, from one row of a search."""
    best = best_per_doc(scores, ids, corpus.doc_of_row, q.k)
    # ids and scores only: the retriever holds the same passages (a result of 100 hits stays small)
    hits = [Passage(doc_id=d, passage_id=corpus.rows[r].passage_id, text="", score=round(float(sc), 6))
            for d, r, sc in best]
    searched = len(corpus.docs) if allow is None else len(set(allow) & corpus.docs.keys())
    return IndexResult(envelope=child_envelope(q.envelope, "index.result"), query_id=q.query_id, hits=hits,
                       searched=searched)


def questions_of(steps: list[RetrieveStep]) -> dict[str, list[str]]:
    """Per tenant, the questions of the steps that will query the index (all but lexical ones)."""
    questions: dict[str, list[str]] = defaultdict(list)
    for step in steps:
        if step.mode is not RetrievalMode.lexical:
            questions[step.envelope.tenant_id].append(step.question)
    return questions


def choose_backend(index_device: str, faiss_gpu: bool, torch_cuda: bool) -> str:
    """The vector backend for the ``index_device`` setting: ``gpu`` is FAISS's GPU build where it is importable
    and sees a GPU, else the PyTorch backend on CUDA, else an error; ``auto`` prefers them in that order, then
    FAISS on the CPU; ``cpu`` is FAISS on the CPU."""
    if index_device == "cpu":
        return "faiss-cpu"
    if faiss_gpu or torch_cuda:
        return "faiss-gpu" if faiss_gpu else "torch-cuda"
    if index_device == "gpu":
        raise RuntimeError("index_device 'gpu': neither FAISS (install faiss-gpu, the `gpu` extra) nor torch sees a "
                           "CUDA GPU here; use index_device 'auto' or 'cpu'")
    return "faiss-cpu"


def new_shard(backend: str, exact_threshold: int, nprobe: int) -> VectorBackend:
    """An empty shard of ``backend`` (``choose_backend``'s names)."""
    if backend == "torch-cuda":
        from index.torch_vectors import TorchShard

        return TorchShard(DIM, "cuda")
    return VectorShard(DIM, "gpu" if backend == "faiss-gpu" else "cpu", exact_threshold, nprobe)


# --- collaborators -------------------------------------------------------------------------------------

class LazyEncoder:
    """The sentence encoder, loaded once, on first use, off the event loop (about 2 s)."""

    def __init__(self, backend: str, threads: int, max_length: int, batch_size: int | None, precision: str,
                 cache_dir: Path | None = None) -> None:
        self._options = (backend, threads, max_length, batch_size, precision, cache_dir)
        self._encoder: Encoder | None = None
        self._loading = asyncio.Lock()

    async def encode_async(self, texts: list[str]) -> np.ndarray:
        async with self._loading:
            if self._encoder is None:
                self._encoder = await asyncio.to_thread(make_encoder, *self._options)
        return await self._encoder.encode_async(texts)


class ShardBuilder:
    """Builds a tenant's vector shard from a snapshot of its vectors, else from the embedding cache."""

    def __init__(self, cache: EmbeddingCache, snapshots_dir: Path, vectors_of: str, backend: str,
                 exact_threshold: int, nprobe: int) -> None:
        self._cache, self._snapshots, self._vectors_of = cache, snapshots_dir, vectors_of
        self._backend, self._exact_threshold, self._nprobe = backend, exact_threshold, nprobe

    async def build(self, corpus: Corpus) -> VectorBackend:
        texts = [r.searchable for r in corpus.rows]
        key = snapshots.fingerprint(self._vectors_of, texts)
        vectors = await asyncio.to_thread(snapshots.load, self._snapshots, corpus.tenant, key)
        source = "snapshot"
        if vectors is None:
            vectors, source = await self._cache.get_many(texts, corpus.tenant), "cache"
            await asyncio.to_thread(snapshots.save, self._snapshots, corpus.tenant, key, vectors)
        shard = new_shard(self._backend, self._exact_threshold, self._nprobe)
        shard.upsert(np.arange(len(corpus.rows), dtype=np.int64), vectors)
        SHARD_BUILDS.labels(_trigger.get()).inc()
        log.info("shard_built", tenant=corpus.tenant, version=corpus.version, docs=len(corpus.docs),
                 passages=len(corpus.rows), source=source, cache_hit_rate=round(self._cache.hit_rate, 3),
                 backend=self._backend, trigger=_trigger.get())
        return shard


# --- the agent -----------------------------------------------------------------------------------------

class IndexAgent:
    """The handlers: ingest (store, encode, rebuild once settled), search, prefetch; and the warm-up."""

    def __init__(self, store: DocStore, cache: EmbeddingCache, shards: PerTenant[VectorBackend],
                 encoder: LazyEncoder) -> None:
        self._store, self._cache, self._shards, self._encoder = store, cache, shards, encoder
        self._settle_at: dict[str, float] = {}  # tenant -> when its ingest will have been quiet long enough
        self._refreshing: dict[str, asyncio.Task] = {}
        self._ingesting = 0  # ingest batches in hand: a rebuild then would encode their texts a second time

    async def warmup(self) -> None:
        await self._encoder.encode_async(["warm up"])  # load the model before reporting ready, not on the first query

    async def ingest_many(self, docs: list[DocumentIngest]) -> list[list[Emit]]:
        self._ingesting += 1
        try:
            return await self._store_and_encode(docs)
        finally:
            self._ingesting -= 1

    async def _store_and_encode(self, docs: list[DocumentIngest]) -> list[list[Emit]]:
        check_tenants(docs)
        texts: dict[str, list[str]] = defaultdict(list)
        for doc in docs:
            tenant = doc.access.tenant_id
            previous = await self._store.apply(doc)
            new = searchable_texts(doc)
            if previous is not None:
                await self._cache.forget([t for t in (r.searchable for r in doc_passages(previous)) if t not in new],
                                         tenant)
            texts[tenant] += new
        for tenant, new in texts.items():  # encode now, a batch per tenant, so queries find them cached
            await self._cache.get_many(new, tenant)
            self._refresh_soon(tenant)
        return [[] for _ in docs]

    def _refresh_soon(self, tenant: str) -> None:
        """Rebuild ``tenant``'s shard once no batch is in hand and none came for ``_SETTLE_S``."""
        self._settle_at[tenant] = asyncio.get_running_loop().time() + _SETTLE_S
        if tenant not in self._refreshing:
            self._refreshing[tenant] = asyncio.create_task(self._refresh(tenant))

    async def _refresh(self, tenant: str) -> None:
        _trigger.set("ingest")  # this task's own context
        loop = asyncio.get_running_loop()
        try:
            while tenant in self._settle_at:  # again if documents came in during the build
                while self._ingesting or (wait := self._settle_at[tenant] - loop.time()) > 0:
                    await asyncio.sleep(_SETTLE_S if self._ingesting else wait)
                del self._settle_at[tenant]
                await self._shards.get(tenant)
        except Exception as err:  # the next query builds it then; nothing is lost
            log.warning("shard_refresh_failed", tenant=tenant, error=str(err))
        finally:
            self._refreshing.pop(tenant, None)

    async def query_many(self, queries: list[IndexQuery]) -> list[list[Emit]]:
        vectors = np.empty((len(queries), DIM), dtype=np.float32)
        for tenant, members in by_tenant(queries).items():
            vectors[members] = await self._cache.get_many([queries[i].text for i in members], tenant)
        out: list[list[Emit]] = [[] for _ in queries]
        for (tenant, allow), members in by_search(queries).items():
            corpus, shard = await self._shards.get(tenant, asked_version([queries[i] for i in members]))
            rows = None if allow is None else np.flatnonzero(corpus.row_mask(list(allow)))
            k = max(queries[i].k for i in members)
            scores, ids = shard.search(vectors[members], k * 3, rows)
            for j, i in enumerate(members):
                out[i] = [Emit("index.results", result(queries[i], corpus, scores[j], ids[j], allow))]
        return out

    async def prefetch_many(self, steps: list[RetrieveStep]) -> list[list[Emit]]:
        """Start encoding the questions of steps that will query the index; return at once.

        Nothing waits on it but the query that will ask for the same text (``EmbeddingCache`` shares
        an encoding under way), so a failure here only means that query encodes the text itself.
        """
        for tenant, texts in questions_of(steps).items():
            in_background(self._cache.get_many(texts, tenant), "prefetching questions")
        return [[] for _ in steps]


# --- wiring --------------------------------------------------------------------------------------------

def routes(ctx: AgentContext) -> Parts:
    s = ctx.settings
    store = DocStore(ctx.redis, ctx.keys, ctx.sealer)
    vectors_of = vectors_id(s.encoder_backend, s.encoder_precision)  # keys cached vectors and snapshots
    encoder = LazyEncoder(s.encoder_backend, s.encoder_threads, s.encoder_max_length, s.encoder_batch_size,
                          s.encoder_precision, s.encoder_cache_dir)
    cache = EmbeddingCache(ctx.redis, ctx.keys.shared(s.cache_prefix), vectors_of, DIM, encoder.encode_async,
                           capacity=s.embedding_cache_size)
    backend = choose_backend(s.index_device, gpu_available(), cuda_available())
    encoder_backend = resolve_backend(s.encoder_backend)
    said = {"vector_backend": backend,
            "encoder": f"{encoder_backend} on {encoder_device() if encoder_backend == 'torch' else 'cpu'}"}
    log.info("index_backends", index_device=s.index_device, **said)
    builder = ShardBuilder(cache, s.snapshots, vectors_of, backend, s.exact_threshold, s.nprobe)
    agent = IndexAgent(store, cache, PerTenant(store, builder.build), encoder)
    authority = step_grants.authority(s.token_secrets)  # searches only what a retriever signed
    # a prefetch reveals nothing (it warms the cache): a forged step is the retriever's to refuse
    prefetch = [Route("steps.retrieve", idempotent=False, reports="nobody", handle_many=agent.prefetch_many)]
    return Parts([Route("docs.ingest", idempotent=False, reports="nobody", handle_many=agent.ingest_many,
                        batch_size=128),
                  # a failed search is the retriever's to handle (it answers from BM25 after its timeout). No
                  # ledger: a search has no side effect, and a redelivered query's result carries the same
                  # idempotency key, which the retriever's own ledger answers with what it sent the first time
                  # (saves two Redis round trips, one of them writing a hundred hits, on each query's path)
                  Route("index.queries", idempotent=False, reports="nobody", handle_many=agent.query_many,
                        authority=authority),
                  # no ledger and no output either: a prefetch only warms the cache
                  *(prefetch if s.query_prefetch else [])], warmup=agent.warmup,
                 info=said)


spec = AgentSpec("index", routes)
