"""Prompt assembly, outside any model: instructions, the numbered context, the question.

The prompt's size is counted here, before any call, so a step that cannot fit any capable
endpoint is refused instead of truncated. A model cites passages by their number in the
context (``[2]``); ``cite`` turns those into the answer's own citation list, numbered in order
of first use, the convention every answer in the mesh follows.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

from mesh.text import count_tokens
from schemas.models import Citation, Passage

__all__ = ["Prompt", "assemble", "plan_prompt", "cite", "MESSAGE_OVERHEAD"]

MESSAGE_OVERHEAD = 4  # tokens a chat template adds around each message
_MARKER = re.compile(r"\[(\d+)\]")

_ANSWER = ("Answer the question using only the numbered context passages. After every sentence, cite the "
           "passage that supports it by its number in square brackets, like [1]. Do not use outside knowledge. "
           "If the passages do not answer the question, say that you found no answer, without citations.")
_JSON = ("Answer the question using only the numbered context passages. Reply with one JSON value and nothing "
         "else; it must validate against this JSON Schema:\n{schema}\nWhere a string states a fact from a "
         "passage, end it with the passage number in square brackets, like [1].")
_PLAN = ("Split the user's question into at most {n} self-contained sub-questions that can each be answered "
         "from documents on their own. Reply with JSON only: {{\"steps\": [{{\"id\": \"p1\", \"question\": "
         "\"...\", \"after\": []}}]}}. \"after\" lists ids that must be answered first; use it only when a "
         "sub-question needs another's answer. A question that needs no splitting is one step.")


@dataclass(frozen=True)
class Prompt:
    messages: list[dict]
    tokens: int

    @property
    def sha256(self) -> str:
        """The hash of exactly what the model is sent (audit records and recorded answers name it)."""
        return hashlib.sha256(json.dumps(self.messages, sort_keys=True).encode()).hexdigest()


def _prompt(system: str, user: str) -> Prompt:
    messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    return Prompt(messages, sum(count_tokens(m["content"]) + MESSAGE_OVERHEAD for m in messages))


def assemble(question: str, passages: list[Passage], *, output_schema: str | None = None,
             feedback: list[str] | tuple[str, ...] = ()) -> Prompt:
    """The chat messages for answering ``question`` from ``passages``, and their token count."""
    system = _JSON.format(schema=output_schema) if output_schema else _ANSWER
    context = "\n\n".join(f"[{i}] {p.title + ': ' if p.title else ''}{p.text}" for i, p in enumerate(passages, 1))
    user = f"Context:\n{context or '(no passages)'}\n\nQuestion: {question}"
    if feedback:
        user += "\n\nA previous answer was rejected: " + "; ".join(feedback) + ". Correct this."
    return _prompt(system, user)


def plan_prompt(question: str, max_parts: int) -> Prompt:
    return _prompt(_PLAN.format(n=max_parts), question)


def cite(text: str, passages: list[Passage]) -> tuple[str, list[Citation]]:
    """Renumber context markers into citation order; a marker naming no passage is left out of the
    citations and renumbered past them, so validation reports it."""
    order: list[int] = []
    for m in _MARKER.finditer(text):
        n = int(m.group(1))
        if n not in order:
            order.append(n)
    valid = [n for n in order if 1 <= n <= len(passages)]
    invalid = [n for n in order if n not in valid]
    number = {n: i for i, n in enumerate(valid + invalid, 1)}
    citations = [Citation(doc_id=passages[n - 1].doc_id, passage_id=passages[n - 1].passage_id,
                          title=passages[n - 1].title) for n in valid]
    return _MARKER.sub(lambda m: f"[{number[int(m.group(1))]}]", text), citations
