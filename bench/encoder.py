"""The encoder's backends and precisions side by side: query latency, passage throughput, agreement, quality.

    python -m bench.encoder [--backends torch,onnx,onnx-int8] [--precisions fp32,bf16]
                            [--data ../shared/data/scifact-train --split train] [--queries 200]
                            [--docs 1000] [--batch-sizes 16,32] [--json]

Loads all-MiniLM-L6-v2 once per row in one process: torch in each of ``--precisions``, and ONNX
Runtime in fp32 (``onnx``) and int8 (``onnx-int8``), the graphs exported from the shipped weights
on first use and cached (``--cache-dir``). Measures, for each: one query at a time on one thread
(as the index agent encodes a lone query), passages in batches on ``--threads`` threads (as it
encodes an ingest), each vector's cosine to torch fp32's (over the queries and the first
``--agreement`` passages), and quality on a BEIR data set: nDCG@10 and Recall@100 of dense search
alone (exact, numpy), and nDCG@10 of hybrid search (BM25 convex-fused with that dense ranking,
α=0.5, as the retriever fuses them). The corpus is the relevant documents of the first
``--queries`` queries plus random others, up to ``--docs`` (0 and 0: every query and document),
split into passages as the mesh splits them, a document scored by its best passage. With
``--batch-sizes``, each backend runs once per batch size (passages per forward pass; otherwise the
index agent's default).

Noise falls on every row alike: query rounds alternate between the rows, and the passages are
encoded in chunks, each chunk by every row in turn (rotating who goes first). Speed-ups are
against torch in the precision torch's ``auto`` takes on this CPU.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from bench.common import machine, machine_line, main_of, percentile_ms, table
from bench.metrics import ndcg_at, recall_at
from bench.retrieval import load_beir
from index.bm25 import BM25
from index.corpus import Corpus, StoredDoc, best_per_doc
from index.encoder import BACKENDS, PRECISIONS, make_encoder, resolve_precision
from index.fusion import convex
from schemas.models import AccessAttributes


def _subset(data: Path, split: str, n_queries: int, n_docs: int, seed: int = 0):
    corpus, queries, qrels = load_beir(data, split, n_queries)
    wanted = {d for q in queries for d in qrels[q]}
    others = [d["_id"] for d in corpus if d["_id"] not in wanted]
    random.Random(seed).shuffle(others)
    keep = wanted | set(others[:max(0, n_docs - len(wanted))]) if n_docs > 0 else {d["_id"] for d in corpus}
    access = AccessAttributes(tenant_id="bench")
    docs = [StoredDoc(d["_id"], d.get("title", ""), d["text"], access) for d in corpus if d["_id"] in keep]
    return Corpus(1, docs), queries, qrels


def _query_latency(encoder, texts: list[str]) -> list[float]:
    times = []
    for t in texts:
        t0 = time.perf_counter()
        encoder.encode([t])
        times.append(time.perf_counter() - t0)
    return times


def _rows(backends: list[str], precisions: list[str], batches: list[int | None]) -> list[tuple]:
    """(row name, backend, torch precision, batch size) of each row; a batch size of None is the default."""
    out = []
    for b in backends:
        if b not in BACKENDS:
            raise SystemExit(f"unknown backend {b!r}: use {', '.join(BACKENDS)}")
        named = [(f"torch-{p}", b, p) for p in precisions] if b == "torch" else [(b, b, "fp32")]
        out += [(name + (f" b{size}" if size else ""), b, p, size) for name, b, p in named for size in batches]
    return out


def _batch_sizes(setting: str) -> list[int | None]:
    """The ``--batch-sizes`` to run, each once; none named: [None], the index agent's default."""
    if not setting:
        return [None]
    sizes = [int(b) for b in setting.split(",")]
    if min(sizes) < 1 or len(set(sizes)) < len(sizes):
        raise SystemExit(f"--batch-sizes {setting!r}: name each batch size once, each at least 1")
    return sizes


def _encode_interleaved(encoders: dict, passages: list[str], chunk: int) -> tuple[dict, dict]:
    """Every row's vectors of ``passages`` and its seconds, chunk by chunk, each chunk by every row in turn."""
    names = list(encoders)
    vectors = {n: np.empty((len(passages), 384), dtype=np.float32) for n in names}
    seconds = dict.fromkeys(names, 0.0)
    for i, start in enumerate(tqdm(range(0, len(passages), chunk), desc="passages", unit="chunk")):
        part = passages[start:start + chunk]
        for n in names[i % len(names):] + names[:i % len(names)]:
            t0 = time.perf_counter()
            vectors[n][start:start + len(part)] = encoders[n].encode(part)
            seconds[n] += time.perf_counter() - t0
    return vectors, seconds


def _ranked(qv: np.ndarray, vectors: np.ndarray, corpus: Corpus) -> list[list[tuple[str, float]]]:
    """Per query, (doc, score) of the 100 best documents by dense search, as the index agent answers."""
    out = []
    for scores in qv @ vectors.T:
        order = np.argsort(-scores)[:300]
        out.append([(d, round(s, 6)) for d, _, s in best_per_doc(scores[order], order, corpus.doc_of_row, 100)])
    return out


def _lexical(corpus: Corpus, qtexts: list[str]) -> list[list[tuple[str, float]]]:
    bm25 = BM25([r.searchable for r in corpus.rows])
    out = []
    for q in qtexts:
        scores, rows = bm25.search(q, 300)
        out.append([(d, round(s, 6)) for d, _, s in best_per_doc(scores, rows, corpus.doc_of_row, 100)])
    return out


def _quality(queries: dict, qrels: dict, dense: list, lexical: list) -> dict:
    ids = [[d for d, _ in r] for r in dense]
    hybrid = [[d for d, _ in convex(lx, dn, 0.5)] for lx, dn in zip(lexical, dense)]
    mean = lambda f, rankings, k: round(float(np.mean([f(r, qrels[q], k) for q, r in zip(queries, rankings)])), 4)
    return {"ndcg@10": mean(ndcg_at, ids, 10), "recall@100": mean(recall_at, ids, 100),
            "hybrid_ndcg@10": mean(ndcg_at, hybrid, 10)}


def run(args) -> dict:
    corpus, queries, qrels = _subset(Path(args.data), args.split, args.queries, args.docs)
    passages = [r.searchable for r in corpus.rows]
    qtexts = list(queries.values())
    rows = _rows(args.backends.split(","), args.precisions.split(","), _batch_sizes(args.batch_sizes))
    encoders = {name: make_encoder(b, args.threads, batch_size=size, precision=p, cache_dir=args.cache_dir)
                for name, b, p, size in rows}
    reference = next((encoders[name] for name, b, p, _ in rows if (b, p) == ("torch", "fp32")), None) \
        or make_encoder("torch", args.threads, precision="fp32")
    sample = qtexts + passages[:args.agreement]
    ref_vectors = reference.encode(sample)
    for e in encoders.values():
        e.encode(qtexts[:10])  # first calls allocate
    latency = {n: [] for n in encoders}
    half = len(qtexts) // 2
    for rnd in (qtexts[:half], qtexts[half:]):  # alternate rounds: noise falls on every row
        for n, e in encoders.items():
            latency[n] += _query_latency(e, rnd)
    vectors, ingest_s = _encode_interleaved(encoders, passages, args.chunk)
    lexical = _lexical(corpus, qtexts)
    out = []
    for n, e in encoders.items():
        qv = e.encode(qtexts)
        cos = (np.concatenate([qv, vectors[n][:args.agreement]]) * ref_vectors).sum(axis=1)
        out.append({"backend": n, "batch": e.batch_size, "query_p50_ms": percentile_ms(latency[n], 50),
                    "query_p99_ms": percentile_ms(latency[n], 99),
                    "passages_per_s": round(len(passages) / ingest_s[n], 1),
                    "cos_to_fp32_min": round(float(cos.min()), 6), "cos_to_fp32_mean": round(float(cos.mean()), 6),
                    **_quality(queries, qrels, _ranked(qv, vectors[n], corpus), lexical)})
    auto = resolve_precision("auto")
    base = next((r for r in out if r["backend"].split()[0] == f"torch-{auto}"), out[0])
    for r in out:
        r["query_speedup"] = round(base["query_p50_ms"] / r["query_p50_ms"], 2)
        r["ingest_speedup"] = round(r["passages_per_s"] / base["passages_per_s"], 2)
    return {"rows": out, "auto": auto, "baseline": base["backend"], "queries": len(qtexts), "docs": len(corpus.docs),
            "passages": len(passages), "threads": args.threads, "agreement_texts": len(sample), "machine": machine()}


def _arguments(p) -> None:
    p.add_argument("--backends", default="torch,onnx,onnx-int8", help="comma-separated: torch, onnx, onnx-int8")
    p.add_argument("--precisions", default=",".join(PRECISIONS), help="torch's precisions, comma-separated")
    p.add_argument("--data", default="../shared/data/scifact-train", help="a BEIR-layout folder")
    p.add_argument("--split", default="train")
    p.add_argument("--queries", type=int, default=200, help="queries evaluated (the first of the qrels; 0: all)")
    p.add_argument("--docs", type=int, default=1000,
                   help="documents: every relevant one, then random others (0: the whole corpus)")
    p.add_argument("--threads", type=int, default=2, help="threads for passage batches")
    p.add_argument("--batch-sizes", default="", help="passages per forward pass, comma-separated: a row per "
                   "backend and size (default: the index agent's, 16 on a CPU)")
    p.add_argument("--chunk", type=int, default=256, help="passages each row encodes in turn")
    p.add_argument("--agreement", type=int, default=512, help="passages (besides the queries) compared to fp32's")
    p.add_argument("--cache-dir", type=Path, default=None, help="where ONNX graphs are cached (default: the user's)")


def _render(report: dict) -> str:
    cols = ["backend", "batch", "query_p50_ms", "query_p99_ms", "query_speedup", "passages_per_s", "ingest_speedup",
            "cos_to_fp32_min", "cos_to_fp32_mean", "ndcg@10", "recall@100", "hybrid_ndcg@10"]
    return "\n".join([
        f"{machine_line(report['machine'])}; torch's auto precision here: {report['auto']}; "
        f"speed-ups against {report['baseline']}",
        f"{report['queries']} queries, {report['docs']} documents ({report['passages']} passages), "
        f"passages on {report['threads']} threads, queries on one; cosines over {report['agreement_texts']} texts",
        table(report["rows"], cols)])


main = main_of("bench.encoder", __doc__, _arguments, run, _render)

if __name__ == "__main__":
    raise SystemExit(main())
