"""A task's plan: a DAG of chains (retrieve -> execute -> validate), and composing their answers.

Pure. A ``Plan`` is a tuple of ``Node``s; each node is one chain for one self-contained
question, and may wait for others (``after``). The planner composes the answers itself once
every node is finished, so the compose step is implicit: it depends on all nodes. A failed
node's ``StepFailure`` travels through the composition as data (``Composed.failures``); the
reasons beside it are text for people.

``validate_plan`` is what stands between a model's plan and Redis: unique ids, known
dependencies, no cycle, bounded size, non-empty questions.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from schemas.models import Citation, ErrorKind, StepFailure, StepStatus, TaskStatus, Usage

__all__ = ["Node", "Plan", "PlanError", "NodeResult", "Composed", "plan_of_parts", "validate_plan",
           "plan_from_json", "compose", "renumber"]

_ID = re.compile(r"^[A-Za-z0-9_-]{1,16}$")
_MARKER = re.compile(r"\[(\d+)\]")


class PlanError(ValueError):
    """A plan that must not run, and why."""


@dataclass(frozen=True)
class Node:
    id: str
    question: str
    after: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {"id": self.id, "question": self.question, "after": list(self.after)}


Plan = tuple[Node, ...]


def plan_of_parts(parts: list[str]) -> Plan:
    """Independent chains, one per part: ``s1`` for a simple question, ``p1..pn`` for parts."""
    if len(parts) == 1:
        return (Node("s1", parts[0]),)
    return tuple(Node(f"p{i}", q) for i, q in enumerate(parts, 1))


def validate_plan(plan: Plan, *, max_nodes: int, max_question_chars: int) -> Plan:
    """``plan`` unchanged if it may run; otherwise ``PlanError`` saying what is wrong with it."""
    if not plan:
        raise PlanError("the plan has no steps")
    if len(plan) > max_nodes:
        raise PlanError(f"the plan has {len(plan)} steps; at most {max_nodes} are allowed")
    ids = [n.id for n in plan]
    for n in plan:
        if not _ID.match(n.id) or n.id == "root":
            raise PlanError(f"step id {n.id!r} is not 1-16 letters, digits, '-' or '_'")
        if not n.question.strip() or len(n.question) > max_question_chars:
            raise PlanError(f"step {n.id} has an empty question or one over {max_question_chars} characters")
        unknown = set(n.after) - set(ids)
        if unknown:
            raise PlanError(f"step {n.id} waits for unknown steps: {', '.join(sorted(unknown))}")
    if len(set(ids)) != len(ids):
        raise PlanError("step ids repeat")
    _topological(plan)
    return plan


def _topological(plan: Plan) -> list[str]:
    waiting = {n.id: set(n.after) for n in plan}
    order: list[str] = []
    while waiting:
        ready = sorted(i for i, deps in waiting.items() if not deps)
        if not ready:
            raise PlanError(f"the plan has a cycle among {', '.join(sorted(waiting))}")
        for i in ready:
            order.append(i)
            del waiting[i]
        for deps in waiting.values():
            deps.difference_update(ready)
    return order


def plan_from_json(text: str, **limits) -> Plan:
    """Parse and validate a model's plan: ``{"steps": [{"id", "question", "after": [...]}]}``."""
    try:
        body = json.loads(_strip_fence(text))
        steps = body["steps"] if isinstance(body, dict) else body
        plan = tuple(Node(str(s["id"]), str(s["question"]).strip(), tuple(str(a) for a in s.get("after", [])))
                     for s in steps)
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise PlanError(f"the plan is not {{\"steps\": [{{\"id\", \"question\", \"after\"}}]}}: {err}") from err
    return validate_plan(plan, **limits)


def _strip_fence(text: str) -> str:
    m = re.search(r"```(?:json)?\s*(.*?)```", text, re.S)
    return m.group(1) if m else text


@dataclass(frozen=True)
class NodeResult:
    """What a finished chain produced (its ``StepDone``, as stored in the checkpoint)."""

    status: StepStatus
    answer: str = ""
    citations: tuple[Citation, ...] = ()
    usage: tuple[Usage, ...] = ()
    reasons: tuple[str, ...] = ()
    degraded: str | None = None
    failure: StepFailure | None = None

    def to_json(self) -> str:
        return json.dumps({"status": self.status.value, "answer": self.answer,
                           "citations": [c.model_dump() for c in self.citations],
                           "usage": [u.model_dump() for u in self.usage], "reasons": list(self.reasons),
                           "degraded": self.degraded,
                           "failure": self.failure.model_dump(mode="json") if self.failure else None})

    @classmethod
    def from_json(cls, raw: str | bytes) -> NodeResult:
        d = json.loads(raw)
        failure = d.get("failure")  # absent from checkpoints written before failures were data
        return cls(StepStatus(d["status"]), d["answer"], tuple(Citation(**c) for c in d["citations"]),
                   tuple(Usage(**u) for u in d["usage"]), tuple(d["reasons"]), d["degraded"],
                   StepFailure.model_validate(failure) if failure else None)

    def failed_because(self) -> StepFailure:
        """Why this failed node failed; a step reported without a failure (an older agent's) failed unexplained."""
        return self.failure or StepFailure(kind=ErrorKind.semantic, code="step_failed", agent="",
                                           message="; ".join(self.reasons) or "the step failed")


@dataclass(frozen=True)
class Composed:
    status: TaskStatus
    answer: str
    citations: list[Citation]
    usage: list[Usage]
    degraded: str | None = None
    unfinished: list[str] = field(default_factory=list)
    #: for people: each failed node's reasons, as "node: reason"
    reasons: list[str] = field(default_factory=list)
    #: why each failed node failed, by node id, in plan order: what the client's rejection is built from
    failures: dict[str, StepFailure] = field(default_factory=dict)


def renumber(text: str, citations: tuple[Citation, ...] | list[Citation], merged: list[Citation]) -> str:
    """Rewrite ``[n]`` markers (into ``citations``) as markers into ``merged``, appending as needed."""
    def one(m: re.Match) -> str:
        n = int(m.group(1))
        if not 1 <= n <= len(citations):
            return m.group(0)
        c = citations[n - 1]
        if c not in merged:
            merged.append(c)
        return f"[{merged.index(c) + 1}]"
    return _MARKER.sub(one, text)


_NO_ANSWER = "No document you may read answers this."


def compose(plan: Plan, results: dict[str, NodeResult], *, closed: TaskStatus | None = None) -> Composed:
    """The task's result from its nodes' results; pure.

    ``closed`` is ``timed_out`` or ``cancelled`` when the task ended before every node did; the
    unfinished nodes are named and the finished ones still answered.
    """
    done = [n for n in plan if n.id in results]
    unfinished = [n.id for n in plan if n.id not in results]
    usage = [u for n in done for u in results[n.id].usage]
    failed = [n for n in done if results[n.id].status is StepStatus.failed]
    reasons = [f"{n.id}: {r}" for n in failed for r in results[n.id].reasons]
    failures = {n.id: results[n.id].failed_because() for n in failed}
    if len(plan) == 1 and done:
        r = results[plan[0].id]
        status = {StepStatus.passed: TaskStatus.answered, StepStatus.no_answer: TaskStatus.no_answer,
                  StepStatus.failed: TaskStatus.failed, StepStatus.degraded: TaskStatus.degraded}[r.status]
        answer = "" if r.status is StepStatus.failed else r.answer
        return Composed(status, answer, list(r.citations) if answer else [], usage, r.degraded, [], reasons, failures)
    merged: list[Citation] = []
    paragraphs, notes = [], []
    for n in done:
        r = results[n.id]
        if r.status is StepStatus.failed:
            notes.append(f"{n.question} could not be answered ({'; '.join(r.reasons) or 'failed'})")
            continue
        text = _NO_ANSWER if r.status is StepStatus.no_answer else renumber(r.answer, r.citations, merged)
        paragraphs.append(f"{n.question} {text}" if len(plan) > 1 else text)
        if r.degraded:
            notes.append(f"{n.question} {r.degraded}")
    if unfinished:
        notes.append(f"unfinished: {', '.join(unfinished)}")
    if closed is not None:
        status = closed
    elif done and len(failed) == len(done):
        status = TaskStatus.failed
    elif failed or any(results[n.id].degraded or results[n.id].status is StepStatus.degraded for n in done):
        status = TaskStatus.degraded
    elif all(results[n.id].status is StepStatus.no_answer for n in done):
        status = TaskStatus.no_answer
    else:
        status = TaskStatus.answered
    return Composed(status, "\n\n".join(paragraphs), merged, usage, "; ".join(notes) or None, unfinished, reasons,
                    failures)
