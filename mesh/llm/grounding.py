"""Is each sentence of an answer supported by the passages it cites? Pure, given a similarity.

A sentence is supported when the passages it cites (its ``[n]`` markers; a sentence with no
marker is held to every passage the answer cites) contain it lexically — at least
``min_overlap`` of its meaningful terms appear in one of them — or semantically: the cosine of
its embedding and that of the passage, or of one of the passage's sentences, reaches
``min_similarity``. A marker that names no citation, or a citation of a passage that was not
retrieved for the step, fails on its own (``citation_problems``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mesh.text import sentences, terms
from schemas.models import Citation, Passage

__all__ = ["Claim", "claims", "citation_problems", "check", "keep_supported"]

_MARKER = re.compile(r"\s*\[(\d+)\]")
_CLAIM = re.compile(r"\s*(?P<body>.+?(?:[.!?](?=\s|\[|$)|$))(?P<marks>(?:\s*\[\d+\])*)", re.S)

#: texts -> unit-length embeddings, one row per text
Embed = Callable[[list[str]], np.ndarray]


@dataclass(frozen=True)
class Claim:
    text: str  # the sentence without its markers
    markers: tuple[int, ...]
    supported: bool = True
    why: str = ""


def claims(answer: str) -> list[Claim]:
    """The sentences of ``answer`` with the citation numbers each carries."""
    out = []
    for m in _CLAIM.finditer(answer.strip()):
        whole = m.group("body") + m.group("marks")
        text = _MARKER.sub("", whole).strip()
        if text and re.search(r"\w", text):
            out.append(Claim(text, tuple(int(n) for n in _MARKER.findall(whole))))
    return out


def citation_problems(answer: str, citations: list[Citation], passages: list[Passage]) -> list[str]:
    """Markers that name no citation, and citations of passages not retrieved for this step."""
    found = []
    retrieved = {(p.doc_id, p.passage_id) for p in passages}
    for c in citations:
        if (c.doc_id, c.passage_id) not in retrieved:
            found.append(f"bad_citation: {c.doc_id} ({c.passage_id}) was not retrieved for this step")
    for n in sorted({int(n) for n in _MARKER.findall(answer)}):
        if not 1 <= n <= len(citations):
            found.append(f"bad_citation: [{n}] names no retrieved passage")
    return found


def _overlap(sentence: str, passage: str) -> float:
    wanted = set(terms(sentence))
    return len(wanted & set(terms(passage))) / len(wanted) if wanted else 1.0


def check(answer: str, citations: list[Citation], passages: list[Passage], embed: Embed | None, *,
          min_similarity: float, min_overlap: float) -> list[Claim]:
    """Every claim of ``answer``, each marked supported or not, with the reason."""
    by_id = {p.passage_id: p.text for p in passages}
    cited_all = [by_id[c.passage_id] for c in citations if c.passage_id in by_id]
    results, pending = [], []
    for claim in claims(answer):
        own = [by_id.get(citations[n - 1].passage_id) for n in claim.markers if 1 <= n <= len(citations)]
        texts = [t for t in own if t] if claim.markers else cited_all
        if not texts:
            results.append(Claim(claim.text, claim.markers, False, "cites no retrieved passage"))
        elif max(_overlap(claim.text, t) for t in texts) >= min_overlap:
            results.append(claim)
        else:
            results.append(claim)
            pending.append((len(results) - 1, texts))
    if pending and embed is None:
        for i, _ in pending:
            c = results[i]
            results[i] = Claim(c.text, c.markers, False, "its terms are not in the cited passages")
    elif pending:
        _semantic(results, pending, embed, min_similarity)
    return results


def _semantic(results: list[Claim], pending: list[tuple[int, list[str]]], embed: Embed, threshold: float) -> None:
    pieces: list[str] = []
    spans = []
    for i, texts in pending:
        start = len(pieces)
        pieces.append(results[i].text)
        for t in texts:
            pieces.append(t)
            pieces.extend(sentences(t))
        spans.append((i, start, len(pieces)))
    vectors = embed(pieces)
    for i, start, end in spans:
        best = float(np.max(vectors[start + 1:end] @ vectors[start]))
        if best < threshold:
            c = results[i]
            results[i] = Claim(c.text, c.markers, False, f"the cited passages do not support it "
                               f"(similarity {best:.2f} < {threshold:.2f})")


def keep_supported(checked: list[Claim], citations: list[Citation]) -> tuple[str, list[Citation]]:
    """The supported claims only, as an answer with its citations renumbered."""
    kept: list[Citation] = []
    parts = []
    for c in checked:
        if not c.supported:
            continue
        marks = []
        for n in c.markers:
            if 1 <= n <= len(citations):
                cit = citations[n - 1]
                if cit not in kept:
                    kept.append(cit)
                marks.append(f"[{kept.index(cit) + 1}]")
        parts.append(c.text + (" " + "".join(marks) if marks else ""))
    return " ".join(parts), kept
