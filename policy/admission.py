"""Whether a submitted task is accepted, and the typed reason when it is not."""

from __future__ import annotations

from mesh.errors import SemanticError
from mesh.llm.output_format import schema_error
from mesh.text import question_flaw
from schemas.models import TaskSubmitted

__all__ = ["admit"]


def admit(task: TaskSubmitted, *, max_question_chars: int, now_ms: int) -> None:
    """Raise ``SemanticError`` if the task must be refused; return quietly if it is accepted.

    The question must be as ``mesh.text.normalize_question`` leaves it (``Client`` normalises before
    sending): a control, line-break or direction character is refused, not silently removed, so what is
    answered, audited and hashed is what the client sent; a question without a word is refused too."""
    if task.principal.tenant_id != task.envelope.tenant_id:
        raise SemanticError(f"principal of tenant {task.principal.tenant_id!r} cannot submit for tenant "
                            f"{task.envelope.tenant_id!r}", code="tenant_mismatch")
    if not task.question.strip():
        raise SemanticError("the question is blank: ask something", code="empty_question")
    flaw = question_flaw(task.question)
    if flaw is not None:
        raise SemanticError(flaw[1], code=flaw[0])
    if len(task.question) > max_question_chars:
        raise SemanticError(f"the question has {len(task.question)} characters, more than the limit of "
                            f"{max_question_chars}: shorten it or raise SWITCHBOARD_MAX_QUESTION_CHARS",
                            code="question_too_long")
    if task.deadline_ms is not None and task.deadline_ms <= now_ms:
        raise SemanticError("the task's deadline passed before it was planned", code="deadline_passed")
    if task.output_schema is not None:
        problem = schema_error(task.output_schema)
        if problem:
            raise SemanticError(f"{problem}: send a JSON Schema (draft 2020-12 or one it names in $schema)",
                                code="bad_output_schema")
