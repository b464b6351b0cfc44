"""What the vector backends' contract suite shares: the backends, the data, brute force."""

from __future__ import annotations

import numpy as np
import torch

from index.torch_vectors import TorchShard, cuda_available
from index.vectors import VectorShard, gpu_available

SMALL_MAX_K = 40  # the GPU's cap on results per index search, scaled to this suite's shards
#: each backend as the shard's arguments
BACKENDS = {"cpu": {"device": "cpu"},
            "cpu-filtering-as-gpu": {"device": "cpu", "filter_in_faiss": False, "max_k": SMALL_MAX_K}}
if gpu_available():
    BACKENDS |= {"gpu": {"device": "gpu"}, "gpu-small-max-k": {"device": "gpu", "max_k": SMALL_MAX_K}}
#: the torch backend in chunks of 64 rows (the merge across chunks runs), in float32 and in half precision
BACKENDS |= {"torch-cpu": {"torch": "cpu", "chunk_rows": 64},
             "torch-cpu-half": {"torch": "cpu", "chunk_rows": 64, "dtype": torch.float16}}
if cuda_available():
    BACKENDS |= {"torch-cuda": {"torch": "cuda"}, "torch-cuda-small-chunks": {"torch": "cuda", "chunk_rows": 64}}
KINDS = ["exact", "approximate"]
DIM = 16
N = 300
IDS = np.arange(N, dtype=np.int64) * 3 + 7  # sparse, not row numbers: ids and rows must not be confused
FOREIGN = [0, 2, 3, 5, 6, 9_999]            # ids the shard does not hold


def unit_rows(rng: np.random.Generator, n: int, dim: int = DIM) -> np.ndarray:
    v = rng.standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


VECS = unit_rows(np.random.default_rng(42), N)


def new_shard(backend: dict, dim: int, **faiss_kw):
    """An empty shard of ``backend``; ``faiss_kw`` (exact_threshold, nprobe, max_k) are FAISS's alone."""
    if "torch" in backend:
        return TorchShard(dim, backend["torch"], chunk_rows=backend.get("chunk_rows"), dtype=backend.get("dtype"))
    return VectorShard(dim, **backend, **faiss_kw)


def make_shard(backend: dict, kind: str, ids: np.ndarray = IDS, vecs: np.ndarray = VECS, **kw):
    """A shard of ``kind`` holding ``ids``; an always-exact backend (torch) is exact whatever the kind."""
    shard = new_shard(backend, DIM, exact_threshold=64 if kind == "approximate" else 50_000, **kw)
    shard.upsert(ids, vecs)
    assert shard.approximate == (kind == "approximate" and "torch" not in backend)
    return shard


def brute_force(vecs: np.ndarray, ids: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Full sort in numpy: score descending, id ascending; (-inf, -1) padding."""
    sims = queries @ vecs.T
    out_s = np.full((len(queries), k), -np.inf, dtype=np.float32)
    out_i = np.full((len(queries), k), -1, dtype=np.int64)
    for q in range(len(queries)):
        order = np.lexsort((ids, -sims[q]))[:k]
        out_s[q, :len(order)], out_i[q, :len(order)] = sims[q, order], ids[order]
    return out_s, out_i


def true_scores(queries: np.ndarray, ids: np.ndarray, id_list: np.ndarray, vecs: np.ndarray) -> np.ndarray:
    pos = {int(i): r for r, i in enumerate(id_list.tolist())}
    return np.array([[queries[q] @ vecs[pos[int(i)]] if i >= 0 else -np.inf for i in ids[q]]
                     for q in range(len(queries))], dtype=np.float32)


