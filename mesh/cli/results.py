"""How `ask` and `demo` show a task's result: one JSON object, or text for a terminal.

The answer, the citations' titles and the rejection's message carry text of documents and models,
which anyone who can ingest a document or prompt a model writes. Text output goes through
``mesh.text.for_terminal`` (no escape sequences, no controls but newline and tab); JSON output keeps
every character, its escaping (``\\u001b``) being enough to keep them off a terminal.
"""

from __future__ import annotations

from mesh.text import for_terminal

__all__ = ["result_json", "print_result"]


def result_json(result) -> dict:
    """The result as `ask --json` prints it: every field, every character."""
    return {
        "task_id": result.envelope.task_id,
        "status": result.status.value,
        "answer": result.answer,
        "citations": [c.model_dump() for c in result.citations],
        "usage": [u.model_dump() for u in result.usage],
        "rejection": result.rejection.model_dump(mode="json") if result.rejection else None,
        "degraded": result.degraded,
        "unfinished": result.unfinished,
    }


def print_result(result, question: str | None = None) -> None:
    """The result for a terminal: the answer, its citations, any note, and a summary line."""
    lines = [f"Q: {question}"] if question else []
    if result.rejection:
        lines.append(f"{result.status.value}: {result.rejection.message} ({result.rejection.code})")
        if result.answer:
            lines.append(result.answer)
    else:
        lines.append(result.answer)
        lines += [f"  [{i}] {c.doc_id}  {c.title}" for i, c in enumerate(result.citations, 1)]
    if result.degraded:
        lines.append(f"  note: {result.degraded}")
    tokens = sum(u.prompt_tokens + u.completion_tokens for u in result.usage)
    lines.append(f"  task {result.envelope.task_id} · {result.status.value} · {tokens} tokens")
    print(for_terminal("\n".join(lines)))
