"""The executor: answers a step from its context with a routed model, and accounts for the tokens.

In:  ``steps.execute`` (ExecuteStep).
Out: ``steps.validate`` (ValidateStep, with the endpoint chosen and why), ``usage.tokens``
(TokenUsage per call, keyed by tenant, with the tokens the endpoint reported and their cost),
``audit.events`` (one per model call, failed ones included: endpoint, model, the prompt's hash).
Errors: a prompt no capable endpoint can hold, a capability no endpoint has, or a tenant at its
hard budget is refused (semantic: the planner fails the step with the reason); when every
capable endpoint fails the call, or the tenant is at its per-minute limit, the step is retried
(transient) under the agent's retry policy.

The prompt is assembled and counted before any call (``mesh.llm.prompt``). The router
(``mesh.llm.routing``) picks among capable endpoints by expected cost and latency under the load
every replica shares in Redis (``mesh.llm.route_stats``); a failed call moves on to the next best
endpoint at once. Only endpoints the policies let the principal use are candidates (``use_model``:
others are passed over, and the step is refused when none is left). Each call reserves the tenant's budget first and settles it with the reported
usage after (``policy.budgets``); past the soft limit the step takes the cheapest route with half
the context, and says so. A step of a task that was cancelled or timed out is dropped unanswered.

Three Redis round trips on the common path: what a step starts from (task status, recorded answer,
every endpoint's load and breaker, the budget's period) rides on the runtime's ledger read
(``prefetch``); the budget's reservation and the call's lease are one; what follows a call (its
lease given back, its latency, its breaker, the answer recorded, the budget settled) rides on the
ledger's write.
"""

from __future__ import annotations

from dataclasses import dataclass

from mesh.endpoints import BUILTIN, Endpoint
from mesh.errors import ReplicasBehind, SemanticError, TransientError
from mesh.io.breakers import Breakers
from mesh.io.keys import Keys
from mesh.io.pipelined import Batch, Queue, run, together
from mesh.llm import extractive
from mesh.llm.call_memo import CallMemo
from mesh.llm.model_caller import Answered, ModelCaller
from mesh.llm.openai_client import EndpointFailure
from mesh.llm.prompt import Prompt, assemble
from mesh.llm.route_stats import Health, RouteStats
from mesh.llm.routing import Choice, Load, NoRoute, candidates, choose
from mesh.observe import metrics
from mesh.observe.logs import get_logger
from mesh.runtime.processor import Emit, Route
from mesh.runtime.spec import AgentContext, AgentSpec, Parts
from mesh.security import step_grants
from mesh.wire.envelope import child_envelope
from policy.budgets import Budgets, Grant, Refusal
from policy.engine import Check, PolicyDenied, Verdict
from policy.rollout import Rollout
from schemas.models import (
    AuditRecord,
    Citation,
    Decision,
    ExecuteStep,
    TokenUsage,
    Usage,
    ValidateStep,
)

__all__ = ["spec", "Answered", "Executor", "ModelCaller", "needs_of"]

log = get_logger("switchboard.executor")
_CLOSED = ("cancelled", "timed_out")


# --- pure functions ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Fetched:
    """What a step starts from, read in one round trip (with the runtime's ledger read, as the route's prefetch)."""

    status: bytes | None  # the task's
    recorded: bytes | None  # the step's recorded answer, sealed
    loads: dict[str, Load]  # of every endpoint
    period: str  # the tenant's budget period


def needs_of(step: ExecuteStep) -> set[str]:
    return {"json"} if step.output_schema else {"answer"}


def emits_for(step: ExecuteStep, out: Answered, max_tokens: int, budget: str | None = None,
              degraded: str | None = None) -> list[Emit]:
    """The answer for the validator and the usage for accounting; pure."""
    validate = ValidateStep(envelope=child_envelope(step.envelope, "validate"), question=step.question,
                            principal=step.principal, passages=step.passages, answer=out.text,
                            citations=out.citations, finish_reason=out.finish_reason, usage=out.usage,
                            output_schema=step.output_schema, endpoint=out.endpoint.name, route_reason=out.reason,
                            max_tokens=max_tokens, avoid=step.avoid, degraded=degraded, grant=step.grant)
    cost = out.endpoint.cost(out.usage.prompt_tokens, out.usage.completion_tokens)
    usage = TokenUsage(envelope=child_envelope(step.envelope, "usage"), user_id=step.principal.user_id,
                       endpoint=out.endpoint.name, usage=out.usage, cost_usd=round(cost, 9), budget=budget,
                       task_type="structured" if step.output_schema else "answer")
    return [Emit("steps.validate", validate), Emit("usage.tokens", usage, key=step.envelope.tenant_id)]


def call_audit(step: ExecuteStep, endpoint: Endpoint, model: str, prompt: Prompt, outcome: str) -> Emit:
    """The audit event of one model call: who, which endpoint and model, the prompt's hash, never the prompt."""
    record = AuditRecord(envelope=child_envelope(step.envelope, f"audit.call.{endpoint.name}"), agent="executor",
                         principal=f"{step.principal.tenant_id}/{step.principal.user_id}", action="use_model",
                         resource=f"endpoint/{endpoint.name}", decision=Decision.allow, reason=outcome,
                         input_sha256=prompt.sha256, endpoint=endpoint.name, model=model)
    return Emit("audit.events", record, key=step.envelope.tenant_id)


def model_checks(step: ExecuteStep, pool: list[Endpoint]) -> list[Check]:
    return [Check(step.principal, "use_model", "Endpoint", e.name, {"roles": list(e.roles), "kind": e.kind})
            for e in pool]


def permitted(step: ExecuteStep, pool: list[Endpoint], verdicts: list[Verdict],
              version: str) -> tuple[list[Endpoint], str]:
    """The endpoints the principal may use (and which it may not, in words); ``PolicyDenied`` if none."""
    allowed = [e for e, v in zip(pool, verdicts) if v.allowed]
    refused = "; ".join(f"{e.name} ({', '.join(v.policy_ids) or 'no policy permits it'})"
                        for e, v in zip(pool, verdicts) if not v.allowed)
    if not allowed:
        ids = tuple(dict.fromkeys(i for v in verdicts for i in v.policy_ids))
        raise PolicyDenied(f"{step.principal.tenant_id}/{step.principal.user_id} may use none of the endpoints able "
                           f"to run this step: {refused}", ids, version)
    return allowed, refused


def with_note(degraded: str | None, note: str) -> str:
    """``degraded`` with ``note`` added (an earlier attempt's fallback note replaced, not repeated)."""
    kept = [d for d in (degraded or "").split("; ") if d and not d.startswith("model endpoints unavailable")]
    return "; ".join([*kept, note])


def answered_json(out: Answered) -> dict:
    return {"endpoint": out.endpoint.name, "text": out.text, "citations": [c.model_dump() for c in out.citations],
            "finish_reason": out.finish_reason, "usage": out.usage.model_dump(), "reason": out.reason}


def answered_from(d: dict, endpoints: dict[str, Endpoint]) -> Answered:
    return Answered(endpoints.get(d["endpoint"], BUILTIN), d["text"], [Citation(**c) for c in d["citations"]],
                    d["finish_reason"], Usage(**d["usage"]), d["reason"])


def count_usage(tenant: str, endpoint: str, usage: Usage, cost_usd: float) -> None:
    """Tokens and cost of one model call, in the worker's Prometheus metrics."""
    metrics.TOKENS.labels(tenant, endpoint, usage.model, "prompt").inc(usage.prompt_tokens)
    metrics.TOKENS.labels(tenant, endpoint, usage.model, "completion").inc(usage.completion_tokens)
    metrics.COST.labels(tenant, endpoint, usage.model).inc(cost_usd)


def prompt_for(step: ExecuteStep) -> Prompt:
    return assemble(step.question, step.passages, output_schema=step.output_schema, feedback=step.feedback)


def halved(step: ExecuteStep, used_tokens: int) -> tuple[ExecuteStep, str]:
    """``step`` with half its context (the best passages kept), and why, for a tenant past its soft budget."""
    kept = max(1, (len(step.passages) + 1) // 2)
    degraded = (f"tenant past its soft budget ({used_tokens} tokens this period): cheapest "
                f"capable route, {min(kept, len(step.passages))} of {len(step.passages)} passages")
    return step.model_copy(update={"passages": step.passages[:kept]}), degraded


def noted(choice: Choice, degraded: str | None, failures: list[str], refused: str) -> Choice:
    """``choice`` with its reason telling what else shaped it: degradation, failed and refused endpoints."""
    notes = [n for n in (degraded, f"after {', '.join(failures)}" if failures else None,
                         f"not permitted: {refused}" if refused else None) if n]
    if not notes:
        return choice
    return Choice(choice.endpoint, "; ".join([choice.reason, *notes]), choice.expected_cost_usd, choice.expected_ms)


def without(pool: list[Endpoint], e: Endpoint) -> list[Endpoint]:
    return [p for p in pool if p.name != e.name]


# --- the agent -----------------------------------------------------------------------------------------

class Executor:
    """The handler of ``steps.execute``: a recorded answer reused, else the best permitted endpoint
    called under the tenant's budget, the next one on failure, the extractive model when all are down."""

    def __init__(self, redis, keys: Keys, memo: CallMemo, rollout: Rollout, budgets: Budgets, stats: RouteStats,
                 breakers: Breakers, caller: ModelCaller, *, endpoints: list[Endpoint], answer_max_tokens: int,
                 model_outputs: str, route_usd_per_s: float, fallback_extractive: bool) -> None:
        self._redis, self._keys, self._memo, self._rollout = redis, keys, memo, rollout
        self._budgets, self._stats, self._breakers, self._caller = budgets, stats, breakers, caller
        self._endpoints, self._by_name = endpoints, {e.name: e for e in endpoints}
        self._answer_max_tokens, self._model_outputs = answer_max_tokens, model_outputs
        self._usd_per_s, self._fallback_extractive = route_usd_per_s, fallback_extractive

    def prefetch(self, step: ExecuteStep) -> Queue:
        """What ``handle`` starts from (``Fetched``), as commands for the runtime's ledger read."""
        env = step.envelope

        def queue(b: Batch):
            b.pipe.hget(self._keys.task(env.tenant_id, env.task_id), "status")
            b.pipe.get(self._memo.key(env.tenant_id, env.idempotency_key))
            rest = together(self._stats.reading([e.name for e in self._endpoints]),
                            self._budgets.period_reading(env.tenant_id))(b)
            return lambda replies: Fetched(replies[0], replies[1], *rest(replies[2:]))
        return queue

    async def handle(self, step: ExecuteStep, fetched: Fetched | None = None) -> list[Emit]:
        env = step.envelope
        if fetched is None:  # not read with the ledger (a retry, a test): read it now
            fetched = await run(self._redis, self.prefetch(step), "reading the task's status and the step's state")
        if fetched.status is not None and fetched.status.decode() in _CLOSED:
            log.info("step_dropped", reason=f"task {fetched.status.decode()}")
            return []
        prompt = prompt_for(step)
        max_tokens = step.max_tokens or self._answer_max_tokens
        recorded = self._memo.opened(env.tenant_id, fetched.recorded)
        # recorded for another prompt (a replay whose retrieval changed): not this answer
        if recorded is not None and recorded.get("prompt_sha256", prompt.sha256) == prompt.sha256:
            return self._reused(step, recorded, prompt, max_tokens)
        if self._model_outputs == "recorded":
            raise SemanticError("no recorded model output for this step: the replay took another path than the "
                                "recording; replay with --live to call the models", code="not_recorded")
        try:
            pool = candidates(self._endpoints, needs_of(step), prompt.tokens, max_tokens)
        except NoRoute as err:
            raise SemanticError(str(err), code="no_route") from err
        engine, verdicts = await self._rollout.decide(model_checks(step, pool), env.task_id)
        pool, refused = permitted(step, pool, verdicts, engine.version)
        return await self._route(step, prompt, max_tokens, pool, refused, fetched)

    def _reused(self, step: ExecuteStep, recorded: dict, prompt: Prompt, max_tokens: int) -> list[Emit]:
        """Answered before this step was redelivered: never call (or charge) twice."""
        out = answered_from(recorded, self._by_name)
        log.info("model_answer_reused", endpoint=out.endpoint.name)
        return emits_for(step, out, max_tokens, budget=recorded.get("budget"), degraded=recorded.get("degraded")) \
            + [call_audit(step, out.endpoint, out.usage.model, prompt, f"answered: {out.finish_reason}")]

    async def _route(self, step: ExecuteStep, prompt: Prompt, max_tokens: int, pool: list[Endpoint],
                     refused: str, fetched: Fetched) -> list[Emit]:
        """The best endpoint of ``pool`` called, the next best at once when one fails or its breaker is open."""
        env, failures, audits, degraded, loads = step.envelope, [], [], None, fetched.loads
        while pool:
            loads = loads or await self._stats.loads([e.name for e in pool])  # the first choice's were fetched
            choice = choose(pool, loads, prompt_tokens=prompt.tokens, max_tokens=max_tokens,
                            usd_per_s=0.0 if degraded else self._usd_per_s, avoid=frozenset(step.avoid))
            e, breaker_state, loads = choice.endpoint, loads[choice.endpoint.name].breaker_state, None
            if not await self._breakers.get(e.name).allow(breaker_state):  # read with the loads
                failures.append(f"{e.name} breaker open")
                pool = without(pool, e)
                continue
            async with self._caller.slot(e):  # the lease for the first try is taken with the budget
                grant, lease = await self._reserve(env.tenant_id, e, prompt, max_tokens, fetched.period)
                if grant.soft_limit_passed and degraded is None:  # degrade once: the cheapest route, half the context
                    await self._give_back(e, grant, lease)
                    step, degraded = halved(step, grant.used_tokens)
                    prompt = prompt_for(step)
                    continue
                choice = noted(choice, degraded, failures, refused)
                try:
                    out = await self._caller.guarded(e, step, prompt, max_tokens, choice, lease)
                except EndpointFailure as err:
                    await self._budgets.release(grant)
                    audits.append(call_audit(step, e, e.model_name, prompt, f"failed: {err.code}"))
                    log.warning("endpoint_failed", endpoint=e.name, code=err.code, error=str(err))
                    failures.append(f"{e.name} failed ({err.code})")
                    pool = without(pool, e)
                    continue
            await self._settle(step, prompt, grant, out, degraded)
            audits.append(call_audit(step, e, out.usage.model, prompt, f"answered: {out.finish_reason}"))
            return emits_for(step, out, max_tokens, budget=degraded, degraded=step.degraded) + audits
        if failures and all(f.endswith("breaker open") for f in failures) and self._fallback_allowed(step, refused):
            return self._fallback(step, prompt, max_tokens, failures) + audits
        raise TransientError("every capable endpoint failed: " + "; ".join(failures), code="endpoints_failed")

    async def _reserve(self, tenant: str, e: Endpoint, prompt: Prompt, max_tokens: int,
                       period: str) -> tuple[Grant, str | None]:
        """The tenant's budget reserved for one call on ``e`` and, in the same round trip, the call's lease
        (None while ``e`` is at its concurrency: the call waits for one); refused: transient at the
        per-minute limit, semantic at the hard budget."""
        out_tokens = min(max_tokens, e.max_output_tokens)
        try:
            grant, lease = await run(self._redis, together(
                self._budgets.reserving(tenant, prompt.tokens + out_tokens, e.cost(prompt.tokens, out_tokens),
                                        period),
                self._stats.beginning(e.name, e.timeout_s, e.concurrency)), "reserving budget and a call")
        except ReplicasBehind as err:  # held on the primary all the same: the retry reserves anew
            await self._undo(e, err.answers)
            raise
        if isinstance(grant, Refusal):
            if lease is not None:
                await self._stats.give_back(e.name, lease)
            if grant.retriable:
                raise TransientError(grant.message, code="rate_limited")
            raise SemanticError(grant.message, code="budget_exhausted")
        return grant, lease

    async def _undo(self, e: Endpoint, answers: list) -> None:
        """Give back a reservation and lease the primary granted to a round trip that failed its replica wait
        (best effort: a hold left behind expires after the budget's hold time)."""
        grant, lease = answers[0] if answers and isinstance(answers[0], tuple) else (None, None)
        try:
            if isinstance(grant, Grant):
                await self._give_back(e, grant, lease)
            elif lease is not None:
                await self._stats.give_back(e.name, lease)
        except TransientError as err:
            log.warning("reservation_not_given_back", endpoint=e.name, error=str(err))

    async def _give_back(self, e: Endpoint, grant: Grant, lease: str | None) -> None:
        """A reservation (and its lease) for a call that will not be made."""
        await self._budgets.release(grant)
        if lease is not None:
            await self._stats.give_back(e.name, lease)

    async def _settle(self, step: ExecuteStep, prompt: Prompt, grant: Grant, out: Answered,
                      degraded: str | None) -> None:
        """A call answered: its answer recorded (so a redelivery reuses it), its budget settled with what
        the endpoint reported, its tokens and cost counted. Both are written with the step's ledger entry,
        in the one round trip that records its outputs."""
        env, e = step.envelope, out.endpoint
        await self._memo.put(env.tenant_id, env.idempotency_key, {**answered_json(out), "budget": degraded,
                                                                   "degraded": step.degraded,
                                                                   "prompt_sha256": prompt.sha256}, deferred=True)
        used = out.usage.prompt_tokens + out.usage.completion_tokens
        cost = e.cost(out.usage.prompt_tokens, out.usage.completion_tokens)
        await self._budgets.settle(grant, used, cost, deferred=True)
        count_usage(env.tenant_id, e.name, out.usage, cost)
        log.info("step_routed", endpoint=e.name, reason=out.reason, prompt_tokens=out.usage.prompt_tokens,
                 completion_tokens=out.usage.completion_tokens, finish_reason=out.finish_reason)

    def _fallback_allowed(self, step: ExecuteStep, refused: str) -> bool:
        return self._fallback_extractive and not step.output_schema and BUILTIN.name not in refused

    def _fallback(self, step: ExecuteStep, prompt: Prompt, max_tokens: int, failures: list[str]) -> list[Emit]:
        """Every capable endpoint is known down (breakers open): answer extractively, marked degraded."""
        note = f"model endpoints unavailable ({', '.join(failures)}): answered by the built-in extractive model"
        ex = extractive.answer(step.question, step.passages)
        out = Answered(BUILTIN, ex.text, ex.citations, ex.finish_reason, ex.usage, f"fallback: {note}")
        log.warning("step_fallback", reason=note)
        count_usage(step.envelope.tenant_id, BUILTIN.name, ex.usage, 0.0)
        return emits_for(step, out, max_tokens, degraded=with_note(step.degraded, note)) + [
            call_audit(step, BUILTIN, BUILTIN.model_name, prompt, f"answered: {out.finish_reason}")]


# --- wiring --------------------------------------------------------------------------------------------

def routes(ctx: AgentContext) -> Parts:
    s, redis, keys = ctx.settings, ctx.redis, ctx.keys
    stats = RouteStats(redis, keys, breaker_reset_s=s.breaker_reset_s,
                       health=Health(s.health_min_pass_rate, s.health_min_samples, s.health_reset_s))
    breakers = Breakers(s, keys, fail_max=s.breaker_failures, reset_s=s.breaker_reset_s)
    budgets = Budgets.from_settings(s, redis)
    rollout = Rollout(redis, keys, s.policy_dir)
    memo = CallMemo(redis, keys, s.idempotency_ttl_s, ctx.sealer)
    executor = Executor(redis, keys, memo, rollout, budgets, stats, breakers, ModelCaller(stats, breakers, s.endpoints),
                        endpoints=s.endpoints, answer_max_tokens=s.answer_max_tokens, model_outputs=s.model_outputs,
                        route_usd_per_s=s.route_usd_per_s, fallback_extractive=s.fallback_extractive)
    return Parts([Route("steps.execute", executor.handle, reports="planner", prefetch=executor.prefetch,
                        authority=step_grants.authority(s.token_secrets))],
                 riders=[rollout.refreshing])


spec = AgentSpec("executor", routes, window=64)
