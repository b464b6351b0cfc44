"""The validator: checks an answer before anyone sees it.

In:  ``steps.validate`` (ValidateStep).
Out: ``steps.done`` (StepDone), or ``steps.execute`` (ExecuteStep) for another attempt.

Checks, in order: the answer is not empty; it was not cut off at the token limit; a task with a
JSON Schema gets JSON that validates; every citation marker names a passage retrieved for this
step; every sentence is supported by the passages it cites (lexically, or by embedding
similarity with the encoder the index uses). A failed check sends the step back to the
executor with the reasons, avoiding the endpoint that wrote it (and with twice the room when
it was cut off), up to ``validation_attempts`` executions. After that a prose answer is
degraded, never passed silently: the supported sentences stay, and the answer says what could
not be verified; a structured answer fails with the reasons (a typed failure for the client).

Every verdict also counts toward the answering endpoint's validation pass rate
(``mesh.llm.route_stats``): an endpoint that answers fast but badly is routed around by every
executor replica. A degradation from earlier in the step (BM25 only, a fallback model) stays on
the result.
"""

from __future__ import annotations

import asyncio
import re

import numpy as np

from mesh.llm.grounding import Claim, Embed, check, citation_problems, keep_supported
from mesh.llm.output_format import format_problems
from mesh.llm.route_stats import RouteStats
from mesh.observe.logs import get_logger
from mesh.observe.tracing import tracer
from mesh.runtime.processor import Emit, Route
from mesh.runtime.spec import AgentContext, AgentSpec, Parts
from mesh.settings import Settings
from mesh.wire.envelope import child_envelope
from schemas.models import ExecuteStep, StepDone, StepStatus, ValidateStep

__all__ = ["spec", "problems", "says_no_answer", "next_attempt", "verdict"]

log = get_logger("switchboard.validator")
_tracer = tracer("switchboard.validator")

_NO_ANSWER = re.compile(r"\b(found no (documents?|answer|information)|no (relevant )?(documents?|passages?|context) "
                        r"(you are allowed to read )?(answers?|contains?|mentions?)|do(es)? not (contain|answer|"
                        r"mention)|cannot answer|can't answer)\b", re.I)


def says_no_answer(step: ValidateStep) -> bool:
    """An honest "nothing answers this": the built-in model's no-context finish, or an uncited refusal."""
    if step.finish_reason == "no_context":
        return True
    return not step.citations and not re.search(r"\[\d+\]", step.answer) and bool(_NO_ANSWER.search(step.answer))


def problems(step: ValidateStep, embed: Embed | None, settings: Settings) -> tuple[list[str], list[Claim]]:
    """Everything wrong with the answer (empty when it passes), and its checked claims (prose only)."""
    if not step.answer.strip():
        return ["empty_answer: the model returned no text"], []
    found = []
    if step.finish_reason == "length":
        found.append(f"truncated: the model stopped at its token limit ({step.max_tokens or 'default'})")
    if says_no_answer(step):
        return found + (["bad_citation: a no-answer must not cite"] if step.citations else []), []
    if step.output_schema:
        found += format_problems(step.answer, step.output_schema)
    found += citation_problems(step.answer, step.citations, step.passages)
    if not step.citations:
        found.append("uncited: the answer cites no retrieved passage")
    checked: list[Claim] = []
    if not step.output_schema and step.citations:
        checked = check(step.answer, step.citations, step.passages, embed,
                        min_similarity=settings.grounding_similarity, min_overlap=settings.grounding_overlap)
        found += [f"ungrounded: {c.text[:80]!r} {c.why}" for c in checked if not c.supported]
    return found, checked


def next_attempt(step: ValidateStep, found: list[str], settings: Settings) -> ExecuteStep:
    """The step again, for another endpoint, with more room when it was cut off, and the reasons."""
    attempt = step.envelope.attempt + 1
    truncated = any(f.startswith("truncated") for f in found)
    room = step.max_tokens or settings.answer_max_tokens
    return ExecuteStep(envelope=child_envelope(step.envelope, "execute", attempt=attempt), question=step.question,
                       principal=step.principal, passages=step.passages, output_schema=step.output_schema,
                       avoid=sorted({*step.avoid, step.endpoint} - {""}),
                       max_tokens=room * 2 if truncated else room, feedback=found, degraded=step.degraded)


def verdict(step: ValidateStep, found: list[str], checked: list[Claim], settings: Settings) -> Emit:
    """What to send for this answer: passed, another attempt, or (attempts spent) degraded or failed."""
    done = child_envelope(step.envelope, "done")
    if not found:
        status = StepStatus.no_answer if says_no_answer(step) else \
            StepStatus.degraded if step.degraded else StepStatus.passed  # BM25 only, or a fallback model
        return Emit("steps.done", StepDone(envelope=done, status=status, answer=step.answer, degraded=step.degraded,
                                           citations=step.citations, usage=step.usage, endpoint=step.endpoint))
    if step.envelope.attempt + 1 < settings.validation_attempts:
        return Emit("steps.execute", next_attempt(step, found, settings))
    if step.output_schema:
        return Emit("steps.done", StepDone(envelope=done, status=StepStatus.failed, usage=step.usage,
                                           reasons=found, endpoint=step.endpoint))
    if step.finish_reason == "length" and checked:  # its last sentence is cut: never keep it
        checked = checked[:-1] + [Claim(checked[-1].text, checked[-1].markers, False, "cut off")]
    answer, citations = keep_supported(checked, step.citations)
    dropped = sum(not c.supported for c in checked)
    note = (f"{dropped} of {len(checked)} sentences could not be verified against the cited documents and were "
            f"left out after {step.envelope.attempt + 1} attempts")
    if not answer:
        answer = "No answer could be verified against the documents you may read."
    return Emit("steps.done", StepDone(envelope=done, status=StepStatus.degraded, answer=answer, citations=citations,
                                       usage=step.usage, reasons=found, endpoint=step.endpoint,
                                       degraded="; ".join(d for d in (step.degraded, note) if d)))


def routes(ctx: AgentContext) -> Parts:
    from index.encoder import (
        Encoder,  # library code of the index; loaded once, in warm-up
    )

    s = ctx.settings
    stats = RouteStats(ctx.redis, ctx.keys.prefix, breaker_reset_s=s.breaker_reset_s)
    encoder: list[Encoder] = []

    def embed(texts: list[str]) -> np.ndarray:
        return encoder[0].encode(texts)

    async def handle(step: ValidateStep) -> list[Emit]:
        with _tracer.start_as_current_span("validate.checks") as span:
            found, checked = await asyncio.to_thread(problems, step, embed if encoder else None, s)
            span.set_attributes({"switchboard.problems": len(found), "switchboard.sentences": len(checked)})
        wrong = [f for f in found if not f.startswith("truncated")]  # a cut answer is the limit's fault
        if step.endpoint and (wrong or not found):
            rate = await stats.validated(step.endpoint, passed=not wrong)
            if rate < s.health_min_pass_rate:
                log.warning("endpoint_failing_validation", endpoint=step.endpoint, pass_rate=round(rate, 3))
        return [verdict(step, found, checked, s)]

    async def warmup() -> None:
        encoder.append(await asyncio.to_thread(Encoder, s.encoder_threads, s.encoder_max_length,
                                               s.encoder_batch_size, s.encoder_precision))

    return Parts([Route("steps.validate", handle, reports="planner")], warmup=warmup)


spec = AgentSpec("validator", routes)
