"""The built-in extractive model: answers with sentences from the retrieved passages.

It never invents text: every sentence of an answer is copied from a passage and carries a
numbered citation to its document. Sentences match the question on stemmed terms, as BM25
does. With no sentence that shares enough of the question's terms, it says it found nothing,
rather than guessing. Deterministic: ties break by passage rank, then by position.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mesh.text import count_tokens, sentences, stems
from schemas.models import Citation, Passage, Usage

__all__ = ["MODEL_NAME", "NO_ANSWER", "Answer", "answer"]

MODEL_NAME = "builtin-extractive"
NO_ANSWER = "I found no documents you are allowed to read that answer this question."


@dataclass(frozen=True)
class Answer:
    text: str
    citations: list[Citation]
    finish_reason: str
    usage: Usage


def answer(question: str, passages: list[Passage], max_sentences: int = 2, min_relative: float = 0.6,
           min_coverage: float = 1 / 3) -> Answer:
    """Pick the sentences that best cover the question's terms, one per passage at most.

    A sentence must share at least ``min_coverage`` of the question's distinct terms: one word in
    common with a four-term question ("salary band for a staff engineer" against "new engineers get
    laptops") is a coincidence, not an answer."""
    wanted = set(stems(question))
    prompt_tokens = count_tokens(question) + sum(count_tokens(p.text) for p in passages)
    scored: list[tuple[float, int, int, str, Passage]] = []
    for rank, passage in enumerate(passages):
        for pos, sent in enumerate(sentences(passage.text)):
            words = stems(sent)
            hits = wanted & set(words)
            if hits and len(hits) >= min_coverage * len(wanted):
                score = len(hits) / math.sqrt(max(len(words), 1)) + 0.1 / (rank + 1)
                scored.append((-score, rank, pos, sent, passage))
    scored.sort(key=lambda s: s[:3])
    chosen, used, said = [], set(), set()
    for neg_score, rank, _, sent, passage in scored:
        if neg_score > min_relative * scored[0][0]:
            break  # much weaker than the best sentence: leave it out rather than pad the answer
        if passage.passage_id not in used and sent not in said:  # overlapping passages share sentences
            chosen.append((sent, passage))
            used.add(passage.passage_id)
            said.add(sent)
        if len(chosen) == max_sentences:
            break
    if not chosen:
        return Answer(NO_ANSWER, [], "no_context", Usage(model=MODEL_NAME, prompt_tokens=prompt_tokens,
                                                             completion_tokens=count_tokens(NO_ANSWER)))
    citations, parts = [], []
    for sent, passage in chosen:
        cite = Citation(doc_id=passage.doc_id, passage_id=passage.passage_id, title=passage.title)
        if cite not in citations:
            citations.append(cite)
        parts.append(f"{sent} [{citations.index(cite) + 1}]")
    text = " ".join(parts)
    return Answer(text, citations, "stop", Usage(model=MODEL_NAME, prompt_tokens=prompt_tokens,
                                                 completion_tokens=count_tokens(text)))
