"""Hybrid retrieval on the real mesh: access filter before scoring, rebuild by replay, degrading to BM25."""

from __future__ import annotations

import asyncio
import json
import signal
import time

import pytest

from index.rebuild import diff_stores, replay_into
from mesh.client import Client, parse_documents
from mesh.io.bus import Publisher, Tail
from mesh.security.sealing import codec_for, sealer_for
from mesh.wire.codec import default_codec
from mesh.wire.envelope import new_envelope
from mesh.wire.topics import Topics
from policy.access import read_filter
from schemas.models import (
    ExecuteStep,
    IndexQuery,
    Principal,
    RetrievalMode,
    RetrieveStep,
)

pytestmark = pytest.mark.integration

VISIBLE = [
    {"id": "kafka", "title": "Kafka retention", "text": "Kafka keeps records for seven days by default. "
     "Compacted topics keep the latest record for each key."},
    {"id": "redis", "title": "Redis persistence", "text": "Redis can persist data with snapshots or an "
     "append-only file. The append-only file is fsynced every second by default."},
    {"id": "faiss", "title": "Vector search", "text": "FAISS searches dense vectors exactly with a flat index "
     "or approximately with inverted lists. Inverted lists probe a few clusters per query."},
    {"id": "breaker", "title": "Circuit breakers", "text": "A circuit breaker opens after repeated failures "
     "and fails calls fast. It half-opens to probe whether the service recovered."},
]
RESTRICTED = [
    {"id": f"secret{i}", "title": "Kafka retention plans", "groups": ["board"], "classification": "restricted",
     "text": "Kafka retention records keep default topics days seven compacted. Retention retention kafka."}
    for i in range(6)
]


def ingest(settings, tenant: str, rows: list[dict]) -> None:
    docs, bad = parse_documents([json.dumps({**r, "tenant": tenant}) for r in rows], tenant)
    assert not bad
    client = Client(settings)
    client.ingest(docs)
    client.wait_stored(docs)


def retrieve(settings, tenant: str, question: str, principal: Principal, mode=RetrievalMode.hybrid,
             timeout_s: float = 30) -> ExecuteStep:
    codec, topics = codec_for(settings), Topics(settings.topic_prefix)
    env = new_envelope(tenant, "retrieve", step_id="s1")
    tail = Tail(settings, topics.name("steps.execute"))
    try:
        pub = Publisher(settings)
        pub.send(topics.name("steps.retrieve"), env.task_id.encode(),
                 codec.encode(RetrieveStep(envelope=env, question=question, principal=principal, mode=mode,
                                           candidates=20)))
        pub.flush()
        msg = tail.first(lambda m: m.key() == env.task_id.encode(), timeout_s)
    finally:
        tail.close()
    assert msg is not None, "no ExecuteStep"
    return codec.decode(msg.value())


QUESTIONS = ["How long does Kafka keep records?", "When does a circuit breaker open?",
             "How are dense vectors searched approximately?"]


@pytest.mark.parametrize("mode", list(RetrievalMode))
def test_unprivileged_results_identical_whether_or_not_restricted_documents_exist(settings, tenant, mode):
    """Restricted documents never enter scoring: not even BM25's statistics move."""
    ingest(settings, tenant + "a", VISIBLE)
    ingest(settings, tenant + "b", VISIBLE + RESTRICTED)
    for q in QUESTIONS:
        plain = retrieve(settings, tenant + "a", q, Principal(tenant_id=tenant + "a", user_id="u"), mode)
        mixed = retrieve(settings, tenant + "b", q, Principal(tenant_id=tenant + "b", user_id="u"), mode)
        assert plain.degraded is None and mixed.degraded is None
        assert plain.ranking == mixed.ranking
        assert [p.passage_id for p in plain.passages] == [p.passage_id for p in mixed.passages]
        # BM25's scores are exact; a bf16 vector's last digits depend on which passages it was encoded in a
        # batch with (padding), which restricted documents change: cosines move by up to about 1e-3, never a rank
        exact = mode is RetrievalMode.lexical
        assert [p.score for p in plain.passages] == (
            [p.score for p in mixed.passages] if exact else pytest.approx([p.score for p in mixed.passages], abs=5e-3))
        assert not any(d.startswith("secret") for d in mixed.ranking)
    board = retrieve(settings, tenant + "b", QUESTIONS[0],
                     Principal(tenant_id=tenant + "b", user_id="b", groups=["board"], clearance="restricted"))
    assert any(d.startswith("secret") for d in board.ranking)  # the filter, not the index, kept them out


def test_hybrid_finds_by_meaning_and_by_words(settings, tenant):
    ingest(settings, tenant, VISIBLE)
    who = Principal(tenant_id=tenant, user_id="u")
    semantic = retrieve(settings, tenant, "nearest neighbour lookup of embeddings", who, RetrievalMode.dense)
    assert semantic.ranking[0] == "faiss"
    hybrid = retrieve(settings, tenant, "fsynced append-only file", who)
    assert hybrid.ranking[0] == "redis"
    assert hybrid.passages[0].doc_id == "redis" and "append-only" in hybrid.passages[0].text


def test_updates_and_deletes_are_honoured(settings, tenant):
    ingest(settings, tenant, VISIBLE)
    who = Principal(tenant_id=tenant, user_id="u")
    ingest(settings, tenant, [{**VISIBLE[0], "text": "Kafka now keeps records for thirty days."}])
    after = retrieve(settings, tenant, "How long does Kafka keep records?", who)
    assert "thirty days" in after.passages[0].text
    from mesh.io.bus import Publisher as _P
    from schemas.models import AccessAttributes, DocumentIngest, DocumentOp

    gone = DocumentIngest(envelope=new_envelope(tenant, "ingest"), op=DocumentOp.delete, doc_id="kafka",
                          access=AccessAttributes(tenant_id=tenant))
    pub = _P(settings)
    pub.send(Topics(settings.topic_prefix).name("docs.ingest"), b"kafka", default_codec().encode(gone))
    pub.flush()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        res = retrieve(settings, tenant, "How long does Kafka keep records?", who)
        if "kafka" not in res.ranking:
            break
        time.sleep(0.2)
    assert "kafka" not in res.ranking


def test_rebuild_from_replaying_docs_ingest_matches_the_live_store(settings, tenant):
    ingest(settings, tenant, VISIBLE + RESTRICTED)
    ingest(settings, tenant, [{**VISIBLE[1], "text": "Redis persists with RDB snapshots only."}])
    target = settings.key_prefix + "rebuilt:"
    applied = asyncio.run(replay_into(settings, target, tenant))
    assert applied == len(VISIBLE) + len(RESTRICTED) + 1
    assert asyncio.run(diff_stores(settings, settings.key_prefix, target, tenant)) == []
    assert asyncio.run(diff_stores(settings, settings.key_prefix, target + "x", tenant)) != []  # the check can fail
    from index.encoder import make_encoder

    questions = make_encoder(settings.encoder_backend, precision=settings.encoder_precision,
                             cache_dir=settings.encoder_cache_dir).encode(QUESTIONS)
    live = asyncio.run(_searches(settings, settings.key_prefix, tenant, questions))
    rebuilt = asyncio.run(_searches(settings, target, tenant, questions))
    assert live == rebuilt and live["lexical"] and live["dense"]


async def _searches(settings, key_prefix: str, tenant: str, questions) -> dict:
    """BM25 and dense rankings of QUESTIONS over the store under ``key_prefix``.

    The vectors must all come from the embedding cache the live index agent filled: the
    encoder given here refuses to run, so a rebuild is shown to re-encode nothing."""
    from index.bm25 import BM25
    from index.cache import EmbeddingCache
    from index.corpus import Corpus, best_per_doc
    from index.encoder import DIM, vectors_id
    from index.store import DocStore
    from index.vectors import VectorShard
    from mesh.io.keys import Keys
    from mesh.io.redis_clients import connect

    async def refuse(texts):
        raise AssertionError(f"re-encoded {len(texts)} texts: the cache should hold them")

    redis = connect(settings)
    try:
        version, docs = await DocStore(redis, Keys(key_prefix), sealer_for(settings)).load(tenant)
        corpus = Corpus(version, docs)
        vectors_of = vectors_id(settings.encoder_backend, settings.encoder_precision)  # as the index agent keys them
        cache = EmbeddingCache(redis, Keys(settings.key_prefix), vectors_of, DIM, refuse)
        vectors = await cache.get_many([r.searchable for r in corpus.rows], tenant)
        shard = VectorShard(DIM)
        shard.upsert(list(range(len(corpus.rows))), vectors)
        bm25 = BM25([r.searchable for r in corpus.rows])
        out = {"lexical": [], "dense": []}
        dense_scores, dense_rows = shard.search(questions, 10)
        for i, q in enumerate(QUESTIONS):
            scores, rows = bm25.search(q, 10)
            out["lexical"].append([d for d, _, _ in best_per_doc(scores, rows, corpus.doc_of_row, 5)])
            out["dense"].append([d for d, _, _ in best_per_doc(dense_scores[i], dense_rows[i], corpus.doc_of_row, 5)])
        return out
    finally:
        await redis.aclose()


def test_index_agent_down_degrades_to_bm25_and_does_not_hang(mesh, tenant):
    settings = mesh.settings
    ingest(settings, tenant, VISIBLE)
    who = Principal(tenant_id=tenant, user_id="u")
    assert retrieve(settings, tenant, "How long does Kafka keep records?", who).degraded is None  # shard built, saved
    index = mesh.workers["index"]
    index.process.send_signal(signal.SIGKILL)
    index.process.wait(10)
    try:
        started = time.monotonic()
        res = retrieve(settings, tenant, "How long does Kafka keep records?", who)
        assert time.monotonic() - started < settings.index_timeout_ms / 1000 + 5
        assert res.degraded and "BM25" in res.degraded
        assert res.ranking[0] == "kafka"
    finally:
        mesh.start_agent("index")
        mesh.wait_ready(["index"], 60)
    later = retrieve(settings, tenant, "How long does Kafka keep records?", who)
    assert later.degraded is None
    # the restarted agent loaded this tenant's vectors from its disk snapshot, not from Redis
    log = (mesh.log_dir / "agent-index.log").read_text()
    built = [json.loads(line[line.index("{"):]) for line in log.splitlines() if '"shard_built"' in line]
    assert any(b["tenant"] == tenant and b["source"] == "snapshot" for b in built)


def _shard_builds(mesh, tenant: str) -> list[dict]:
    log = (mesh.log_dir / "agent-index.log").read_text()
    built = [json.loads(line[line.index("{"):]) for line in log.splitlines() if '"shard_built"' in line]
    return [b for b in built if b["tenant"] == tenant]


def test_the_shard_is_built_once_ingest_settles_so_the_first_query_does_not_wait(mesh, tenant):
    settings = mesh.settings
    ingest(settings, tenant, VISIBLE)
    deadline = time.monotonic() + 30
    while not _shard_builds(mesh, tenant) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [b["trigger"] for b in _shard_builds(mesh, tenant)] == ["ingest"]  # one build for the whole burst
    assert _shard_builds(mesh, tenant)[0]["docs"] == len(VISIBLE)
    res = retrieve(settings, tenant, "How long does Kafka keep records?", Principal(tenant_id=tenant, user_id="u"))
    assert res.degraded is None and res.ranking[0] == "kafka"
    assert [b["trigger"] for b in _shard_builds(mesh, tenant)] == ["ingest"]  # the query found it current


def _query_burst(settings, tenant: str, n: int) -> tuple[list[IndexQuery], dict]:
    """``n`` index queries sent together; their results by query id, as they came back."""
    codec, topics = codec_for(settings), Topics(settings.topic_prefix)
    who = Principal(tenant_id=tenant, user_id="u")
    queries = [IndexQuery(envelope=new_envelope(tenant, "retrieve", step_id="s1"), query_id=f"q{i}",
                          text=f"{QUESTIONS[i % len(QUESTIONS)]} ({i})", filter=read_filter(who), k=3)
               for i in range(n)]
    ours = {q.envelope.task_id.encode() for q in queries}  # a result is keyed by its query's task
    results = Tail(settings, topics.name("index.results"))
    try:
        # one key, so one partition, and one produce request (a long linger)
        pub = Publisher(settings, linger_ms=500)
        for q in queries:
            pub.send(topics.name("index.queries"), tenant.encode(), codec.encode(q))
        pub.flush()
        answered = {}
        deadline = time.monotonic() + 60
        while len(answered) < len(queries) and time.monotonic() < deadline:
            msg = results.first(lambda m: m.key() in ours, 5)
            if msg is not None:
                res = codec.decode(msg.value())
                answered[res.query_id] = res
    finally:
        results.close()
    return queries, answered


def _query_batch_sizes(mesh) -> list[int]:
    log = (mesh.log_dir / "agent-index.log").read_text()
    batches = [json.loads(line[line.index("{"):]) for line in log.splitlines() if '"batch_processed"' in line]
    return [b["size"] for b in batches if b["topic"] == Topics(mesh.settings.topic_prefix).name("index.queries")]


def test_queries_that_arrive_together_are_searched_in_batches_and_each_is_answered(mesh, tenant):
    """Each burst is answered whole; and bursts are searched in batches. On a loaded machine the index
    agent can be handed one fetch's records one loop turn apart, so a burst may be searched one by one:
    up to three bursts are sent, and batching that never happens in any of them fails the test."""
    ingest(mesh.settings, tenant, VISIBLE)
    for _ in range(3):
        queries, answered = _query_burst(mesh.settings, tenant, 24)
        assert sorted(answered) == sorted(q.query_id for q in queries)  # each answered, once
        assert all(r.hits and r.hits[0].doc_id in {d["id"] for d in VISIBLE} for r in answered.values())
        if any(size > 1 for size in _query_batch_sizes(mesh)):
            return
    pytest.fail("three bursts of queries that arrived together were each searched one at a time")
