"""The planner: turns a task into a DAG of chains, advances it as steps finish, and completes it.

In:  ``tasks.submitted`` (TaskSubmitted), ``steps.done`` (StepDone), ``tasks.cancel`` (TaskCancel).
Out: ``steps.retrieve`` (RetrieveStep, one per chain started), ``tasks.completed`` (TaskCompleted,
one per task), ``usage.tokens`` (a planning model's call), ``audit.events`` (accepted and refused tasks).
Errors: a refused task (a missing, forged or expired principal token when a token secret is set,
tenant mismatch, blank or over-long question, deadline passed, bad JSON Schema) is semantic: the
client receives a ``rejected`` TaskCompleted with the reason.

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
import re
import time
from dataclasses import replace

import aiohttp

from mesh.errors import DeterministicError, SemanticError, SwitchboardError
from mesh.llm.openai_client import chat
from mesh.llm.prompt import plan_prompt
from mesh.observe.logs import get_logger
from mesh.planning.checkpoint import TaskState, Workflow
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
from mesh.security.principal_tokens import verify
from mesh.wire.envelope import ROOT_STEP, child_envelope
from policy.admission import admit
from policy.budgets import Budgets, Refusal
from policy.engine import Check, PolicyDenied
from policy.rollout import Rollout
from policy.step_sanitizer import sanitized_question, sanitizer_for
from schemas.models import (
    AuditRecord,
    Decision,
    Envelope,
    ErrorKind,
    Rejection,
    RetrieveStep,
    StepDone,
    TaskCancel,
    TaskCompleted,
    TaskStatus,
    TaskSubmitted,
    TokenUsage,
    Usage,
)

__all__ = ["spec", "rule_plan", "start_steps", "completion", "submit_audit"]

log = get_logger("switchboard.planner")
_TASK_TTL_S = 7 * 24 * 3600
_PLAN_TOKENS = 400  # most output tokens a plan may use
_POLICY_IDS = re.compile(r"\(([a-z0-9-]+(?:, [a-z0-9-]+)*)\)")  # "endpoint (policy-a, policy-b)"


def rule_plan(task: TaskSubmitted, max_parts: int) -> Plan:
    """The deterministic plan: one chain per part of the question (one for a structured answer)."""
    parts = [task.question] if task.output_schema else decompose(task.question, max_parts)
    return plan_of_parts(parts)


def start_steps(task: TaskSubmitted, plan: Plan, ids: list[str]) -> list[Emit]:
    """A ``steps.retrieve`` message for each started chain; its envelope names the chain."""
    by_id = {n.id: n for n in plan}
    return [Emit("steps.retrieve", RetrieveStep(envelope=child_envelope(task.envelope, "retrieve", step_id=i),
                                                question=by_id[i].question, principal=task.principal,
                                                top_k=task.top_k, output_schema=task.output_schema))
            for i in ids]


def _rejection(composed: Composed) -> Rejection | None:
    if composed.status is TaskStatus.failed:
        parts = composed.reasons[0].split(": ", 2) if composed.reasons else []
        code = parts[1] if len(parts) == 3 else "step_failed"  # reasons read "node: code: message"
        if code == "policy_denied":  # the executor may use no capable endpoint; its reason names the policies
            ids = {i for group in _POLICY_IDS.findall(composed.reasons[0]) for i in group.split(", ")}
            return Rejection(kind=ErrorKind.semantic, code=code, agent="executor", policy_ids=sorted(ids),
                             message="; ".join(composed.reasons))
        return Rejection(kind=ErrorKind.semantic, code=code, agent="validator",
                         message="no answer passed validation: " + "; ".join(composed.reasons))
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
                         rejection=_rejection(composed), degraded=composed.degraded, unfinished=composed.unfinished)


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


def routes(ctx: AgentContext) -> Parts:
    s, keys, codec = ctx.settings, ctx.keys, ctx.codec
    flow = Workflow(ctx.redis, keys, _TASK_TTL_S, ctx.sealer)
    rollout = Rollout(ctx.redis, keys, s.policy_dir)
    planners = [e for e in s.endpoints if "plan" in e.capabilities and e.kind == "openai"] \
        if s.model_outputs == "live" else []  # a replay of recorded outputs plans by the rules, calling nothing
    sessions: list[aiohttp.ClientSession] = []
    sanitizer = sanitizer_for(ctx) if s.sanitize else None
    budgets = Budgets.from_settings(s, ctx.redis)

    async def model_plan(task: TaskSubmitted) -> tuple[Plan | None, list[Emit]]:
        """A plan from the configured planning endpoint (None: use the rules) and the call's usage.

        The question is sanitized first, like any prompt, and the call reserves the tenant's budget
        like any model call; a tenant at a limit is planned by the rules, which cost nothing.
        """
        if not planners or task.output_schema:
            return None, []
        if not sessions:
            sessions.append(aiohttp.ClientSession())
        e, env, question, audit = planners[0], task.envelope, task.question, []
        if sanitizer is not None:
            question, audit = await sanitized_question(sanitizer, (await rollout.current()).active, task)
        prompt = plan_prompt(question, s.max_parts)
        grant = await budgets.reserve(env.tenant_id, prompt.tokens + _PLAN_TOKENS, e.cost(prompt.tokens, _PLAN_TOKENS))
        if isinstance(grant, Refusal):
            log.info("model_plan_skipped", reason=grant.message)
            return None, []
        try:
            done = await chat(sessions[0], e, prompt.messages, max_tokens=_PLAN_TOKENS, json_output=True)
        except SwitchboardError as err:
            await budgets.release(grant)
            log.warning("model_plan_failed", endpoint=e.name, reason=str(err))
            return None, audit
        await budgets.settle(grant, done.prompt_tokens + done.completion_tokens,
                             e.cost(done.prompt_tokens, done.completion_tokens))
        usage = Usage(model=e.model_name, prompt_tokens=done.prompt_tokens, completion_tokens=done.completion_tokens)
        spent = [Emit("usage.tokens", TokenUsage(envelope=child_envelope(task.envelope, "usage.plan"),
                                                 user_id=task.principal.user_id, endpoint=e.name, usage=usage,
                                                 cost_usd=round(e.cost(usage.prompt_tokens,
                                                                       usage.completion_tokens), 9),
                                                 task_type="plan"),
                      key=task.envelope.tenant_id)] + audit
        try:
            plan = plan_from_json(done.text, max_nodes=s.max_parts, max_question_chars=s.max_question_chars)
        except PlanError as err:
            log.warning("model_plan_refused", endpoint=e.name, reason=str(err))
            return None, spent
        if sanitizer is not None:  # the parts are searched with the values (never sent to a model with them)
            plan = tuple([replace(n, question=await sanitizer.unmask(env.tenant_id, env.task_id, n.question))
                          for n in plan])
        return plan, spent

    async def warmup() -> None:  # a planner that masks planning prompts loads its NER pipeline before it is ready
        if sanitizer is not None and planners:
            await asyncio.to_thread(sanitizer.detector.warm)

    def task_of(state: TaskState) -> TaskSubmitted:
        return codec.decode(state.task)

    async def submitted(task: TaskSubmitted) -> list[Emit]:
        now = int(time.time() * 1000)
        if s.token_secrets:  # the token, not the message, says who asks
            vouched = verify(s.token_secrets, task.principal_token, now_s=now / 1000)
            if vouched.tenant_id != task.envelope.tenant_id:
                raise SemanticError(f"the principal token is for tenant {vouched.tenant_id!r}, the task for "
                                    f"{task.envelope.tenant_id!r}", code="tenant_mismatch")
            task = task.model_copy(update={"principal": vouched})
        admit(task, max_question_chars=s.max_question_chars, now_ms=now)
        check = Check(task.principal, "submit_task", "Task", task.envelope.task_id, {"tenant": task.envelope.tenant_id})
        engine, (verdict,) = await rollout.decide([check], task.envelope.task_id)
        if not verdict.allowed:
            raise PolicyDenied(verdict.explain(check), verdict.policy_ids, engine.version)
        # every event of the task carries the version of the policy set that admitted it
        task = task.model_copy(update={"envelope": task.envelope.model_copy(update={"policy_version": engine.version})})
        env = task.envelope
        name = keys.task(env.tenant_id, env.task_id)
        cancelled = [Emit("tasks.completed", completion(env, compose(rule_plan(task, s.max_parts), {},
                                                                     closed=TaskStatus.cancelled)))]
        if await flow.status(name) == TaskStatus.cancelled.value and (await flow.load(name)) is None:
            return cancelled  # a cancellation overtook it: plan nothing, spend nothing
        proposed, spent = await model_plan(task)
        plan = proposed or rule_plan(task, s.max_parts)
        deadline = task.deadline_ms or int(env.created_at.timestamp() * 1000 + s.task_deadline_s * 1000)
        fired = await flow.start(name, codec.encode(task), plan, deadline)
        if fired is None:
            return cancelled
        state = await flow.load(name)
        log.info("task_planned", chains=len(state.plan), started=fired)
        return start_steps(task_of(state), state.plan, fired) + spent + [
            submit_audit(task, Decision.allow, policy_ids=verdict.policy_ids)]

    async def finish(name: str, state: TaskState, closed: TaskStatus | None = None, forget: bool = True) -> Emit:
        composed = compose(state.plan, state.results, closed=closed)
        await flow.finish(name, composed.status.value, forget_deadline=forget)
        log.info("task_completed", status=composed.status.value, unfinished=composed.unfinished)
        task = task_of(state)
        result = completion(task.envelope, composed)
        if sanitizer is not None and result.answer:  # values back for a principal the policies let see them
            answer, shown = await sanitizer.reveal((await rollout.current()).active, task.principal,
                                                   task.envelope.task_id, result.answer)
            if shown:
                result = result.model_copy(update={"answer": answer})
        return Emit("tasks.completed", result)

    async def done(step: StepDone) -> list[Emit]:
        env = step.envelope
        name = keys.task(env.tenant_id, env.task_id)
        result = NodeResult(step.status, step.answer, tuple(step.citations),
                            (step.usage,) if step.usage.model else (), tuple(step.reasons), step.degraded)
        moved = await flow.advance(name, env.step_id, result)
        if moved.status in ("unknown", "unknown_step"):
            raise DeterministicError(f"no record of step {env.step_id} of task {env.task_id}: it expired or was "
                                     "never planned", code="unknown_task")
        if not moved.fire and not moved.closes:
            return []
        state = await flow.load(name)
        out = start_steps(task_of(state), state.plan, moved.fire)
        if moved.closes:
            out.append(await finish(name, state))
        return out

    async def cancel(request: TaskCancel) -> list[Emit]:
        env = request.envelope
        name = keys.task(env.tenant_id, env.task_id)
        status, mine = await flow.close(name, TaskStatus.cancelled.value, "cancel", remember=True)
        log.info("task_cancel_requested", by=request.requested_by, status=status, applied=mine)
        if not mine:
            return []  # unknown, or already finished: its result stands
        return [await finish(name, await flow.load(name), TaskStatus.cancelled)]

    swept: list[str] = []

    async def sweep() -> list[Emit]:
        """Time out overdue tasks. A deadline is forgotten only once its result was sent (``forget``), so a
        replica that dies in between leaves it for the next sweep, which sends the same result again."""
        out = []
        for name in await flow.overdue(int(time.time() * 1000)):
            status, mine = await flow.close(name, TaskStatus.timed_out.value, "deadline")
            if mine:
                out.append(await finish(name, await flow.load(name), TaskStatus.timed_out, forget=False))
            if status not in ("running", "closing"):
                swept.append(name)
        return out

    async def forget() -> None:
        await flow.forget_deadlines(swept)
        swept.clear()

    def refused(task: TaskSubmitted, err: SwitchboardError) -> list[Emit]:
        ids, version = (err.policy_ids, err.version) if isinstance(err, PolicyDenied) else ((), "")
        return [submit_audit(task, Decision.deny, f"{err.code}: {err}", ids, version)]

    return Parts([Route("tasks.submitted", submitted, on_rejected=refused), Route("steps.done", done),
                  Route("tasks.cancel", cancel, reports="nobody")],
                 timers=[Timer(0.5, sweep, after=forget)], warmup=warmup)


spec = AgentSpec("planner", routes)
