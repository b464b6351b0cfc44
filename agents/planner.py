"""The planner: turns a task into a DAG of chains, advances it as steps finish, and completes it.

In:  ``tasks.submitted`` (TaskSubmitted), ``steps.done`` (StepDone), ``tasks.cancel`` (TaskCancel).
Out: ``steps.retrieve`` (RetrieveStep, one per chain started), ``tasks.completed`` (TaskCompleted,
one per task), ``usage.tokens`` (a planning model's call), ``audit.events`` (accepted and refused tasks).
Errors: a refused task (a missing, forged or expired principal token when a token secret is set,
tenant mismatch, blank or over-long question, deadline passed, bad JSON Schema) is semantic: the
client receives a ``rejected`` TaskCompleted with the reason. A task whose every chain failed is
completed ``failed`` with a rejection made from the first failed chain's ``StepFailure`` (its kind,
code, agent and policies, as the agent that failed it reported them). A ``steps.done`` of a task
with no checkpoint is deterministic (dead-lettered).

A compositional question becomes one chain per part (``mesh.planning.decompose``), or a model's plan
when an endpoint with the ``plan`` capability is configured (validated before use, else the
rules plan). A task that asks for JSON stays one chain. The DAG and each chain's status are
the task's checkpoint in Redis (``mesh.planning.checkpoint``): any planner replica carries on from it, and
a chain that finished is never started again. When the last chain finishes, the planner
composes the answers (``mesh.planning.dag.compose``). A timer completes tasks past their deadline as
``timed_out``, naming the unfinished chains; ``tasks.cancel`` completes a task as ``cancelled``
(a cancellation that overtakes its task's submission is remembered, and the task is cancelled
when it arrives).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import replace

import aiohttp

from mesh.endpoints import Endpoint
from mesh.errors import DeterministicError, SemanticError, SwitchboardError
from mesh.io.keys import Keys
from mesh.io.pipelined import Queue
from mesh.llm.openai_client import Completion, chat
from mesh.llm.prompt import plan_prompt
from mesh.observe.logs import get_logger
from mesh.planning.checkpoint import Advanced, TaskState, Workflow
from mesh.planning.dag import (
    Composed,
    NodeResult,
    Plan,
    PlanError,
    compose,
    plan_from_json,
    plan_of_parts,
)
from mesh.planning.decompose import decompose
from mesh.runtime.processor import Emit, Route
from mesh.runtime.spec import AgentContext, AgentSpec, Parts, Timer
from mesh.security import step_grants
from mesh.security.principal_tokens import verify
from mesh.settings import Settings
from mesh.wire.codec import AvroCodec
from mesh.wire.envelope import ROOT_STEP, child_envelope
from policy.admission import admit
from policy.budgets import Budgets, Refusal
from policy.engine import Check, PolicyDenied
from policy.rollout import Rollout
from policy.sanitize import Sanitizer
from policy.step_sanitizer import sanitized_question, sanitizer_for
from schemas.models import (
    AuditRecord,
    Decision,
    Envelope,
    ErrorKind,
    Rejection,
    RetrieveStep,
    StepDone,
    StepFailure,
    TaskCancel,
    TaskCompleted,
    TaskStatus,
    TaskSubmitted,
    TokenUsage,
    Usage,
)

__all__ = ["spec", "rule_plan", "start_steps", "rejection", "completion", "submit_audit", "refused_audit",
           "planning_endpoint", "ModelPlanner", "Planner"]

log = get_logger("switchboard.planner")
#: how long past its deadline a task unknown to the checkpoint keeps its deadline: its start may still be on its way
_UNKNOWN_GRACE_MS = 60_000
_TASK_TTL_S = 7 * 24 * 3600
_PLAN_TOKENS = 400  # most output tokens a plan may use


# --- pure ---------------------------------------------------------------------------------------------

def rule_plan(task: TaskSubmitted, max_parts: int) -> Plan:
    """The deterministic plan: one chain per part of the question (one for a structured answer)."""
    parts = [task.question] if task.output_schema else decompose(task.question, max_parts)
    return plan_of_parts(parts)


def start_steps(task: TaskSubmitted, plan: Plan, ids: list[str], grant: str | None = None) -> list[Emit]:
    """A ``steps.retrieve`` message for each started chain; its envelope names the chain, its grant
    (``mesh.security.step_grants``) vouches for the principal the planner verified."""
    by_id = {n.id: n for n in plan}
    return [Emit("steps.retrieve", RetrieveStep(envelope=child_envelope(task.envelope, "retrieve", step_id=i),
                                                question=by_id[i].question, principal=task.principal,
                                                top_k=task.top_k, output_schema=task.output_schema, grant=grant))
            for i in ids]


def result_of(step: StepDone) -> NodeResult:
    return NodeResult(step.status, step.answer, tuple(step.citations), (step.usage,) if step.usage.model else (),
                      tuple(step.reasons), step.degraded, step.failure)


def failed_rejection(failures: dict[str, StepFailure]) -> Rejection:
    """The rejection of a task whose every chain failed: the first failure as its agent reported it."""
    if not failures:
        return Rejection(kind=ErrorKind.semantic, code="step_failed", agent="planner", message="every step failed")
    first = next(iter(failures.values()))
    message = first.message if len(failures) == 1 else "; ".join(f"{n}: {f.message}" for n, f in failures.items())
    return Rejection(kind=first.kind, code=first.code, agent=first.agent, policy_ids=list(first.policy_ids),
                     message=message)


def rejection(composed: Composed) -> Rejection | None:
    """Why the task did not answer, typed; None when it answered (fully, partly or with nothing found)."""
    if composed.status is TaskStatus.failed:
        return failed_rejection(composed.failures)
    if composed.status is TaskStatus.timed_out:
        return Rejection(kind=ErrorKind.transient, code="deadline_exceeded", agent="planner",
                         message=f"the deadline passed before {', '.join(composed.unfinished)} finished")
    if composed.status is TaskStatus.cancelled:
        return Rejection(kind=ErrorKind.semantic, code="cancelled", agent="planner",
                         message=f"cancelled before {', '.join(composed.unfinished) or 'completion'} finished")
    return None


def completion(env: Envelope, composed: Composed) -> TaskCompleted:
    """The task's one result, from its composed answer."""
    return TaskCompleted(envelope=child_envelope(env, "completed", step_id=ROOT_STEP), status=composed.status,
                         answer=composed.answer, citations=composed.citations, usage=composed.usage,
                         rejection=rejection(composed), degraded=composed.degraded, unfinished=composed.unfinished)


def submit_audit(task: TaskSubmitted, decision: Decision, reason: str = "", policy_ids: tuple[str, ...] = (),
                 policy_version: str = "") -> Emit:
    """The audit event of the decision to accept or refuse a task: hashes, never the question."""
    env = task.envelope
    record = AuditRecord(envelope=child_envelope(env, "audit.submit"), agent="planner",
                         principal=f"{task.principal.tenant_id}/{task.principal.user_id}", action="submit_task",
                         resource=f"task/{env.task_id}", decision=decision, reason=reason,
                         policy_ids=list(policy_ids), input_sha256=hashlib.sha256(task.question.encode()).hexdigest())
    if policy_version:
        record = record.model_copy(update={"envelope": record.envelope.model_copy(
            update={"policy_version": policy_version})})
    return Emit("audit.events", record, key=env.tenant_id)


def refused_audit(task: TaskSubmitted, err: SwitchboardError) -> list[Emit]:
    """What the runtime sends besides the rejection when a task is refused: the denial's audit event."""
    ids, version = (err.policy_ids, err.version) if isinstance(err, PolicyDenied) else ((), "")
    return [submit_audit(task, Decision.deny, f"{err.code}: {err}", ids, version)]


def vouched(task: TaskSubmitted, token_secrets: list[str], now_s: float) -> TaskSubmitted:
    """The task as its principal token says who asks (the message's own principal is not trusted)."""
    principal = verify(token_secrets, task.principal_token, now_s=now_s)
    if principal.tenant_id != task.envelope.tenant_id:
        raise SemanticError(f"the principal token is for tenant {principal.tenant_id!r}, the task for "
                            f"{task.envelope.tenant_id!r}", code="tenant_mismatch")
    return task.model_copy(update={"principal": principal})


def planning_endpoint(settings: Settings) -> Endpoint | None:
    """The endpoint that plans tasks: the first OpenAI one able to ``plan``; none when replaying recorded
    outputs (a replay plans by the rules, calling nothing)."""
    if settings.model_outputs != "live":
        return None
    return next((e for e in settings.endpoints if "plan" in e.capabilities and e.kind == "openai"), None)


def plan_usage(task: TaskSubmitted, endpoint: Endpoint, done: Completion) -> Emit:
    """The ``usage.tokens`` record of a planning call."""
    usage = Usage(model=endpoint.model_name, prompt_tokens=done.prompt_tokens, completion_tokens=done.completion_tokens)
    cost = round(endpoint.cost(usage.prompt_tokens, usage.completion_tokens), 9)
    return Emit("usage.tokens", TokenUsage(envelope=child_envelope(task.envelope, "usage.plan"),
                                           user_id=task.principal.user_id, endpoint=endpoint.name, usage=usage,
                                           cost_usd=cost, task_type="plan"),
                key=task.envelope.tenant_id)


# --- the planner ---------------------------------------------------------------------------------------

class ModelPlanner:
    """Plans with the planning endpoint, when there is one; None tells the caller to plan by the rules.

    The question is sanitized first, like any prompt, and the call reserves the tenant's budget
    like any model call; a tenant at a limit is planned by the rules, which cost nothing.
    """

    def __init__(self, endpoint: Endpoint | None, budgets: Budgets, rollout: Rollout, sanitizer: Sanitizer | None,
                 *, max_parts: int, max_question_chars: int) -> None:
        self._endpoint, self._budgets, self._rollout, self._sanitizer = endpoint, budgets, rollout, sanitizer
        self._max_parts, self._max_question_chars = max_parts, max_question_chars
        self._session: aiohttp.ClientSession | None = None

    async def warm(self) -> None:
        """A planner that masks planning prompts loads its NER pipeline before it is ready."""
        if self._sanitizer is not None and self._endpoint is not None:
            await asyncio.to_thread(self._sanitizer.detector.warm)

    async def plan(self, task: TaskSubmitted) -> tuple[Plan | None, list[Emit]]:
        """A plan from the planning endpoint (None: use the rules) and what the call sends (usage, audit)."""
        e, env = self._endpoint, task.envelope
        if e is None or task.output_schema:
            return None, []
        question, audit = task.question, []
        if self._sanitizer is not None:
            question, audit = await sanitized_question(self._sanitizer, (await self._rollout.current()).active, task)
        prompt = plan_prompt(question, self._max_parts)
        grant = await self._budgets.reserve(env.tenant_id, prompt.tokens + _PLAN_TOKENS,
                                            e.cost(prompt.tokens, _PLAN_TOKENS))
        if isinstance(grant, Refusal):
            log.info("model_plan_skipped", reason=grant.message)
            return None, []
        if self._session is None:
            self._session = aiohttp.ClientSession()
        try:
            done = await chat(self._session, e, prompt.messages, max_tokens=_PLAN_TOKENS, json_output=True)
        except SwitchboardError as err:
            await self._budgets.release(grant)
            log.warning("model_plan_failed", endpoint=e.name, reason=str(err))
            return None, audit
        await self._budgets.settle(grant, done.prompt_tokens + done.completion_tokens,
                                   e.cost(done.prompt_tokens, done.completion_tokens))
        spent = [plan_usage(task, e, done)] + audit
        try:
            plan = plan_from_json(done.text, max_nodes=self._max_parts, max_question_chars=self._max_question_chars)
        except PlanError as err:
            log.warning("model_plan_refused", endpoint=e.name, reason=str(err))
            return None, spent
        if self._sanitizer is not None:  # the parts are searched with the values (never sent to a model with them)
            plan = tuple([replace(n, question=await self._sanitizer.unmask(env.tenant_id, env.task_id, n.question))
                          for n in plan])
        return plan, spent


class Planner:
    """The planner's handlers and deadline timer, over the tasks' checkpoints (``Workflow``)."""

    def __init__(self, flow: Workflow, rollout: Rollout, codec: AvroCodec, keys: Keys, model: ModelPlanner,
                 sanitizer: Sanitizer | None, *, max_parts: int, max_question_chars: int, task_deadline_s: float,
                 token_secrets: list[str]) -> None:
        self._flow, self._rollout, self._codec, self._keys = flow, rollout, codec, keys
        self._model, self._sanitizer = model, sanitizer
        self._max_parts, self._max_question_chars = max_parts, max_question_chars
        self._deadline_s, self._token_secrets = task_deadline_s, token_secrets
        self._swept: list[str] = []  # deadlines to forget once the sweep's results were sent

    async def warmup(self) -> None:
        await self._model.warm()

    def _name(self, env: Envelope) -> str:
        return self._keys.task(env.tenant_id, env.task_id)

    def _task_of(self, state: TaskState) -> TaskSubmitted:
        return self._codec.decode(state.task)

    def _grant(self, task: TaskSubmitted) -> str | None:
        return step_grants.sign(self._token_secrets, task.envelope.task_id, task.envelope.tenant_id, task.principal)

    async def _admitted(self, task: TaskSubmitted) -> tuple[TaskSubmitted, tuple[str, ...]]:
        """The task as admitted, stamped with the policy set's version, and the policies that allowed it;
        a ``SemanticError`` (a ``PolicyDenied`` among them) when it is refused."""
        now = int(time.time() * 1000)
        if self._token_secrets:  # the token, not the message, says who asks
            task = vouched(task, self._token_secrets, now / 1000)
        admit(task, max_question_chars=self._max_question_chars, now_ms=now)
        check = Check(task.principal, "submit_task", "Task", task.envelope.task_id, {"tenant": task.envelope.tenant_id})
        engine, (verdict,) = await self._rollout.decide([check], task.envelope.task_id)
        if not verdict.allowed:
            raise PolicyDenied(verdict.explain(check), verdict.policy_ids, engine.version)
        # every event of the task carries the version of the policy set that admitted it
        env = task.envelope.model_copy(update={"policy_version": engine.version})
        return task.model_copy(update={"envelope": env}), verdict.policy_ids

    def status_of(self, task: TaskSubmitted) -> Queue:
        """The task's status (a 1-tuple), read with the runtime's ledger read of its submission."""
        return Workflow.status_reading(self._name(task.envelope))

    async def submitted(self, task: TaskSubmitted, fetched: tuple[str | None] | None = None) -> list[Emit]:
        task, allowed_by = await self._admitted(task)
        env, name = task.envelope, self._name(task.envelope)
        cancelled = [Emit("tasks.completed", completion(env, compose(rule_plan(task, self._max_parts), {},
                                                                     closed=TaskStatus.cancelled)))]
        (status,) = fetched or (await self._flow.status(name),)
        if status == TaskStatus.cancelled.value and (await self._flow.load(name)) is None:
            return cancelled  # a cancellation overtook it: plan nothing, spend nothing
        proposed, spent = await self._model.plan(task)
        plan = proposed or rule_plan(task, self._max_parts)
        deadline = task.deadline_ms or int(env.created_at.timestamp() * 1000 + self._deadline_s * 1000)
        started = await self._flow.start_and_load(name, self._codec.encode(task), plan, deadline)
        if started is None:
            return cancelled
        fired, state = started
        log.info("task_planned", chains=len(state.plan), started=fired)
        return start_steps(self._task_of(state), state.plan, fired, self._grant(task)) + spent + [
            submit_audit(task, Decision.allow, policy_ids=allowed_by)]

    async def _finish(self, name: str, state: TaskState, closed: TaskStatus | None = None,
                      forget: bool = True) -> Emit:
        composed = compose(state.plan, state.results, closed=closed)
        await self._flow.finish(name, composed.status.value, forget_deadline=forget)
        log.info("task_completed", status=composed.status.value, unfinished=composed.unfinished)
        task = self._task_of(state)
        result = completion(task.envelope, composed)
        if self._sanitizer is not None and result.answer:  # values back for a principal the policies let see them
            answer, shown = await self._sanitizer.reveal((await self._rollout.current()).active, task.principal,
                                                         task.envelope.task_id, result.answer)
            if shown:
                result = result.model_copy(update={"answer": answer})
        return Emit("tasks.completed", result)

    def advancing(self, step: StepDone) -> Queue:
        """The checkpoint advanced by ``step`` and read after it: sent with the runtime's ledger read of
        ``step`` (the script answers a redelivery as the first time, changing nothing)."""
        return self._flow.advancing(self._name(step.envelope), step.envelope.step_id, result_of(step))

    async def done(self, step: StepDone, fetched: tuple[Advanced, TaskState | None] | None = None) -> list[Emit]:
        env = step.envelope
        name = self._name(env)
        moved, state = fetched or await self._flow.advance_and_load(name, env.step_id, result_of(step))
        if moved.status in ("unknown", "unknown_step"):
            raise DeterministicError(f"no record of step {env.step_id} of task {env.task_id}: it expired or was "
                                     "never planned", code="unknown_task")
        if not moved.fire and not moved.closes:
            return []
        task = self._task_of(state)
        out = start_steps(task, state.plan, moved.fire, self._grant(task))
        if moved.closes:
            out.append(await self._finish(name, state))
        return out

    async def cancel(self, request: TaskCancel) -> list[Emit]:
        name = self._name(request.envelope)
        status, mine = await self._flow.close(name, TaskStatus.cancelled.value, "cancel", remember=True)
        log.info("task_cancel_requested", by=request.requested_by, status=status, applied=mine)
        if not mine:
            return []  # unknown, or already finished: its result stands
        return [await self._finish(name, await self._flow.load(name), TaskStatus.cancelled)]

    async def sweep(self) -> list[Emit]:
        """Time out overdue tasks. A deadline is forgotten only once its result was sent (``forget_swept``), so a
        replica that dies in between leaves it for the next sweep, which sends the same result again."""
        out, now, settled = [], int(time.time() * 1000), None
        for name in await self._flow.overdue(now):
            status, mine = await self._flow.close(name, TaskStatus.timed_out.value, "deadline")
            if mine:
                out.append(await self._finish(name, await self._flow.load(name), TaskStatus.timed_out, forget=False))
            if status == "unknown":  # under Cluster a start's deadline can land before its task: wait a while
                settled = settled if settled is not None else set(await self._flow.overdue(now - _UNKNOWN_GRACE_MS))
                if name not in settled:
                    continue
            if status not in ("running", "closing"):
                self._swept.append(name)
        return out

    async def forget_swept(self) -> None:
        await self._flow.forget_deadlines(self._swept)
        self._swept.clear()


# --- wiring --------------------------------------------------------------------------------------------

def routes(ctx: AgentContext) -> Parts:
    s = ctx.settings
    rollout = Rollout(ctx.redis, ctx.keys, s.policy_dir)
    sanitizer = sanitizer_for(ctx) if s.sanitize else None
    model = ModelPlanner(planning_endpoint(s), Budgets.from_settings(s, ctx.redis), rollout, sanitizer,
                         max_parts=s.max_parts, max_question_chars=s.max_question_chars)
    planner = Planner(Workflow(ctx.redis, ctx.keys, _TASK_TTL_S, ctx.sealer), rollout, ctx.codec, ctx.keys, model,
                      sanitizer, max_parts=s.max_parts, max_question_chars=s.max_question_chars,
                      task_deadline_s=s.task_deadline_s, token_secrets=s.token_secrets)
    return Parts([Route("tasks.submitted", planner.submitted, on_rejected=refused_audit, prefetch=planner.status_of),
                  Route("steps.done", planner.done, prefetch=planner.advancing),
                  Route("tasks.cancel", planner.cancel, reports="nobody")],
                 timers=[Timer(0.5, planner.sweep, after=planner.forget_swept)], warmup=planner.warmup,
                 riders=[rollout.refreshing])


spec = AgentSpec("planner", routes)
