"""The validator: checks an answer before anyone sees it.

In:  ``steps.validate`` (ValidateStep).
Out: ``steps.done`` (StepDone: passed, no_answer, or failed with the reasons).

Checks: the answer is not empty; it was not cut off; every citation points at a passage that
was retrieved for this step; a no-context answer cites nothing.
"""

from __future__ import annotations

from mesh.app import AgentContext, AgentSpec
from mesh.envelope import child_envelope
from mesh.runtime import Emit, Route
from schemas.models import StepDone, StepStatus, ValidateStep

__all__ = ["spec", "problems", "verdict"]


def problems(step: ValidateStep) -> list[str]:
    """Everything wrong with the answer; empty when it passes."""
    found = []
    if not step.answer.strip():
        found.append("empty_answer: the model returned no text")
    if step.finish_reason == "length":
        found.append("truncated: the model stopped at its token limit")
    retrieved = {(p.doc_id, p.passage_id) for p in step.passages}
    for c in step.citations:
        if (c.doc_id, c.passage_id) not in retrieved:
            found.append(f"bad_citation: {c.doc_id} ({c.passage_id}) was not retrieved for this step")
    if step.finish_reason != "no_context" and not step.citations:
        found.append("uncited: the answer cites no retrieved document")
    if step.finish_reason == "no_context" and step.citations:
        found.append("bad_citation: a no-context answer must not cite")
    return found


def verdict(step: ValidateStep) -> StepDone:
    found = problems(step)
    status = StepStatus.failed if found else (StepStatus.no_answer if step.finish_reason == "no_context"
                                              else StepStatus.passed)
    return StepDone(envelope=child_envelope(step.envelope, "done"), status=status, answer=step.answer,
                    citations=step.citations if not found else [], usage=step.usage, reasons=found)


def routes(ctx: AgentContext) -> list[Route]:
    async def handle(step: ValidateStep) -> list[Emit]:
        return [Emit("steps.done", verdict(step))]

    return [Route("steps.validate", handle)]


spec = AgentSpec("validator", routes)
