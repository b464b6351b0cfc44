"""The validator: checks an answer before anyone sees it.

In:  ``steps.validate`` (ValidateStep).
Out: ``steps.done`` (StepDone), or ``steps.execute`` (ExecuteStep) for another attempt.
Errors: none of its own; an answer that fails its checks is the verdict, not an error. A structured
answer that never passes is a ``failed`` StepDone whose ``failure`` (a ``StepFailure``: the first
problem's code, this agent) the planner turns into the client's rejection.

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
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from mesh.llm.grounding import Claim, Embed, check, citation_problems, keep_supported
from mesh.llm.output_format import format_problems
from mesh.llm.route_stats import RouteStats
from mesh.observe.logs import get_logger
from mesh.observe.tracing import tracer
from mesh.runtime.processor import Emit, Route
from mesh.runtime.spec import AgentContext, AgentSpec, Parts
from mesh.security import step_grants
from mesh.settings import Settings
from mesh.wire.envelope import child_envelope
from schemas.models import (
    ErrorKind,
    ExecuteStep,
    StepDone,
    StepFailure,
    StepStatus,
    ValidateStep,
)

if TYPE_CHECKING:
    from index.encoder import Encoder

__all__ = ["spec", "Problem", "problems", "says_no_answer", "next_attempt", "verdict", "Validator"]

log = get_logger("switchboard.validator")
_AGENT = "validator"
_tracer = tracer("switchboard.validator")

_NO_ANSWER = re.compile(r"\b(found no (documents?|answer|information)|no (relevant )?(documents?|passages?|context) "
                        r"(you are allowed to read )?(answers?|contains?|mentions?)|do(es)? not (contain|answer|"
                        r"mention)|cannot answer|can't answer)\b", re.I)


class Problem(str):
    """One thing wrong with an answer. It reads ``code: message`` (the reason people and the next attempt's
    model see) and carries its ``code`` as data, so nothing downstream parses the text."""

    code: str

    def __new__(cls, code: str, message: str) -> Problem:
        problem = super().__new__(cls, f"{code}: {message}")
        problem.code = code
        return problem


def _checked(lines: list[str]) -> list[Problem]:
    """The problems ``mesh.llm``'s checks found; they name each one ``code: message``, split here, where it is found."""
    return [Problem(code, message) for code, _, message in (line.partition(": ") for line in lines)]


def _code(problem: str) -> str:
    return problem.code if isinstance(problem, Problem) else ""


def says_no_answer(step: ValidateStep) -> bool:
    """An honest "nothing answers this": the built-in model's no-context finish, or an uncited refusal."""
    if step.finish_reason == "no_context":
        return True
    return not step.citations and not re.search(r"\[\d+\]", step.answer) and bool(_NO_ANSWER.search(step.answer))


def problems(step: ValidateStep, embed: Embed | None, settings: Settings) -> tuple[list[Problem], list[Claim]]:
    """Everything wrong with the answer (empty when it passes), and its checked claims (prose only)."""
    if not step.answer.strip():
        return [Problem("empty_answer", "the model returned no text")], []
    found = []
    if step.finish_reason == "length":
        found.append(Problem("truncated", f"the model stopped at its token limit ({step.max_tokens or 'default'})"))
    if says_no_answer(step):
        return found + ([Problem("bad_citation", "a no-answer must not cite")] if step.citations else []), []
    if step.output_schema:
        found += _checked(format_problems(step.answer, step.output_schema))
    found += _checked(citation_problems(step.answer, step.citations, step.passages))
    if not step.citations:
        found.append(Problem("uncited", "the answer cites no retrieved passage"))
    checked: list[Claim] = []
    if not step.output_schema and step.citations:
        checked = check(step.answer, step.citations, step.passages, embed,
                        min_similarity=settings.grounding_similarity, min_overlap=settings.grounding_overlap)
        found += [Problem("ungrounded", f"{c.text[:80]!r} {c.why}") for c in checked if not c.supported]
    return found, checked


def next_attempt(step: ValidateStep, found: list[str], settings: Settings) -> ExecuteStep:
    """The step again, for another endpoint, with more room when it was cut off, and the reasons."""
    attempt = step.envelope.attempt + 1
    truncated = any(_code(f) == "truncated" for f in found)
    room = step.max_tokens or settings.answer_max_tokens
    return ExecuteStep(envelope=child_envelope(step.envelope, "execute", attempt=attempt), question=step.question,
                       principal=step.principal, passages=step.passages, output_schema=step.output_schema,
                       avoid=sorted({*step.avoid, step.endpoint} - {""}),
                       max_tokens=room * 2 if truncated else room, feedback=found, degraded=step.degraded,
                       grant=step.grant)


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
        failure = StepFailure(kind=ErrorKind.semantic, code=_code(found[0]) or "validation_failed", agent=_AGENT,
                              message="no answer passed validation: " + "; ".join(found))
        return Emit("steps.done", StepDone(envelope=done, status=StepStatus.failed, usage=step.usage,
                                           reasons=found, endpoint=step.endpoint, failure=failure))
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


def _warn_if_failing(endpoint: str, floor: float, pass_rate: float) -> None:
    if pass_rate < floor:
        log.warning("endpoint_failing_validation", endpoint=endpoint, pass_rate=round(pass_rate, 3))


class Validator:
    """Judges each answer, and counts every verdict toward the answering endpoint's pass rate.

    ``load_encoder`` builds the index's encoder (for embedding support of paraphrases); it is called
    once, in warm-up, and until then support is lexical only.
    """

    def __init__(self, stats: RouteStats, settings: Settings, load_encoder: Callable[[], Encoder]) -> None:
        self._stats, self._settings, self._load_encoder = stats, settings, load_encoder
        self._encoder: Encoder | None = None

    async def warmup(self) -> None:
        self._encoder = await asyncio.to_thread(self._load_encoder)

    async def handle(self, step: ValidateStep) -> list[Emit]:
        s, embed = self._settings, self._encoder.encode if self._encoder is not None else None
        with _tracer.start_as_current_span("validate.checks") as span:
            found, checked = await asyncio.to_thread(problems, step, embed, s)
            span.set_attributes({"switchboard.problems": len(found), "switchboard.sentences": len(checked)})
        wrong = [f for f in found if f.code != "truncated"]  # a cut answer is the limit's fault
        if step.endpoint and (wrong or not found):  # counted with the step's ledger entry, in its round trip
            await self._stats.validated_later(step.endpoint, not wrong,
                                              partial(_warn_if_failing, step.endpoint, s.health_min_pass_rate))
        return [verdict(step, found, checked, s)]


def routes(ctx: AgentContext) -> Parts:
    from index.encoder import (
        make_encoder,  # library code of the index; loaded once, in warm-up
    )

    s = ctx.settings
    stats = RouteStats(ctx.redis, ctx.keys, breaker_reset_s=s.breaker_reset_s)
    validator = Validator(stats, s, partial(make_encoder, s.encoder_backend, s.encoder_threads, s.encoder_max_length,
                                            s.encoder_batch_size, s.encoder_precision, s.encoder_cache_dir))
    return Parts([Route("steps.validate", validator.handle, reports="planner",
                        authority=step_grants.authority(s.token_secrets))], warmup=validator.warmup)


spec = AgentSpec(_AGENT, routes)
