"""FAISS behind one interface, on CPU (faiss-cpu) or GPU (faiss-gpu), with allow-list search.

``VectorShard`` holds one tenant's passage vectors. Below ``exact_threshold`` vectors it
searches exactly (flat inner product); above, it uses an IVF index trained on the shard
(``nlist`` about 4·√n, ``nprobe`` probes). Search takes an allow-list of ids and never returns
an id outside it, even when k exceeds the list: a selective list is searched exactly over the
allowed vectors alone (the approximate index would lose recall there), a broad one through the
index with the filter applied inside FAISS (CPU) or by over-fetching and filtering (GPU), falling
back to exact search whenever too few allowed hits come back.

FAISS on a GPU selects at most ``GPU_MAX_K`` (2048) results per query and takes no id filter, so
the GPU backend over-fetches no more than that, and a k above it is searched exactly. Both limits
are settings of the shard (``filter_in_faiss``, ``max_k``), so the contract suite runs the GPU's
way of filtering on a CPU too, where CI has no GPU. On a GPU the IVF index is trained there.
"""

from __future__ import annotations

from typing import Protocol

import faiss
import numpy as np

__all__ = ["VectorBackend", "VectorShard", "gpu_available", "exact_search", "GPU_MAX_K"]

#: the most results FAISS's GPU k-selection returns per query (it refuses a larger k)
GPU_MAX_K = 2048


def gpu_available() -> bool:
    return hasattr(faiss, "StandardGpuResources") and faiss.get_num_gpus() > 0


class VectorBackend(Protocol):
    """What the index agent needs of a vector index (one contract suite runs on each backend)."""

    def upsert(self, ids: np.ndarray, vectors: np.ndarray) -> None: ...
    def remove(self, ids: np.ndarray) -> None: ...
    def search(self, queries: np.ndarray, k: int, allow: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]: ...
    def __len__(self) -> int: ...


def exact_search(vectors: np.ndarray, ids: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Brute-force inner-product top-k; rows padded with (-inf, -1) when fewer than k exist."""
    n = len(ids)
    scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
    out = np.full((len(queries), k), -1, dtype=np.int64)
    if n == 0:
        return scores, out
    sims = queries @ vectors.T
    take = min(k, n)
    kth = -np.partition(-sims, take - 1, axis=1)[:, take - 1]
    for row in range(len(queries)):
        cand = np.flatnonzero(sims[row] >= kth[row])  # every tie at the cut-off competes on id
        order = np.lexsort((ids[cand], -sims[row, cand]))[:take]  # score desc, then id asc: deterministic
        scores[row, :take] = sims[row, cand[order]]
        out[row, :take] = ids[cand[order]]
    return scores, out


class VectorShard:
    """One tenant's vectors; ``device`` is 'cpu' or 'gpu'."""

    def __init__(self, dim: int, device: str = "cpu", exact_threshold: int = 50_000, nprobe: int = 16,
                 selective_fraction: float = 0.05, *, filter_in_faiss: bool | None = None,
                 max_k: int | None = None) -> None:
        """``filter_in_faiss``: apply an allow-list inside the IVF search (CPU only; default there) rather than
        by over-fetching; ``max_k``: the most results one index search may ask for (``GPU_MAX_K`` on a GPU)."""
        if device == "gpu" and not gpu_available():
            raise RuntimeError("device 'gpu' asked for, but FAISS sees no GPU: install faiss-gpu (the `gpu` extra) "
                               "on a machine with one, or use device 'cpu'")
        if device == "gpu" and filter_in_faiss:
            raise ValueError("FAISS's GPU indexes take no id filter: leave filter_in_faiss unset on device 'gpu'")
        self.dim, self.device = dim, device
        self.filter_in_faiss = device == "cpu" if filter_in_faiss is None else filter_in_faiss
        self.max_k = max_k if max_k is not None else GPU_MAX_K if device == "gpu" else None
        self.exact_threshold, self.nprobe, self.selective_fraction = exact_threshold, nprobe, selective_fraction
        self._ids = np.zeros(0, dtype=np.int64)
        self._vecs = np.zeros((0, dim), dtype=np.float32)
        self._row: dict[int, int] = {}
        self._index = None  # built lazily from the master arrays
        self._gpu_res = faiss.StandardGpuResources() if device == "gpu" else None

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def approximate(self) -> bool:
        return len(self) >= self.exact_threshold

    def upsert(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors, replacing any already held under the same ids."""
        ids = np.asarray(ids, dtype=np.int64)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(ids), self.dim)
        self.remove(ids)
        self._ids = np.concatenate([self._ids, ids])
        self._vecs = np.concatenate([self._vecs, vectors])
        self._reindex_rows()
        if self._index is not None and self.device == "cpu" and self.approximate:
            self._index.add_with_ids(vectors, ids)
        else:
            self._index = None  # rebuilt on the next approximate search

    def remove(self, ids: np.ndarray) -> None:
        ids = np.asarray(ids, dtype=np.int64)
        present = ids[np.isin(ids, self._ids)]
        if not len(present):
            return
        keep = ~np.isin(self._ids, present)
        self._ids, self._vecs = self._ids[keep], self._vecs[keep]
        self._reindex_rows()
        if self._index is not None and self.device == "cpu":
            self._index.remove_ids(faiss.IDSelectorBatch(present))
        else:
            self._index = None

    def search(self, queries: np.ndarray, k: int, allow: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, ids) per query, ids restricted to ``allow`` when given; -1 pads."""
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        too_many = self.max_k is not None and k > self.max_k  # more than the index can select: exact
        if allow is not None:
            allow = np.unique(np.asarray(allow, dtype=np.int64))
            allow = allow[np.isin(allow, self._ids)]
            if not self.approximate or too_many or len(allow) <= self.selective_fraction * len(self):
                rows = np.array([self._row[i] for i in allow.tolist()], dtype=np.int64)
                return exact_search(self._vecs[rows], self._ids[rows], queries, k)
        if allow is None and (not self.approximate or too_many):
            return exact_search(self._vecs, self._ids, queries, k)
        index = self._ensure_index()
        if allow is None:
            return self._clean(*index.search(queries, k))
        if self.filter_in_faiss:
            params = faiss.SearchParametersIVF(sel=faiss.IDSelectorBatch(allow), nprobe=self.nprobe)
            scores, ids = self._clean(*index.search(queries, k, params=params))
        else:  # over-fetch in proportion to what the list leaves out, then filter
            fetch = min(len(self), int(k * len(self) / max(len(allow), 1) * 2) + k, self.max_k or len(self))
            scores, ids = self._post_filter(*index.search(queries, fetch), allow, k)
        short = (ids[:, :min(k, len(allow))] < 0).any(axis=1)
        if short.any():  # too few allowed hits in the probed lists: exact over the allowed ids
            rows = np.array([self._row[i] for i in allow.tolist()], dtype=np.int64)
            s2, i2 = exact_search(self._vecs[rows], self._ids[rows], queries[short], k)
            scores[short], ids[short] = s2, i2
        return scores, ids

    def _ensure_index(self):
        if self._index is None:
            self._index = self._build()
        return self._index

    def _build(self):
        n = len(self)
        if n < self.exact_threshold:
            index = faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))
            if self.device == "gpu":
                index = faiss.index_cpu_to_gpu(self._gpu_res, 0, index)
        else:  # IVF, trained where it will search (k-means over ten million vectors is minutes on a CPU)
            nlist = max(1, int(4 * np.sqrt(n)))
            if self.device == "gpu":
                index = faiss.GpuIndexIVFFlat(self._gpu_res, self.dim, nlist, faiss.METRIC_INNER_PRODUCT)
            else:
                index = faiss.IndexIVFFlat(faiss.IndexFlatIP(self.dim), self.dim, nlist, faiss.METRIC_INNER_PRODUCT)
            index.train(self._vecs[np.random.default_rng(0).permutation(n)[: nlist * 64]])
            index.nprobe = self.nprobe
        if n:
            index.add_with_ids(self._vecs, self._ids)
        return index

    def _reindex_rows(self) -> None:
        self._row = {int(i): r for r, i in enumerate(self._ids.tolist())}

    @staticmethod
    def _clean(scores: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        scores = scores.astype(np.float32, copy=True)
        scores[ids < 0] = -np.inf
        return scores, ids.astype(np.int64, copy=True)

    @staticmethod
    def _post_filter(scores: np.ndarray, ids: np.ndarray, allow: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        ok = np.isin(ids, allow)
        out_s = np.full((len(ids), k), -np.inf, dtype=np.float32)
        out_i = np.full((len(ids), k), -1, dtype=np.int64)
        for row in range(len(ids)):
            keep_s, keep_i = scores[row][ok[row]][:k], ids[row][ok[row]][:k]
            out_s[row, :len(keep_s)], out_i[row, :len(keep_i)] = keep_s, keep_i
        return out_s, out_i
