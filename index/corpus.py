"""A tenant's documents split into passages, as both searches see them.

The retriever (BM25) and the index agent (dense vectors) build the same passages from the same
document store, so a passage id means the same text on both sides. Passages are sentence-aligned,
overlap by a sentence, and stay under the encoder's length, so nothing of a long document is lost.
A document's score is the best score of its passages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mesh.errors import DeterministicError
from mesh.text import passages as split_passages
from schemas.models import AccessAttributes, AccessFilter, DocumentIngest

__all__ = ["StoredDoc", "PassageRow", "Corpus", "best_per_doc", "check_tenants", "doc_passages", "PASSAGE_WORDS"]

#: words per passage: about 160 word pieces, inside all-MiniLM-L6-v2's 256
PASSAGE_WORDS = 120


@dataclass(frozen=True)
class StoredDoc:
    doc_id: str
    title: str
    text: str
    access: AccessAttributes


@dataclass(frozen=True)
class PassageRow:
    doc_id: str
    number: int
    title: str
    text: str

    @property
    def passage_id(self) -> str:
        return f"{self.doc_id}#{self.number}"

    @property
    def searchable(self) -> str:
        """What both searches index: the title in front of every passage of its document."""
        return f"{self.title}. {self.text}" if self.title else self.text


def check_tenants(docs: list[DocumentIngest]) -> None:
    """``DeterministicError`` for the first document whose access tenant is not its envelope's."""
    for doc in docs:
        if doc.access.tenant_id != doc.envelope.tenant_id:
            raise DeterministicError(f"document {doc.doc_id} is for tenant {doc.access.tenant_id!r} but was "
                                     f"sent for tenant {doc.envelope.tenant_id!r}", code="tenant_mismatch")


def doc_passages(doc: StoredDoc) -> list[PassageRow]:
    chunks = split_passages(doc.text, PASSAGE_WORDS) or [doc.text]
    return [PassageRow(doc.doc_id, i, doc.title, c) for i, c in enumerate(chunks)]


class Corpus:
    """One tenant's documents at one store version, with passage rows and per-document row lists."""

    def __init__(self, version: int, docs: list[StoredDoc], tenant: str = "") -> None:
        self.version, self.tenant = version, tenant
        self.docs = {d.doc_id: d for d in docs}
        self.rows: list[PassageRow] = []
        self.doc_of_row: list[str] = []
        self.rows_of_doc: dict[str, np.ndarray] = {}
        for doc in docs:
            first = len(self.rows)
            self.rows += doc_passages(doc)
            self.rows_of_doc[doc.doc_id] = np.arange(first, len(self.rows), dtype=np.int64)
        self.doc_of_row = [r.doc_id for r in self.rows]
        self.row_of_passage = {r.passage_id: i for i, r in enumerate(self.rows)}
        self._allowed: dict[tuple, tuple[list[str], np.ndarray]] = {}

    def allowed_docs(self, flt: AccessFilter) -> list[str]:
        """The documents ``flt`` permits: the allow-list both searches run under (memoised per filter)."""
        return self._allowed_for(flt)[0]

    def allowed_mask(self, flt: AccessFilter) -> np.ndarray:
        """The passage rows of the documents ``flt`` permits."""
        return self._allowed_for(flt)[1]

    def _allowed_for(self, flt: AccessFilter) -> tuple[list[str], np.ndarray]:
        key = (flt.tenant_id, tuple(sorted(flt.groups)), flt.clearance)
        return self.allowed_by(key, lambda: [d.doc_id for d in self.docs.values() if flt.permits(d.access)])

    def allowed_by(self, key: tuple, decide: Callable[[], list[str]]) -> tuple[list[str], np.ndarray]:
        """The allow-list ``decide`` gives (and its passage rows), memoised under ``key`` for this version."""
        if key not in self._allowed:
            if len(self._allowed) > 256:
                self._allowed.clear()
            docs = decide()
            self._allowed[key] = (docs, self.row_mask(docs))
        return self._allowed[key]

    def row_mask(self, doc_ids: list[str] | None) -> np.ndarray:
        mask = np.zeros(len(self.rows), dtype=bool)
        if doc_ids is None:
            mask[:] = True
        else:
            for d in doc_ids:
                if d in self.rows_of_doc:
                    mask[self.rows_of_doc[d]] = True
        return mask


def best_per_doc(scores: np.ndarray, rows: np.ndarray, doc_of_row: list[str], k: int) -> list[tuple[str, int, float]]:
    """(doc id, best row, score) of the ``k`` best documents, from passage hits sorted best first."""
    out, seen = [], set()
    for score, row in zip(scores.tolist(), rows.tolist()):
        if row < 0:
            continue
        doc = doc_of_row[row]
        if doc not in seen:
            seen.add(doc)
            out.append((doc, row, score))
            if len(out) == k:
                break
    return out
