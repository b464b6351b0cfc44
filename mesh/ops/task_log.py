"""A task's life rebuilt from the topics alone (`switchboard trace TASK_ID`).

Every topic of the mesh (dead-letter topics included) is read from the start; the events of
one task are those whose envelope names it (a dead letter counts when the message it holds
does). Each event knows its topic, partition, offset, broker timestamp, the agent that produced
it (the ``sb-agent`` header; "client" when none) and the event that caused it (the envelope's
``causation_id``), so the events form a tree: the submission at the root, each hop below the
message it answered. A node's children arrive ``+ms`` after it: the time the next agent took,
queueing included.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from mesh.errors import DeterministicError
from mesh.io.bus import read_all
from mesh.runtime.processor import AGENT_HEADER
from mesh.security.sealing import codec_for
from mesh.settings import Settings
from mesh.wire.codec import AvroCodec
from mesh.wire.topics import DLQ_SUFFIX, Topics
from schemas import models as m

__all__ = ["Event", "read_task", "tree", "render", "as_json", "summary_of"]


@dataclass
class Event:
    topic: str  # logical name (a dead-letter topic keeps its suffix)
    partition: int
    offset: int
    at_ms: int
    agent: str
    kind: str
    event_id: str
    causation_id: str | None
    step_id: str
    attempt: int
    summary: str
    record: m.Record = field(repr=False)
    children: list[Event] = field(default_factory=list, repr=False)

    def as_json(self, start_ms: int) -> dict:
        return {"topic": self.topic, "partition": self.partition, "offset": self.offset, "at_ms": self.at_ms,
                "t_ms": self.at_ms - start_ms, "agent": self.agent, "kind": self.kind, "event_id": self.event_id,
                "causation_id": self.causation_id, "step_id": self.step_id, "attempt": self.attempt,
                "summary": self.summary}


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def summary_of(r: m.Record) -> str:
    """One line saying what a record is about: routes, decisions, retries, results."""
    if isinstance(r, m.TaskSubmitted):
        p = r.principal
        return f"{r.question[:70]!r} by {p.tenant_id}/{p.user_id}, top {r.top_k}"
    if isinstance(r, m.RetrieveStep):
        return f"{r.mode.value} retrieval, top {r.top_k} of {r.candidates} candidates"
    if isinstance(r, m.IndexQuery):
        return f"dense search k={r.k}" + (f", allow-list of {len(r.allow)}" if r.allow is not None else "")
    if isinstance(r, m.IndexResult):
        return f"{len(r.hits)} hits of {r.searched} searched"
    if isinstance(r, m.ExecuteStep):
        parts = [f"{len(r.passages)} passages"]
        if r.avoid:
            parts.append(f"avoid {', '.join(r.avoid)}")
        if r.feedback:
            parts.append(f"retry after: {'; '.join(r.feedback)[:80]}")
        if r.degraded:
            parts.append(f"degraded: {r.degraded}")
        return "; ".join(parts)
    if isinstance(r, m.ValidateStep):
        return f"{r.endpoint}: {r.finish_reason}, {r.usage.prompt_tokens}+{r.usage.completion_tokens} tokens; " \
               f"route: {r.route_reason[:80]}"
    if isinstance(r, m.StepDone):
        return f"{r.status.value}" + (f": {'; '.join(r.reasons)[:90]}" if r.reasons else "")
    if isinstance(r, m.TaskCompleted):
        what = r.rejection.code if r.rejection else f"{len(r.citations)} citations"
        return f"{r.status.value}: {what}" + (f"; degraded: {r.degraded[:60]}" if r.degraded else "")
    if isinstance(r, m.TokenUsage):
        return f"{r.endpoint} {r.usage.model}: {r.usage.prompt_tokens}+{r.usage.completion_tokens} tokens, " \
               f"${r.cost_usd:.6f}"
    if isinstance(r, m.AuditRecord):
        return f"{r.action} {r.resource}: {r.decision.value}" + (f" ({r.reason[:60]})" if r.reason else "")
    if isinstance(r, m.TaskCancel):
        return f"cancel requested by {r.requested_by}" + (f": {r.reason}" if r.reason else "")
    if isinstance(r, m.DeadLetter):
        return f"dead letter from {r.agent}: {r.error_kind.value}: {r.reason[:90]}"
    return type(r).__name__


def _task_of(record: m.Record, codec: AvroCodec) -> tuple[str | None, m.Envelope | None]:
    if isinstance(record, m.DeadLetter):
        try:
            inner = codec.decode(record.value)
        except DeterministicError:
            return None, None
        return _task_of(inner, codec)
    env = getattr(record, "envelope", None)
    return (env.task_id, env) if env is not None else (None, None)


def read_task(settings: Settings, task_id: str, idle_s: float = 1.0) -> list[Event]:
    """Every event of ``task_id`` on every topic, ordered by time (then topic and offset)."""
    codec, topics = codec_for(settings, need_key=False), Topics(settings.topic_prefix)
    out = []
    for msg in read_all(settings, topics.all(), idle_s=idle_s, timeout_s=300, missing_ok=True):
        try:
            record = codec.decode(msg.value())
        except DeterministicError:
            continue  # undecodable bytes name no task; `switchboard dlq list` shows them
        owner, env = _task_of(record, codec)
        if owner != task_id and msg.key() != task_id.encode():
            continue
        if env is None:
            continue
        headers = dict(msg.headers() or [])
        agent = headers.get(AGENT_HEADER, b"client").decode()
        stamp = msg.timestamp()[1] if msg.timestamp()[0] else _ms(env.created_at)
        if isinstance(record, m.DeadLetter):
            agent, stamp = record.agent, _ms(record.failed_at)
        out.append(Event(topics.logical(msg.topic()), msg.partition(), msg.offset(), stamp, agent,
                         type(record).__name__, env.event_id if not isinstance(record, m.DeadLetter) else
                         f"dlq:{env.event_id}", env.event_id if isinstance(record, m.DeadLetter) else env.causation_id,
                         env.step_id, env.attempt, summary_of(record), record))
    out.sort(key=lambda e: (e.at_ms, e.topic.endswith(DLQ_SUFFIX), e.topic, e.offset))
    return out


def tree(events: list[Event]) -> list[Event]:
    """Link each event under the one that caused it; returns the roots (normally the submission).

    The same event read twice (a replayed record) appears once, under its first copy.
    """
    by_id: dict[str, Event] = {}
    roots: list[Event] = []
    for e in events:
        e.children = []
    for e in events:
        if e.event_id in by_id:
            continue
        by_id[e.event_id] = e
    for e in by_id.values():
        parent = by_id.get(e.causation_id or "")
        (parent.children if parent is not None else roots).append(e)
    return roots


def _result(events: list[Event]) -> m.TaskCompleted | None:
    return next((e.record for e in events if isinstance(e.record, m.TaskCompleted)), None)


def as_json(task_id: str, events: list[Event]) -> dict:
    start = events[0].at_ms if events else 0
    result = _result(events)
    return {"task_id": task_id, "events": [e.as_json(start) for e in events],
            "duration_ms": (events[-1].at_ms - start) if events else 0,
            "status": result.status.value if result else None,
            "result": result.model_dump(mode="json", exclude={"envelope"}) if result else None}


def render(task_id: str, events: list[Event]) -> str:
    """The tree, one line per event: time since the start, +ms after its cause, topic, agent, what."""
    if not events:
        return f"no events of task {task_id} on any topic (wrong id, another topic prefix, or past retention)"
    start, result = events[0].at_ms, _result(events)
    head = f"task {task_id}: {len(events)} events in {events[-1].at_ms - start} ms, " + \
        (f"{result.status.value}" if result else "no result yet")
    lines = [head]

    def walk(e: Event, parent: Event | None, prefix: str, last: bool) -> None:
        branch = "" if parent is None else ("└─ " if last else "├─ ")
        gap = "" if parent is None else f" (+{e.at_ms - parent.at_ms} ms)"
        retry = f" attempt {e.attempt}" if e.attempt else ""
        lines.append(f"{prefix}{branch}t+{e.at_ms - start} ms{gap} {e.topic}[{e.partition}]@{e.offset} "
                     f"{e.agent} {e.kind}{retry}: {e.summary}")
        inner = prefix + ("" if parent is None else ("   " if last else "│  "))
        for i, child in enumerate(e.children):
            walk(child, e, inner, i == len(e.children) - 1)

    for root in tree(events):
        walk(root, None, "", True)
    return "\n".join(lines)
