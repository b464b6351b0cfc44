"""Retrieval quality and speed through the running mesh: BM25 alone, dense alone, hybrid.

    python -m bench.retrieval --data ../shared/data/scifact-train --split train [--json]

DIR is in the BEIR layout (corpus.jsonl, queries.jsonl, qrels/SPLIT.tsv); only the queries of
that qrels file are evaluated. Uses the mesh at SWITCHBOARD_* if one is running, else starts the
embedded stack and the agents itself. Documents go in through docs.ingest; each query is a
RetrieveStep on steps.retrieve, answered by the retriever (and the index agent) on
steps.execute, whose fused ranking is scored. Latency is measured from publishing the step to
receiving its ExecuteStep, so it includes the broker hops and query encoding.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.common import machine, percentile_ms, table
from bench.metrics import ndcg_at, recall_at
from mesh.bus import Publisher, Tail, broker_ready
from mesh.client import Client
from mesh.codec import default_codec
from mesh.envelope import new_envelope
from mesh.settings import Settings
from mesh.topics import Topics
from schemas.models import AccessAttributes, Classification, Principal, RetrievalMode, RetrieveStep


def load_beir(data: Path, split: str, limit: int | None) -> tuple[list[dict], dict[str, str], dict[str, dict[str, int]]]:
    qrels: dict[str, dict[str, int]] = {}
    for n, line in enumerate((data / "qrels" / f"{split}.tsv").read_text().splitlines()):
        parts = line.split("\t")
        if n == 0 and not parts[-1].strip().lstrip("-").isdigit():
            continue  # header
        qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    queries = {}
    for line in (data / "queries.jsonl").read_text().splitlines():
        q = json.loads(line)
        if q["_id"] in qrels:
            queries[q["_id"]] = q["text"]
    if limit:
        queries = dict(list(queries.items())[:limit])
    corpus = [json.loads(line) for line in (data / "corpus.jsonl").read_text().splitlines() if line.strip()]
    return corpus, queries, qrels


def _mesh_running(settings: Settings) -> bool:
    if not broker_ready(settings, 1.0):
        return False
    import redis

    try:
        r = redis.Redis.from_url(settings.redis_url, socket_timeout=1)
        return all(any(True for _ in r.scan_iter(f"{settings.key_prefix}agents:{a}:*")) for a in
                   ("index", "retriever"))
    except redis.RedisError:
        return False


def run(args) -> dict:
    settings = Settings()
    mesh = None
    if not _mesh_running(settings):
        from mesh.stack import Mesh

        settings = settings.model_copy(update={"run_dir": Path(tempfile.mkdtemp(prefix="sb-bench-"))})
        mesh = Mesh(settings)
        mesh.start(lambda s: print(s, file=sys.stderr))
    try:
        return _measure(settings, args)
    finally:
        if mesh:
            mesh.stop()


def _measure(settings: Settings, args) -> dict:
    corpus, queries, qrels = load_beir(Path(args.data), args.split, args.limit_queries)
    tenant = f"bench-{uuid.uuid4().hex[:6]}"
    access = AccessAttributes(tenant_id=tenant)
    docs = [{"doc_id": d["_id"], "title": d.get("title", ""), "text": d.get("text") or d.get("title") or "-",
             "access": access} for d in corpus]
    client, codec, topics = Client(settings), default_codec(), Topics(settings.topic_prefix)
    principal = Principal(tenant_id=tenant, user_id="bench", clearance=Classification.restricted)
    print(f"ingesting {len(docs)} documents, then {len(queries)} queries per mode", file=sys.stderr)

    started = time.perf_counter()
    client.ingest(docs)
    client.wait_stored(docs, timeout_s=3600)
    tail = Tail(settings, topics.name("steps.execute"))
    publisher = Publisher(settings)

    def retrieve(text: str, mode: RetrievalMode) -> tuple[list[str], float, str | None]:
        env = new_envelope(tenant, "retrieve", step_id="s1")
        step = RetrieveStep(envelope=env, question=text, principal=principal, top_k=5, mode=mode, candidates=100)
        t0 = time.perf_counter()
        publisher.send(topics.name("steps.retrieve"), env.task_id.encode(), codec.encode(step))
        publisher.flush()
        key = env.task_id.encode()
        msg = tail.first(lambda m: m.key() == key, 3600)
        out = codec.decode(msg.value())
        return out.ranking, time.perf_counter() - t0, out.degraded

    retrieve("warm up the index", RetrievalMode.dense)  # the shard is built (and any vector encoded) here
    ingest_s = time.perf_counter() - started
    rows = []
    for mode in [RetrievalMode(m) for m in args.modes]:
        retrieve("warm up", mode)
        latencies, ndcg, recall, degraded = [], [], [], 0
        for qid, text in queries.items():
            ranking, seconds, why = retrieve(text, mode)
            latencies.append(seconds)
            degraded += why is not None
            ndcg.append(ndcg_at(ranking, qrels[qid], 10))
            recall.append(recall_at(ranking, qrels[qid], 100))
        rows.append({"mode": mode.value, "ndcg@10": round(sum(ndcg) / len(ndcg), 4),
                     "recall@100": round(sum(recall) / len(recall), 4),
                     "p50_ms": percentile_ms(latencies, 50), "p99_ms": percentile_ms(latencies, 99),
                     "degraded": degraded})
    tail.close()
    return {"benchmark": "retrieval", "data": str(args.data), "split": args.split, "queries": len(queries),
            "documents": len(docs), "ingest_docs_per_s": round(len(docs) / ingest_s, 1),
            "fusion": settings.fusion, "rrf_k": settings.rrf_k, "fusion_alpha": settings.fusion_alpha,
            "encoder_threads": settings.encoder_threads, "machine": machine(), "results": rows}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.retrieval", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="folder in the BEIR layout")
    p.add_argument("--split", default="test", help="qrels/SPLIT.tsv names the evaluated queries")
    p.add_argument("--modes", nargs="+", default=["lexical", "dense", "hybrid"], choices=["lexical", "dense", "hybrid"])
    p.add_argument("--limit-queries", type=int, default=None, help="evaluate only the first N queries")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = p.parse_args(argv)
    report = run(args)
    if args.json:
        print(json.dumps(report))
    else:
        m = report["machine"]
        print(f"{report['documents']} documents, {report['queries']} queries ({report['split']}); "
              f"ingest {report['ingest_docs_per_s']} docs/s; fusion {report['fusion']}")
        print(f"machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, GPU {m['gpu']}, "
              f"encoder threads {report['encoder_threads']}")
        print(table(report["results"], ["mode", "ndcg@10", "recall@100", "p50_ms", "p99_ms", "degraded"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
