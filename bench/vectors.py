"""Vector search backends side by side: build time, queries per second, recall@10 against exact.

    python -m bench.vectors [--n 200000] [--dim 384] [--json]

Runs every backend present (CPU always; GPU where faiss sees one) on the same synthetic,
clustered, unit-length vectors (embeddings cluster; uniform noise would make any IVF look bad),
in one process, so the ratios are comparable. Exact search is the reference for recall.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from bench.common import machine, machine_line, main_of, table
from index.vectors import VectorShard, exact_search, gpu_available


def clustered(n: int, dim: int, clusters: int, rng: np.random.Generator) -> np.ndarray:
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    x = centres[rng.integers(0, clusters, n)] + 0.35 * rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def measure(device: str, base: np.ndarray, queries: np.ndarray, truth: np.ndarray, nprobe: int, k: int = 10) -> dict:
    ids = np.arange(len(base), dtype=np.int64)
    shard = VectorShard(base.shape[1], device, exact_threshold=1, nprobe=nprobe)  # always the IVF path
    t0 = time.perf_counter()
    shard.upsert(ids, base)
    shard.search(queries[:1], k)  # builds (trains) the index
    build_s = time.perf_counter() - t0
    row = {"backend": device, "build_s": round(build_s, 2), "nprobe": nprobe}
    for batch in (1, 256):
        n = min(len(queries), 256 if batch == 1 else len(queries))
        t0 = time.perf_counter()
        found = [shard.search(queries[i:i + batch], k)[1] for i in range(0, n, batch)]
        row[f"qps_b{batch}"] = round(n / (time.perf_counter() - t0), 1)
    got = np.concatenate(found)[: len(truth)]
    row["recall@10"] = round(float(np.mean([len(set(a) & set(b)) / k for a, b in zip(got, truth)])), 4)
    return row


def run(args) -> dict:
    rng = np.random.default_rng(0)
    base = clustered(args.n, args.dim, max(16, args.n // 2000), rng)
    queries = base[rng.integers(0, args.n, args.queries)] + 0.05 * rng.standard_normal((args.queries, args.dim)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    t0 = time.perf_counter()
    truth = exact_search(base, np.arange(args.n, dtype=np.int64), queries, 10)[1]
    exact_qps = round(len(queries) / (time.perf_counter() - t0), 1)
    backends = ["cpu"] + (["gpu"] if gpu_available() else [])
    rows = [measure(b, base, queries, truth, args.nprobe) for b in backends]
    return {"benchmark": "vectors", "n": args.n, "dim": args.dim, "queries": args.queries,
            "exact_numpy_qps_b256": exact_qps, "machine": machine(), "results": rows}


def _arguments(p) -> None:
    p.add_argument("--n", type=int, default=200_000, help="vectors in the shard")
    p.add_argument("--dim", type=int, default=384)
    p.add_argument("--queries", type=int, default=1024)
    p.add_argument("--nprobe", type=int, default=16)


def _render(report: dict) -> str:
    return "\n".join([
        f"{report['n']} vectors x {report['dim']}, {report['queries']} queries; {machine_line(report['machine'])}; "
        f"exact (numpy) {report['exact_numpy_qps_b256']} q/s batched",
        table(report["results"], ["backend", "build_s", "nprobe", "qps_b1", "qps_b256", "recall@10"])])


main = main_of("python -m bench.vectors", __doc__, _arguments, run, _render)

if __name__ == "__main__":
    sys.exit(main())
