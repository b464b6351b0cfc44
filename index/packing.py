"""Packing retrieved passages into a token budget: best first, duplicates dropped, each cited."""

from __future__ import annotations

from collections.abc import Iterable

from mesh.text import count_tokens
from schemas.models import Passage

__all__ = ["pack"]


def pack(ranked: Iterable[Passage], budget_tokens: int, max_passages: int) -> list[Passage]:
    """The longest prefix of ``ranked`` (skipping repeats and passages that would overflow) within budget; ``ranked``
    is read only as far as that prefix goes."""
    out: list[Passage] = []
    seen_text: set[str] = set()
    used = 0
    for p in ranked:
        if len(out) == max_passages:
            break
        key = " ".join(p.text.split()).lower()
        if key in seen_text:
            continue
        cost = count_tokens(p.text) + count_tokens(p.title) + 8  # marker and separators
        if used + cost > budget_tokens:
            continue
        seen_text.add(key)
        out.append(p)
        used += cost
    return out
