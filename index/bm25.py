"""BM25 (Lucene's variant) with bm25s's tokenizer and a Snowball stemmer, filter-exact.

Scores are computed only over the rows an allow mask admits, and the corpus statistics
(number of rows, document frequencies, average length) are taken over those rows alone. So a
principal's scores and ranking are exactly what they would be if the documents it may not read
did not exist: restricted rows neither enter scoring nor shift IDF.
"""

from __future__ import annotations

import bm25s
import numpy as np
from scipy import sparse

from mesh.text import STEMMER

__all__ = ["BM25", "tokenize"]


def tokenize(texts: list[str]) -> list[list[str]]:
    """Lower-cased, stop words removed, stemmed tokens (bm25s tokenizer, Snowball English)."""
    return bm25s.tokenize(texts, stopwords="en", stemmer=STEMMER, return_ids=False, show_progress=False)


class BM25:
    """An immutable BM25 index over texts (rows); ``search`` takes an optional boolean allow mask."""

    def __init__(self, texts: list[str], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        docs = tokenize(texts) if texts else []
        self.vocab: dict[str, int] = {}
        rows, cols, vals = [], [], []
        for r, toks in enumerate(docs):
            counts: dict[int, int] = {}
            for t in toks:
                i = self.vocab.setdefault(t, len(self.vocab))
                counts[i] = counts.get(i, 0) + 1
            rows += [r] * len(counts)
            cols += list(counts)
            vals += list(counts.values())
        self.n = len(docs)
        self.lengths = np.array([len(t) for t in docs], dtype=np.float32)
        self._tf = sparse.csc_matrix((np.array(vals, dtype=np.float32), (rows, cols)),
                                     shape=(self.n, max(len(self.vocab), 1)))

    def search(self, query: str, k: int, allow: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, rows) with a positive score among allowed rows, best first; ties by row."""
        mask = np.ones(self.n, dtype=bool) if allow is None else allow
        n_allowed = int(mask.sum())
        if n_allowed == 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        avgdl = float(self.lengths[mask].mean()) or 1.0
        scores = np.zeros(self.n, dtype=np.float32)
        for term in set(tokenize([query])[0]):
            col = self.vocab.get(term)
            if col is None:
                continue
            start, end = self._tf.indptr[col], self._tf.indptr[col + 1]
            rows, tf = self._tf.indices[start:end], self._tf.data[start:end]
            keep = mask[rows]
            rows, tf = rows[keep], tf[keep]
            if not len(rows):
                continue
            idf = np.log(1 + (n_allowed - len(rows) + 0.5) / (len(rows) + 0.5))
            norm = self.k1 * (1 - self.b + self.b * self.lengths[rows] / avgdl)
            scores[rows] += idf * tf * (self.k1 + 1) / (tf + norm)
        hit = np.flatnonzero(scores > 0)
        if not len(hit):
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        top = hit[np.lexsort((hit, -scores[hit]))][:k]
        return scores[top], top.astype(np.int64)
