"""Exact vector search on PyTorch: the GPU backend where FAISS's GPU build is missing, and its CPU twin.

``TorchShard`` keeps one tenant's vectors resident on a torch device (``cuda`` or ``cpu``) and answers
the ``VectorBackend`` contract of ``index.vectors`` exactly: no index to train, every search a scan.

* Scan copy: on ``cuda`` in half precision (half the memory and bandwidth of float32, and tensor cores),
  on ``cpu`` in float32; ``dtype`` overrides it (the tests run the half-precision logic on a CPU).
* Chunked: rows are scored ``chunk_rows`` at a time and queries ``query_rows`` at a time, so scratch
  memory is bounded (``query_rows * chunk_rows`` scores); each chunk's top ``k + extra`` candidates
  are merged with the running best.
* Exact: the candidates are rescored from a float32 copy and ordered on the host, score descending
  then id ascending, as ``index.vectors.exact_search`` orders them. A query whose candidates cannot
  be shown to hold the true top k (the scan's rounding could have left a better row out, or a tie
  at the cut-off runs past the candidates) is searched again in float32, every row at least as good
  as its k-th candidate collected. Where the scan copy is float32 it is the float32 copy.
* Allow-list: applied before scoring. A short list (at most ``gather_fraction`` of the shard) gathers
  its rows and scans only them; a longer one masks the rest to -inf. Ids outside the list, or not
  held, never come back; duplicates count once; (-inf, -1) pads a row the list leaves short.

The module imports without CUDA and without FAISS: torch is a dependency of the project.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["TorchShard", "cuda_available", "rounding_bound"]


# --- pure helpers --------------------------------------------------------------------------------------

def cuda_available() -> bool:
    return torch.cuda.is_available()


def rounding_bound(dtype: torch.dtype, dim: int) -> float:
    """A bound on |scan score - float32 score| per unit of |q|·|v|: both operands rounded to ``dtype``,
    the product rounded once more, with room for reduced-precision accumulation, plus float32's own sum."""
    unit = torch.finfo(dtype).eps / 2
    return (6 * unit if dtype != torch.float32 else 0.0) + 2 * dim * 2.0 ** -24


def order_rows(scores: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The best ``k`` of each row's candidates: score descending, then id ascending; (-inf, -1) padded."""
    order = np.lexsort((ids, -scores), axis=-1)[:, :k]
    out_s = np.take_along_axis(scores, order, axis=1).astype(np.float32)
    out_i = np.take_along_axis(ids, order, axis=1).astype(np.int64)
    out_i[np.isneginf(out_s)] = -1
    pad = k - out_s.shape[1]
    if pad > 0:
        out_s = np.pad(out_s, ((0, 0), (0, pad)), constant_values=-np.inf)
        out_i = np.pad(out_i, ((0, 0), (0, pad)), constant_values=-1)
    return out_s, out_i


def merge_top(best: tuple[torch.Tensor, torch.Tensor] | None, scores: torch.Tensor, rows: torch.Tensor,
              keep: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``keep`` best (score, row) pairs of a running best and a chunk's candidates."""
    if best is not None:
        scores, rows = torch.cat([best[0], scores], dim=1), torch.cat([best[1], rows], dim=1)
    if scores.shape[1] > keep:
        scores, at = torch.topk(scores, keep, dim=1)
        rows = torch.gather(rows, 1, at)
    return scores, rows


# --- the shard -----------------------------------------------------------------------------------------

class TorchShard:
    """One tenant's vectors on a torch device, searched exactly in chunks (see the module's notes)."""

    approximate = False  # always exact: the contract's "approximate" kind is the same shard

    def __init__(self, dim: int, device: str = "cpu", *, chunk_rows: int | None = None, query_rows: int = 256,
                 dtype: torch.dtype | None = None, gather_fraction: float = 0.25, extra: int = 16) -> None:
        if device.startswith("cuda") and not cuda_available():
            raise RuntimeError(f"device {device!r} asked for, but torch sees no CUDA device: use device 'cpu'")
        self.dim, self.device = dim, torch.device(device)
        on_gpu = self.device.type == "cuda"
        self.dtype = dtype or (torch.float16 if on_gpu else torch.float32)
        self.chunk_rows = chunk_rows or (1 << 19 if on_gpu else 1 << 16)
        self.query_rows, self.gather_fraction, self.extra = query_rows, gather_fraction, extra
        self.backend = f"torch-{self.device.type}" + ("" if self.dtype == torch.float32 else f"-{str(self.dtype)[6:]}")
        self._ids = np.zeros(0, dtype=np.int64)
        self._sorted, self._order = self._ids, self._ids
        self._exact = torch.zeros((0, dim), dtype=torch.float32, device=self.device)
        self._scan = self._exact.to(self.dtype)
        self._max_norm = 0.0

    def __len__(self) -> int:
        return len(self._ids)

    # --- writes --------------------------------------------------------------------------------------------

    def upsert(self, ids: np.ndarray, vectors) -> None:
        """Add vectors (numpy or a torch tensor), replacing any already held under the same ids (the last
        of an id repeated within one call wins)."""
        ids = np.asarray(ids, dtype=np.int64)
        new = torch.as_tensor(vectors).to(self.device, torch.float32).reshape(len(ids), self.dim)
        last = len(ids) - 1 - np.unique(ids[::-1], return_index=True)[1]
        if len(last) < len(ids):
            ids, new = ids[np.sort(last)], new[torch.as_tensor(np.sort(last), device=self.device)]
        self.remove(ids)
        if len(new):
            self._max_norm = max(self._max_norm, float(new.norm(dim=1).max()))
        self._exact = torch.cat([self._exact, new])
        self._scan = self._exact if self.dtype == torch.float32 else torch.cat([self._scan, new.to(self.dtype)])
        self._set_ids(np.concatenate([self._ids, ids]))

    def remove(self, ids: np.ndarray) -> None:
        keep = ~np.isin(self._ids, np.asarray(ids, dtype=np.int64))
        if keep.all():
            return
        at = torch.as_tensor(np.flatnonzero(keep), device=self.device)
        self._exact = self._exact.index_select(0, at)
        self._scan = self._exact if self.dtype == torch.float32 else self._scan.index_select(0, at)
        self._set_ids(self._ids[keep])

    def _set_ids(self, ids: np.ndarray) -> None:
        self._ids = ids
        self._order = np.argsort(ids, kind="stable")
        self._sorted = ids[self._order]

    def rows_of(self, ids: np.ndarray) -> np.ndarray:
        """The rows of those of ``ids`` the shard holds, each once, ascending."""
        ids = np.unique(np.asarray(ids, dtype=np.int64))
        at = np.searchsorted(self._sorted, ids).clip(max=max(len(self._sorted) - 1, 0))
        held = (self._sorted[at] == ids) if len(self._sorted) else np.zeros(len(ids), dtype=bool)
        return np.sort(self._order[at[held]])

    # --- search --------------------------------------------------------------------------------------------

    def search(self, queries, k: int, allow: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores float32, ids int64) per query, ids restricted to ``allow`` when given; (-inf, -1) pads."""
        q = torch.as_tensor(np.atleast_2d(np.asarray(queries, dtype=np.float32))).to(self.device)
        scope, mask = None, None  # all rows; or the rows of a short list; or a mask of a long one
        if allow is not None:
            rows = self.rows_of(allow)
            if len(rows) <= self.gather_fraction * len(self):
                scope = torch.as_tensor(rows, device=self.device)
            else:
                mask = torch.zeros(len(self), dtype=torch.bool, device=self.device)
                mask[torch.as_tensor(rows, device=self.device)] = True
        held = len(self) if scope is None else len(scope)
        if held == 0 or k <= 0 or len(q) == 0:
            return order_rows(np.full((len(q), 0), -np.inf, np.float32), np.zeros((len(q), 0), np.int64), max(k, 0))
        parts = [self._search_batch(q[s:s + self.query_rows], k, scope, mask) for s in range(0, len(q), self.query_rows)]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    def _search_batch(self, q: torch.Tensor, k: int, scope, mask) -> tuple[np.ndarray, np.ndarray]:
        keep = k + self.extra
        scan = self._scan if scope is None else self._scan.index_select(0, scope)
        coarse, rows = self._scan_top(scan, q.to(self.dtype), keep, mask)
        if scope is not None:
            rows = torch.where(rows >= 0, scope[rows.clamp(min=0)], rows)
        exact = self._rescore(q, rows)
        exact_np, rows_np = exact.cpu().numpy(), rows.cpu().numpy()
        coarse_np = coarse.float().cpu().numpy()
        ids_np = np.where(rows_np >= 0, self._ids[rows_np.clip(min=0)], -1)
        scores, ids = order_rows(exact_np, ids_np, k)
        slack = rounding_bound(self.dtype, self.dim) * q.norm(dim=1).cpu().numpy() * self._max_norm
        for j in np.flatnonzero(~self._certain(scores[:, k - 1], coarse_np, slack)):
            scores[j], ids[j] = self._search_all(q[j], k, scores[j, k - 1], slack[j], scope, mask)
        return scores, ids

    def _scan_top(self, scan: torch.Tensor, q: torch.Tensor, keep: int, mask) -> tuple[torch.Tensor, torch.Tensor]:
        """Each query's ``keep`` best rows of ``scan`` by the scan's own scores, chunk by chunk; (-inf, -1) pads."""
        best = None
        for start in range(0, len(scan), self.chunk_rows):
            sims = q @ scan[start:start + self.chunk_rows].T
            if mask is not None:
                sims.masked_fill_(~mask[start:start + sims.shape[1]], float("-inf"))
            top, at = torch.topk(sims, min(keep, sims.shape[1]), dim=1)
            best = merge_top(best, top, at + start, keep)
        scores, rows = best
        return scores, torch.where(torch.isneginf(scores), torch.full_like(rows, -1), rows)

    def _rescore(self, q: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """float32 scores of each query against its candidate rows (-inf where a row is -1), all computed alike."""
        got = self._exact[rows.clamp(min=0)]                      # (queries, candidates, dim)
        scores = torch.bmm(got, q.float().unsqueeze(2)).squeeze(2)
        return scores.masked_fill(rows < 0, float("-inf"))

    @staticmethod
    def _certain(kth: np.ndarray, coarse: np.ndarray, slack: np.ndarray) -> np.ndarray:
        """Per query: could no row outside the candidates reach the k-th score? True where the scan returned
        fewer candidates than it kept (it saw every row), or the k-th beats the last candidate's bound."""
        last = coarse[:, -1]
        return np.isneginf(last) | (kth > last + slack)

    def _search_all(self, q: torch.Tensor, k: int, floor: float, slack: float, scope, mask):
        """One query in float32 over every row in scope: each row within ``slack`` of ``floor`` (a score
        reached by k rows) is a candidate, then rescored and ordered like the rest."""
        exact = self._exact if scope is None else self._exact.index_select(0, scope)
        found = []
        for start in range(0, len(exact), self.chunk_rows):
            sims = exact[start:start + self.chunk_rows] @ q.float()
            if mask is not None:
                sims.masked_fill_(~mask[start:start + len(sims)], float("-inf"))
            found.append(torch.nonzero(sims >= floor - 2 * slack).flatten() + start)
        rows = torch.cat(found)
        if scope is not None:
            rows = scope[rows]
        scores = self._rescore(q[None], rows[None]).cpu().numpy()
        ids = self._ids[rows.cpu().numpy()][None]
        s, i = order_rows(scores, ids, k)
        return s[0], i[0]
