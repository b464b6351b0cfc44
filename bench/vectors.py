"""Vector search backends side by side: queries/s at batch 1 and 256, recall@10 against exact, under allow-lists.

    python -m bench.vectors [--n 200000] [--dim 384] [--backends torch-cpu,faiss-cpu] [--allow 1,0.1,0.001] [--json]

Backends (default: every one present): ``faiss-cpu`` (flat, exact; an allow-list as FAISS's id
selector), ``faiss-gpu`` (flat on the GPU; no allow-list, FAISS's GPU indexes take no filter),
``torch-cpu`` and ``torch-cuda`` (``index.torch_vectors.TorchShard``: exact, half precision on the
GPU), and ``faiss-ivf`` (``index.vectors.VectorShard`` always on its IVF path, on the GPU where FAISS
sees one; approximate; only when named). The vectors are random and unit length (the hardest case
for an approximate index, and no matter to an exact one), made with torch (on the GPU where there
is one, so ten million take seconds). The reference is float32 exact search by torch, in chunks;
``same_as_exact`` says whether a backend's ids equal ``index.vectors.exact_search`` over the allowed
ids, checked where the list is at most 200,000 ids. One process, so the ratios are comparable.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import torch

from bench.common import machine, machine_line, main_of, percentile_ms, table
from index.vectors import exact_search

BACKENDS = ("faiss-cpu", "faiss-gpu", "torch-cpu", "torch-cuda", "faiss-ivf")
K = 10
SAME_CHECK_MAX = 200_000  # allowed ids up to which the numpy exact search is run to compare ids


def present() -> list[str]:
    """The default backends: those this machine can run (faiss-ivf only when named)."""
    from index.vectors import gpu_available

    return ["faiss-cpu", *(["faiss-gpu"] if gpu_available() else []), "torch-cpu",
            *(["torch-cuda"] if torch.cuda.is_available() else [])]


def unit_vectors(n: int, dim: int, seed: int, device: str) -> torch.Tensor:
    """``n`` random unit vectors, float32, on the CPU (made on ``device`` in chunks)."""
    gen = torch.Generator(device=device).manual_seed(seed)
    out = torch.empty((n, dim), dtype=torch.float32)
    for start in range(0, n, 1 << 20):
        x = torch.randn((min(1 << 20, n - start), dim), generator=gen, device=device)
        out[start:start + len(x)] = torch.nn.functional.normalize(x, dim=1).cpu()
    return out


def reference(base: torch.Tensor, rows: np.ndarray | None, queries: np.ndarray, device: str) -> np.ndarray:
    """float32 exact top-k ids (rows are ids) over ``rows`` (all when None), by torch in chunks."""
    q = torch.from_numpy(queries).to(device)
    best_s, best_i = None, None
    idx = np.arange(len(base)) if rows is None else rows
    for start in range(0, len(idx), 1 << 20):
        part = idx[start:start + (1 << 20)]
        block = (base[start:start + len(part)] if rows is None else base[torch.from_numpy(part)]).to(device)
        s = q @ block.T
        ids = torch.from_numpy(part).to(device).expand(len(q), -1)
        if best_s is not None:
            s, ids = torch.cat([best_s, s], 1), torch.cat([best_i, ids], 1)
        best_s, at = torch.topk(s, min(K, s.shape[1]), dim=1)
        best_i = torch.gather(ids, 1, at)
    return best_i.cpu().numpy()


def open_backend(name: str, base: torch.Tensor, threads: int):
    """(search(queries, allow) -> ids, the backend's description) with ``base`` loaded; ids are row numbers."""
    ids = np.arange(len(base), dtype=np.int64)
    if name.startswith("torch"):
        from index.torch_vectors import TorchShard

        shard = TorchShard(base.shape[1], name.split("-")[1])
        shard.upsert(ids, base)
        return (lambda q, allow: shard.search(q, K, allow)[1]), shard.backend
    import faiss

    faiss.omp_set_num_threads(threads)
    if name == "faiss-ivf":
        from index.vectors import VectorShard, gpu_available

        shard = VectorShard(base.shape[1], "gpu" if gpu_available() else "cpu", exact_threshold=1)
        shard.upsert(ids, base.numpy())
        shard.search(base[:1].numpy(), K)  # trains the index
        return (lambda q, allow: shard.search(q, K, allow)[1]), f"faiss-ivf nprobe {shard.nprobe}"
    index = faiss.IndexFlatIP(base.shape[1])
    if name == "faiss-gpu":
        index = faiss.index_cpu_to_gpu(faiss.StandardGpuResources(), 0, index)
    index.add(base.numpy())

    def search(q, allow):
        if allow is None:
            return index.search(q, K)[1]
        if name == "faiss-gpu":
            return None  # no filter on FAISS's GPU indexes
        return index.search(q, K, params=faiss.SearchParameters(sel=faiss.IDSelectorBatch(allow)))[1]

    return search, f"{name} flat, {threads} threads"


def measure(search, queries: np.ndarray, allow, truth: np.ndarray, batch1: int) -> dict:
    """q/s at batch 256 over every query, recall@10 of those, and batch 1's p50 over the first ``batch1``."""
    search(queries[:256], allow)  # warm-up: CUDA's libraries load on the first search
    t0 = time.perf_counter()
    found = [search(queries[i:i + 256], allow) for i in range(0, len(queries), 256)]
    elapsed = time.perf_counter() - t0
    if any(f is None for f in found):
        return {"qps_b256": "n/a"}
    got = np.concatenate(found)
    recall = np.mean([len(set(a[a >= 0].tolist()) & set(b.tolist())) / max(len(b), 1) for a, b in zip(got, truth)])
    times = []
    for q in queries[:batch1]:  # one query at a time, up to batch1 of them
        t1 = time.perf_counter()
        search(q[None], allow)
        times.append(time.perf_counter() - t1)
    return {"qps_b256": round(len(queries) / elapsed, 1), "recall@10": round(float(recall), 4),
            "qps_b1": round(len(times) / sum(times), 1) if times else "", "p50_b1_ms": percentile_ms(times, 50),
            "_ids": got}


def run(args) -> dict:
    device = "cuda" if torch.cuda.is_available() else "cpu"
    backends = args.backends.split(",") if args.backends else present()
    t0 = time.perf_counter()
    base = unit_vectors(args.n, args.dim, 0, device)
    queries = unit_vectors(args.queries, args.dim, 1, device).numpy()
    made_s = round(time.perf_counter() - t0, 1)
    rng = np.random.default_rng(0)
    allows = {f: None if f >= 1 else np.sort(rng.choice(args.n, max(1, int(f * args.n)), replace=False))
              for f in (float(x) for x in args.allow.split(","))}
    truths = {f: reference(base, a, queries, device) for f, a in allows.items()}
    rows = []
    for name in backends:
        t1 = time.perf_counter()
        search, described = open_backend(name, base, args.threads)
        load_s = round(time.perf_counter() - t1, 1)
        for f, allow in allows.items():
            row = {"backend": described, "allow": f, "load_s": load_s, **measure(search, queries, allow, truths[f],
                                                                                 args.batch1)}
            got = row.pop("_ids", None)
            if got is not None and allow is not None and len(allow) <= SAME_CHECK_MAX:
                want = exact_search(base[torch.from_numpy(allow)].numpy(), allow, queries, K)[1]
                row["same_as_exact"] = bool(np.array_equal(got, want))
            rows.append(row)
    return {"benchmark": "vectors", "n": args.n, "dim": args.dim, "queries": args.queries, "made_s": made_s,
            "machine": machine(), "results": rows}


def _arguments(p) -> None:
    p.add_argument("--n", type=int, default=200_000, help="vectors in the shard")
    p.add_argument("--dim", type=int, default=384)
    p.add_argument("--queries", type=int, default=1024, help="queries searched at batch 256 (recall over them)")
    p.add_argument("--batch1", type=int, default=64, help="queries searched one at a time (batch 1's p50)")
    p.add_argument("--backends", default="", help=f"comma-separated, of {', '.join(BACKENDS)}; default: all present")
    p.add_argument("--allow", default="1,0.1,0.001", help="allow-lists as fractions of the shard (1: none)")
    p.add_argument("--threads", type=int, default=16, help="FAISS's CPU threads")


def _render(report: dict) -> str:
    return "\n".join([
        f"{report['n']} vectors x {report['dim']}, {report['queries']} queries; {machine_line(report['machine'])}",
        table(report["results"], ["backend", "allow", "load_s", "qps_b1", "p50_b1_ms", "qps_b256", "recall@10",
                                  "same_as_exact"])])


main = main_of("python -m bench.vectors", __doc__, _arguments, run, _render)

if __name__ == "__main__":
    sys.exit(main())
