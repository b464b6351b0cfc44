"""Fusing ranked lists: reciprocal rank fusion and a convex combination of normalised scores.

Pure functions over (id, score) lists, best first. Ties break by id, so fusion is deterministic.
"""

from __future__ import annotations

__all__ = ["rrf", "convex"]


def rrf(rankings: list[list[tuple[str, float]]], k: float = 60.0) -> list[tuple[str, float]]:
    """Reciprocal rank fusion: score(d) = sum over lists of 1 / (k + rank of d), rank from 1."""
    fused: dict[str, float] = {}
    for ranking in rankings:
        for rank, (doc, _) in enumerate(ranking, 1):
            fused[doc] = fused.get(doc, 0.0) + 1.0 / (k + rank)
    return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))


def _minmax(ranking: list[tuple[str, float]]) -> dict[str, float]:
    if not ranking:
        return {}
    scores = [s for _, s in ranking]
    lo, hi = min(scores), max(scores)
    return {d: (s - lo) / (hi - lo) if hi > lo else 1.0 for d, s in ranking}


def convex(lexical: list[tuple[str, float]], dense: list[tuple[str, float]], alpha: float = 0.5) -> list[tuple[str, float]]:
    """alpha · dense + (1 − alpha) · lexical, each min-max normalised; absent counts as 0."""
    lx, dn = _minmax(lexical), _minmax(dense)
    fused = {d: alpha * dn.get(d, 0.0) + (1 - alpha) * lx.get(d, 0.0) for d in set(lx) | set(dn)}
    return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))
