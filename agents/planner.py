"""The planner: admits tasks, tracks them in Redis, and completes them.

In:  ``tasks.submitted`` (TaskSubmitted), ``steps.done`` (StepDone).
Out: ``steps.retrieve`` (RetrieveStep), ``tasks.completed`` (TaskCompleted), ``audit.log``.
Errors: a refused task (tenant mismatch, blank or over-long question, deadline passed) is a
semantic error: the client receives a ``rejected`` TaskCompleted with the reason.

Today a task is one retrieve -> execute -> validate chain; the DAG planner deepens this.
"""

from __future__ import annotations

import hashlib
import time

from mesh.app import AgentContext, AgentSpec
from mesh.envelope import ROOT_STEP, child_envelope
from mesh.errors import DeterministicError
from mesh.runtime import Emit, Route
from mesh.state import redis_errors
from policy.admission import admit
from schemas.models import (AuditRecord, Decision, ErrorKind, Rejection, RetrieveStep, StepDone, StepStatus,
                            TaskCompleted, TaskStatus, TaskSubmitted)

__all__ = ["spec", "first_step", "completion_status"]

STEP = "s1"
_TASK_TTL_S = 7 * 24 * 3600


def first_step(task: TaskSubmitted) -> RetrieveStep:
    """The single step of a simple question."""
    return RetrieveStep(envelope=child_envelope(task.envelope, "retrieve", step_id=STEP), question=task.question,
                        principal=task.principal, top_k=task.top_k)


def completion_status(step: StepStatus) -> TaskStatus:
    return {StepStatus.passed: TaskStatus.answered, StepStatus.no_answer: TaskStatus.no_answer,
            StepStatus.failed: TaskStatus.failed}[step]


def routes(ctx: AgentContext) -> list[Route]:
    redis, keys, settings = ctx.redis, ctx.keys, ctx.settings

    async def submitted(task: TaskSubmitted) -> list[Emit]:
        admit(task, max_question_chars=settings.max_question_chars, now_ms=int(time.time() * 1000))
        env = task.envelope
        name = keys.task(env.tenant_id, env.task_id)
        async with redis_errors("recording the task"):
            async with redis.pipeline(transaction=True) as pipe:
                pipe.hset(name, mapping={"status": "running", "user": task.principal.user_id, "steps": STEP,
                                         "question_sha256": hashlib.sha256(task.question.encode()).hexdigest(),
                                         "submitted_at": env.created_at.isoformat()})
                pipe.expire(name, _TASK_TTL_S)
                await pipe.execute()
        audit = AuditRecord(envelope=child_envelope(env, "audit.submit"), agent="planner",
                            principal=f"{task.principal.tenant_id}/{task.principal.user_id}", action="submit_task",
                            resource=f"task/{env.task_id}", decision=Decision.allow,
                            input_sha256=hashlib.sha256(task.question.encode()).hexdigest())
        return [Emit("steps.retrieve", first_step(task)), Emit("audit.log", audit, key=env.tenant_id)]

    async def done(step: StepDone) -> list[Emit]:
        env = step.envelope
        name = keys.task(env.tenant_id, env.task_id)
        status = completion_status(step.status)
        async with redis_errors("completing the task"):
            async with redis.pipeline(transaction=True) as pipe:
                pipe.exists(name)
                pipe.hset(name, mapping={"status": status.value, f"step:{env.step_id}": step.status.value})
                existed, _ = await pipe.execute()
        if not existed:
            raise DeterministicError(f"no record of task {env.task_id}: it expired or was never planned",
                                     code="unknown_task")
        rejection = None
        if status is TaskStatus.failed:
            rejection = Rejection(kind=ErrorKind.semantic, code="validation_failed", agent="validator",
                                  message="the answer failed validation: " + "; ".join(step.reasons))
        completed = TaskCompleted(envelope=child_envelope(env, "completed", step_id=ROOT_STEP), status=status,
                                  answer=step.answer if rejection is None else "", citations=step.citations,
                                  usage=[step.usage], rejection=rejection)
        return [Emit("tasks.completed", completed)]

    return [Route("tasks.submitted", submitted), Route("steps.done", done)]


spec = AgentSpec("planner", routes)
