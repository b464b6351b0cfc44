"""The executor: answers a step from its context with a model, and accounts for the tokens.

In:  ``steps.execute`` (ExecuteStep).
Out: ``steps.validate`` (ValidateStep), ``usage.tokens`` (TokenUsage, keyed by tenant).

The model today is the built-in extractive one (sentences from the passages, each cited);
routing among OpenAI-compatible endpoints comes with the execution-control work.
"""

from __future__ import annotations

from mesh import extractive
from mesh.app import AgentContext, AgentSpec
from mesh.envelope import child_envelope
from mesh.runtime import Emit, Route
from schemas.models import ExecuteStep, TokenUsage, ValidateStep

__all__ = ["spec", "execute"]


def execute(step: ExecuteStep) -> list[Emit]:
    """Answer ``step`` with the built-in model; pure."""
    out = extractive.answer(step.question, step.passages)
    validate = ValidateStep(envelope=child_envelope(step.envelope, "validate"), question=step.question,
                            principal=step.principal, passages=step.passages, answer=out.text,
                            citations=out.citations, finish_reason=out.finish_reason, usage=out.usage)
    usage = TokenUsage(envelope=child_envelope(step.envelope, "usage"), user_id=step.principal.user_id,
                       endpoint=extractive.MODEL_NAME, usage=out.usage, cost_usd=0.0)
    return [Emit("steps.validate", validate), Emit("usage.tokens", usage, key=step.envelope.tenant_id)]


def routes(ctx: AgentContext) -> list[Route]:
    async def handle(step: ExecuteStep) -> list[Emit]:
        return execute(step)

    return [Route("steps.execute", handle)]


spec = AgentSpec("executor", routes)
