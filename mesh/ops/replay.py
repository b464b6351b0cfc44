"""Re-driving recorded tasks through the mesh in an isolated namespace (`switchboard replay`).

A replay reads the recorded task from the topics (``mesh.ops.task_log``), then starts the agents
again under a namespace of their own: topic prefix ``<prefix>replay.<id>.`` and Redis key prefix
``<key prefix>replay:<id>:``, on the same broker and Redis. The namespace starts with copies of
what the task read: the tenant's documents and the policy sets (the embedding cache is shared; it
is content-addressed). By default every model answer the recording holds is put in the
executor's call memo under its step's idempotency key, and the executor runs with
``model_outputs=recorded``: it reuses those answers and never calls a model, so a replay costs
nothing and reproduces the run. ``live`` calls the models again. ``policy_dir`` replays under
other policies, to see what a change would have done.

The recorded submission is re-sent with the same task id (so the same idempotency keys) and its
deadline moved by as long as has passed since. The replay ends with a diff of the two runs: the
steps each took, the routes, the policy decisions, the documents retrieved, and the result.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import redis

from mesh.errors import DeterministicError, TransientError
from mesh.io.bus import Publisher, Tail, ensure_topics
from mesh.io.keys import Keys
from mesh.io.redis_clients import sync_redis
from mesh.llm.call_memo import memo_blob, memo_key
from mesh.llm.prompt import assemble
from mesh.ops.stack import Mesh
from mesh.ops.task_log import Event, as_json, read_task
from mesh.security.sealing import codec_for, sealer_for
from mesh.settings import Settings
from mesh.wire.topics import Topics
from schemas import models as m

__all__ = ["Replay", "recorded_outputs", "diff", "namespace_settings", "submission", "submissions_between"]

#: the agents a replay runs (the auditor only chains audit records; a replay needs none)
AGENTS = ["planner", "retriever", "index", "executor", "validator"]


def recorded_outputs(events: list[Event]) -> dict[str, dict]:
    """Model answers of the recording, in the executor's call-memo form, by the step's idempotency key.

    Each names the hash of the prompt it answered, so a replay whose retrieval changed gets no
    answer for a prompt the model never saw.
    """
    by_id = {e.event_id: e for e in events}
    prompts = {e.causation_id: e.record.input_sha256 for e in events  # the hash of what the model was sent
               if isinstance(e.record, m.AuditRecord) and e.record.action == "use_model"
               and e.record.reason.startswith("answered")}
    out = {}
    for e in events:
        cause = by_id.get(e.causation_id or "")
        if isinstance(e.record, m.ValidateStep) and cause is not None and isinstance(cause.record, m.ExecuteStep):
            v, step = e.record, cause.record
            sent = prompts.get(cause.event_id) or assemble(
                step.question, step.passages, output_schema=step.output_schema, feedback=step.feedback).sha256
            out[step.envelope.idempotency_key] = {
                "endpoint": v.endpoint, "text": v.answer, "citations": [c.model_dump() for c in v.citations],
                "finish_reason": v.finish_reason, "usage": v.usage.model_dump(), "reason": v.route_reason,
                "budget": None, "degraded": v.degraded, "prompt_sha256": sent}
    return out


def namespace_settings(settings: Settings, replay_id: str, *, live: bool, policy_dir: Path | None) -> Settings:
    """The settings of the replay's agents: their own topics, keys and run directory; same broker and Redis."""
    return settings.model_copy(update={
        "topic_prefix": f"{settings.topic_prefix}replay.{replay_id}.",
        "key_prefix": Keys(settings.key_prefix).replay_prefix(replay_id),
        "run_dir": Path(settings.run_dir) / "replays" / replay_id,
        "embedded": False, "producer_idempotence": settings.idempotent_producers, "cache_prefix": settings.cache_prefix or settings.key_prefix,
        "model_outputs": "live" if live else "recorded",
        "token_secret": None,  # the recorded task was admitted; its token may have expired since
        "policy_dir": policy_dir or settings.policy_dir, "metrics_port": 0,
        "kek_file": settings.kek_path})  # the recording's data keys: its documents and answers are sealed with them


def _copy_keys(r: redis.Redis, pattern: str, old: Keys, new: Keys) -> int:
    """Copy every key of ``old`` matching ``pattern`` to the same name under ``new``; returns how many."""
    n = 0
    for key in r.scan_iter(pattern, count=1000):
        dumped = r.dump(key)
        if dumped is not None:
            r.restore(old.moved(key.decode(), new), 0, dumped, replace=True)
            n += 1
    return n


def submissions_between(settings: Settings, start_ms: int, end_ms: int) -> list[str]:
    """Ids of the tasks submitted between two times (epoch milliseconds)."""
    from mesh.io.bus import read_all

    codec, out = codec_for(settings), []
    for msg in read_all(settings, Topics(settings.topic_prefix).name("tasks.submitted"), idle_s=1.0, timeout_s=300):
        try:
            task = codec.decode(msg.value())
        except DeterministicError:
            continue
        at = int(task.envelope.created_at.timestamp() * 1000)
        if isinstance(task, m.TaskSubmitted) and start_ms <= at <= end_ms and task.envelope.task_id not in out:
            out.append(task.envelope.task_id)
    return out


@dataclass
class Replay:
    """One replay namespace: start it, replay tasks in it, stop it."""

    settings: Settings
    live: bool = False
    policy_dir: Path | None = None
    say: Callable[[str], None] = lambda s: None

    def __post_init__(self) -> None:
        self.replay_id = uuid.uuid4().hex[:8]
        self.ns = namespace_settings(self.settings, self.replay_id, live=self.live, policy_dir=self.policy_dir)
        self._r = sync_redis(self.settings, socket_timeout=self.settings.connect_timeout_s)
        self._mesh: Mesh | None = None

    def start(self, timeout_s: float = 180.0) -> None:
        ensure_topics(self.ns)
        live, ns = Keys(self.settings.key_prefix), Keys(self.ns.key_prefix)
        # the live policy sets, unless the replay is under other policies (those of policy_dir are then active)
        copied = _copy_keys(self._r, live.policies(), live, ns) if self.policy_dir is None else 0
        self.say(f"namespace {self.ns.topic_prefix} ({copied} policy keys copied); starting {', '.join(AGENTS)}")
        self._mesh = Mesh(self.ns, agents=AGENTS)
        self._mesh.start(self.say, timeout_s=timeout_s)

    def stop(self) -> None:
        if self._mesh is not None:
            self._mesh.stop()
        self._r.close()

    def __enter__(self) -> Replay:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def run(self, task_id: str, timeout_s: float = 120.0, recorded: list[Event] | None = None) -> dict:
        """Replay one recorded task (its events read from the topics unless given); returns both runs and
        their differences."""
        recorded = read_task(self.settings, task_id) if recorded is None else recorded
        submitted = submission(self.settings, task_id, recorded)
        tenant = submitted.envelope.tenant_id
        live, ns = Keys(self.settings.key_prefix), Keys(self.ns.key_prefix)
        _copy_keys(self._r, live.tenant_docs(tenant), live, ns)
        memo = recorded_outputs(recorded) if not self.live else {}
        sealer = sealer_for(self.settings) if self.settings.encrypt_at_rest else None
        for key, answer in memo.items():
            self._r.set(memo_key(ns, tenant, key), memo_blob(sealer, tenant, answer), ex=self.ns.idempotency_ttl_s)
        task = _moved(submitted, timeout_s)
        codec, topics = codec_for(self.settings), Topics(self.ns.topic_prefix)
        tail = Tail(self.ns, topics.name("tasks.completed"))
        try:
            pub = Publisher(self.ns)
            headers = {"traceparent": task.envelope.traceparent.encode()} if task.envelope.traceparent else None
            pub.send(topics.name("tasks.submitted"), task_id.encode(), codec.encode(task), headers)
            pub.flush()
            if tail.first(lambda msg: msg.key() == task_id.encode(), timeout_s) is None:
                raise TransientError(f"the replay of {task_id} gave no result within {timeout_s:.0f}s (logs in "
                                     f"{self.ns.run_dir}/logs)", code="replay_timeout")
        finally:
            tail.close()
        time.sleep(0.5)  # usage and audit events follow the result
        replayed = read_task(self.ns, task_id)
        return {"task_id": task_id, "namespace": self.ns.topic_prefix, "mode": "live" if self.live else "recorded",
                "recorded_outputs": len(memo), "differences": diff(recorded, replayed),
                "recorded": as_json(task_id, recorded), "replayed": as_json(task_id, replayed)}


def submission(settings: Settings, task_id: str, recorded: list[Event] | None = None) -> m.TaskSubmitted:
    """The task as it was submitted (read from the topics unless ``recorded`` holds its events), or a
    DeterministicError saying why there is none to replay."""
    events = read_task(settings, task_id) if recorded is None else recorded
    found = next((e.record for e in events if isinstance(e.record, m.TaskSubmitted)), None)
    if found is None:
        raise DeterministicError(f"task {task_id} has no submission on {settings.topic_prefix}tasks.submitted "
                                 "(wrong id or topic prefix, or past the topic's retention)", code="not_recorded")
    return found


def _moved(task: m.TaskSubmitted, timeout_s: float) -> m.TaskSubmitted:
    """The submission as recorded, its deadline as far ahead as it was (at least the replay's wait)."""
    if task.deadline_ms is None:
        return task
    budget = task.deadline_ms - int(task.envelope.created_at.timestamp() * 1000)
    return task.model_copy(update={"deadline_ms": int(time.time() * 1000) + max(budget, int(timeout_s * 1000))})


def _facts(events: list[Event]) -> dict[tuple[str, str], str]:
    """What a diff compares, by (aspect, where): steps taken, retrieval, routes, decisions, the result."""
    out: dict[tuple[str, str], str] = {}
    for e in events:
        r, where = e.record, f"step {e.step_id}" + (f" attempt {e.attempt}" if e.attempt else "")
        if isinstance(r, (m.RetrieveStep, m.ExecuteStep, m.ValidateStep, m.StepDone)):
            out[("step", f"{where} {e.topic}")] = "taken"
        if isinstance(r, m.ExecuteStep):
            out[("retrieval", where)] = ", ".join(r.ranking[:10]) or "(nothing)"
        elif isinstance(r, m.ValidateStep):
            out[("route", where)] = r.endpoint
            out[("output", where)] = r.answer
        elif isinstance(r, m.StepDone):
            out[("step result", where)] = r.status.value + (f": {'; '.join(r.reasons)}" if r.reasons else "")
        elif isinstance(r, m.AuditRecord) and e.topic == "audit.events":
            out[("decision", f"{r.action} {r.resource}")] = r.decision.value
        elif isinstance(r, m.TaskCompleted):
            out[("result", "status")] = r.status.value
            out[("result", "answer")] = r.answer
            out[("result", "citations")] = ", ".join(c.doc_id for c in r.citations)
            if r.rejection is not None:
                out[("result", "rejection")] = f"{r.rejection.code}: {r.rejection.message}"
    return out


def diff(recorded: list[Event], replayed: list[Event]) -> list[dict]:
    """Each fact that differs between the two runs (absent on one side: None)."""
    a, b = _facts(recorded), _facts(replayed)
    return [{"aspect": k[0], "where": k[1], "recorded": a.get(k), "replayed": b.get(k)}
            for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
