"""The encoder's precisions side by side: query latency, passage throughput, agreement, dense quality.

    python -m bench.encoder [--data ../shared/data/scifact-train --split train] [--queries 200]
                            [--docs 1000] [--json]

Loads all-MiniLM-L6-v2 in fp32 and in bf16 in one process and measures, for each: one query at a
time on one thread (as the index agent encodes a lone query), batches of passages on
``--threads`` threads (as it encodes an ingest), the cosine of each vector to its fp32 twin, and
dense-only nDCG@10 and Recall@100 on a subset of a BEIR data set (the relevant documents of the
first ``--queries`` queries plus random others, up to ``--docs``, split into passages as the mesh
splits them, a document scored by its best passage). Rounds alternate between the precisions so
that a noisy machine hurts both alike. ``auto`` in the table is what this CPU would choose.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import numpy as np

from bench.common import machine, machine_line, main_of, percentile_ms, table
from bench.metrics import ndcg_at, recall_at
from bench.retrieval import load_beir
from index.corpus import Corpus, StoredDoc, best_per_doc
from index.encoder import PRECISIONS, Encoder, resolve_precision
from schemas.models import AccessAttributes


def _subset(data: Path, split: str, n_queries: int, n_docs: int, seed: int = 0):
    corpus, queries, qrels = load_beir(data, split, n_queries)
    wanted = {d for q in queries for d in qrels[q]}
    others = [d["_id"] for d in corpus if d["_id"] not in wanted]
    random.Random(seed).shuffle(others)
    keep = wanted | set(others[:max(0, n_docs - len(wanted))])
    access = AccessAttributes(tenant_id="bench")
    docs = [StoredDoc(d["_id"], d.get("title", ""), d["text"], access) for d in corpus if d["_id"] in keep]
    return Corpus(1, docs), queries, qrels


def _query_latency(encoder: Encoder, texts: list[str]) -> list[float]:
    times = []
    for t in texts:
        t0 = time.perf_counter()
        encoder.encode([t])
        times.append(time.perf_counter() - t0)
    return times


def run(args) -> dict:
    corpus, queries, qrels = _subset(Path(args.data), args.split, args.queries, args.docs)
    passages = [r.searchable for r in corpus.rows]
    qtexts = list(queries.values())
    encoders = {p: Encoder(threads=args.threads, precision=p) for p in PRECISIONS}
    for e in encoders.values():
        e.encode(qtexts[:10])  # first calls allocate
    latency = {p: [] for p in PRECISIONS}
    half = len(qtexts) // 2
    for rnd in (qtexts[:half], qtexts[half:]):  # alternate rounds: noise falls on both
        for p, e in encoders.items():
            latency[p] += _query_latency(e, rnd)
    vectors, ingest_s = {}, {}
    for p, e in encoders.items():
        t0 = time.perf_counter()
        vectors[p] = e.encode(passages)
        ingest_s[p] = time.perf_counter() - t0
    rows = []
    for p, e in encoders.items():
        qv = e.encode(qtexts)
        ranked = []
        for scores in qv @ vectors[p].T:
            order = np.argsort(-scores)[:300]
            ranked.append([d for d, _, _ in best_per_doc(scores[order], order, corpus.doc_of_row, 100)])
        cos = (vectors[p] * vectors["fp32"]).sum(axis=1)
        rows.append({"precision": p, "query_p50_ms": percentile_ms(latency[p], 50),
                     "query_p99_ms": percentile_ms(latency[p], 99),
                     "passages_per_s": round(len(passages) / ingest_s[p], 1),
                     "cos_to_fp32_min": round(float(cos.min()), 6), "cos_to_fp32_mean": round(float(cos.mean()), 6),
                     "ndcg@10": round(float(np.mean([ndcg_at(r, qrels[q], 10) for q, r in zip(queries, ranked)])), 4),
                     "recall@100": round(float(np.mean([recall_at(r, qrels[q], 100)
                                                        for q, r in zip(queries, ranked)])), 4)})
    fp32 = rows[0]
    for r in rows:
        r["query_speedup"] = round(fp32["query_p50_ms"] / r["query_p50_ms"], 2)
        r["ingest_speedup"] = round(r["passages_per_s"] / fp32["passages_per_s"], 2)
    return {"rows": rows, "auto": resolve_precision("auto"), "queries": len(qtexts), "docs": len(corpus.docs),
            "passages": len(passages), "threads": args.threads, "machine": machine()}


def _arguments(p) -> None:
    p.add_argument("--data", default="../shared/data/scifact-train", help="a BEIR-layout folder")
    p.add_argument("--split", default="train")
    p.add_argument("--queries", type=int, default=200, help="queries evaluated (the first of the qrels)")
    p.add_argument("--docs", type=int, default=1000, help="documents: every relevant one, then random others")
    p.add_argument("--threads", type=int, default=2, help="torch threads for passage batches")


def _render(report: dict) -> str:
    cols = ["precision", "query_p50_ms", "query_p99_ms", "query_speedup", "passages_per_s", "ingest_speedup",
            "cos_to_fp32_min", "cos_to_fp32_mean", "ndcg@10", "recall@100"]
    return "\n".join([
        f"{machine_line(report['machine'])}; auto here: {report['auto']}",
        f"{report['queries']} queries, {report['docs']} documents ({report['passages']} passages), "
        f"passages on {report['threads']} threads, queries on one",
        table(report["rows"], cols)])


main = main_of("bench.encoder", __doc__, _arguments, run, _render)

if __name__ == "__main__":
    raise SystemExit(main())
