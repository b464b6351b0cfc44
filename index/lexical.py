"""BM25 over passages, in memory, with an access filter applied before scoring.

Pure: built from documents, searched with a predicate that says which documents may be
scored. Passages of documents the predicate refuses are never scored, so neither scores nor
ranks can reveal them. Ties break by passage id, so results are reproducible.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from mesh.text import passages, terms

__all__ = ["Doc", "LexicalIndex"]


@dataclass(frozen=True)
class Doc:
    doc_id: str
    title: str
    text: str
    meta: object = None  # carried through for the filter (access attributes)


@dataclass(frozen=True)
class _Passage:
    passage_id: str
    doc: Doc
    text: str
    length: int


class LexicalIndex:
    """Okapi BM25 (k1, b) over sentence-aligned passages; the title counts in every passage."""

    def __init__(self, docs: Iterable[Doc], k1: float = 1.2, b: float = 0.75, max_words: int = 120) -> None:
        self.k1, self.b = k1, b
        self._passages: list[_Passage] = []
        self._docs: list[Doc] = []
        self._postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for doc in docs:
            self._docs.append(doc)
            for i, chunk in enumerate(passages(doc.text, max_words) or [""]):
                words = terms(f"{doc.title} {chunk}")
                pid = len(self._passages)
                self._passages.append(_Passage(f"{doc.doc_id}#{i}", doc, chunk, len(words)))
                for term, tf in Counter(words).items():
                    self._postings[term].append((pid, tf))
        total = sum(p.length for p in self._passages)
        self._avg_len = total / len(self._passages) if self._passages else 0.0

    def __len__(self) -> int:
        return len(self._passages)

    def search(self, query: str, k: int, allowed: Callable[[Doc], bool]) -> tuple[list[tuple[float, _Passage]], int]:
        """Top ``k`` passages for ``query`` among documents ``allowed`` accepts, and how many documents it accepted."""
        n = len(self._passages)
        verdict: dict[str, bool] = {}

        def ok(doc: Doc) -> bool:
            if doc.doc_id not in verdict:
                verdict[doc.doc_id] = allowed(doc)
            return verdict[doc.doc_id]

        scores: dict[int, float] = defaultdict(float)
        for term in set(terms(query)):
            postings = self._postings.get(term, ())
            if not postings:
                continue
            idf = math.log(1 + (n - len(postings) + 0.5) / (len(postings) + 0.5))
            for pid, tf in postings:
                p = self._passages[pid]
                if not ok(p.doc):
                    continue
                norm = self.k1 * (1 - self.b + self.b * p.length / (self._avg_len or 1))
                scores[pid] += idf * tf * (self.k1 + 1) / (tf + norm)
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], self._passages[kv[0]].passage_id))[:k]
        searched = sum(1 for d in self._docs if ok(d))
        return [(score, self._passages[pid]) for pid, score in ranked], searched
