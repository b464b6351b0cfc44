"""Realistic sample records, shared by the codec and schema tests.

``samples()`` returns at least one instance of every record in ``schemas.models.RECORDS``,
with optional fields both set and left at their defaults, so a round trip exercises unions,
arrays, maps, enums, nested records and timestamps.
"""

from __future__ import annotations

from datetime import datetime

from mesh.wire.envelope import child_envelope, new_envelope, now_ms
from schemas.models import (
    AccessAttributes,
    AccessFilter,
    AuditRecord,
    Citation,
    Classification,
    DeadLetter,
    Decision,
    DocumentIngest,
    DocumentOp,
    Envelope,
    ErrorKind,
    ExecuteStep,
    IndexQuery,
    IndexResult,
    Passage,
    Principal,
    Record,
    Rejection,
    RetrieveStep,
    StepDone,
    StepFailure,
    StepStatus,
    TaskCancel,
    TaskCompleted,
    TaskStatus,
    TaskSubmitted,
    TokenUsage,
    Usage,
    ValidateStep,
)

TENANT = "acme"
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def envelope(stage: str = "submitted", **overrides) -> Envelope:
    """A root envelope with a trace, at millisecond precision (Avro timestamp-millis)."""
    env = new_envelope(TENANT, stage, traceparent=TRACEPARENT, policy_version="2024-06-01")
    return env.model_copy(update=overrides) if overrides else env


def principal(**overrides) -> Principal:
    values = dict(tenant_id=TENANT, user_id="alice", groups=["finance", "ops"], clearance=Classification.confidential)
    values.update(overrides)
    return Principal(**values)


def passage(doc_id: str = "handbook", n: int = 0, text: str | None = None, **overrides) -> Passage:
    values = dict(doc_id=doc_id, passage_id=f"{doc_id}#{n}", title=f"The {doc_id}",
                  text=text or "Kafka keeps records for seven days by default. Retention is set per topic.",
                  score=3.25)
    values.update(overrides)
    return Passage(**values)


def usage() -> Usage:
    return Usage(model="builtin-extractive", prompt_tokens=412, completion_tokens=37)


def citation(p: Passage) -> Citation:
    return Citation(doc_id=p.doc_id, passage_id=p.passage_id, title=p.title)


def samples() -> list[Record]:
    """One or more instances of every top-level record, realistic and valid."""
    root = envelope()
    step = child_envelope(root, "retrieve", step_id="s1")
    who = principal()
    hits = [passage("handbook", 0), passage("runbook", 2, text="Restart the broker with care. Check the ISR first.",
                                             score=1.5)]
    access = AccessAttributes(tenant_id=TENANT, groups=["finance"], classification=Classification.confidential)
    return [
        DocumentIngest(envelope=envelope("ingest", step_id="doc:handbook"), op=DocumentOp.upsert, doc_id="handbook",
                       title="Employee handbook", text="Kafka keeps records for seven days by default.",
                       access=access),
        DocumentIngest(envelope=envelope("ingest", step_id="doc:old"), op=DocumentOp.delete, doc_id="old",
                       access=AccessAttributes(tenant_id=TENANT)),
        TaskSubmitted(envelope=root, question="How long does Kafka keep records?", principal=who, top_k=7,
                      deadline_ms=1_893_456_000_000),
        TaskSubmitted(envelope=envelope(traceparent=None), question="Who owns the runbook?",
                      principal=principal(groups=[], clearance=Classification.public)),
        RetrieveStep(envelope=step, question="How long does Kafka keep records?", principal=who, top_k=7),
        IndexQuery(envelope=child_envelope(step, "index.query"), query_id=step.idempotency_key,
                   text="How long does Kafka keep records?",
                   filter=AccessFilter(tenant_id=TENANT, groups=["finance", "ops"],
                                       clearance=Classification.confidential), k=7, version=12),
        IndexResult(envelope=child_envelope(step, "index.result"), query_id=step.idempotency_key, hits=hits,
                    searched=42),
        IndexResult(envelope=child_envelope(step, "index.result"), query_id="q-empty"),
        ExecuteStep(envelope=child_envelope(step, "execute"), question="How long does Kafka keep records?",
                    principal=who, passages=hits),
        ValidateStep(envelope=child_envelope(step, "validate"), question="How long does Kafka keep records?",
                     principal=who, passages=hits,
                     answer="Kafka keeps records for seven days by default. [1]",
                     citations=[citation(hits[0])], finish_reason="stop", usage=usage()),
        StepDone(envelope=child_envelope(step, "done"), status=StepStatus.failed, answer="",
                 usage=usage(), reasons=["truncated: the model stopped at its token limit"]),
        StepDone(envelope=child_envelope(step, "done"), status=StepStatus.failed, usage=Usage(model=""),
                 reasons=["policy_denied: no endpoint the policies let alice use can answer this (guests-builtin)"],
                 failure=StepFailure(kind=ErrorKind.semantic, code="policy_denied", agent="executor",
                                     policy_ids=["guests-builtin"],
                                     message="no endpoint the policies let alice use can answer this")),
        StepDone(envelope=child_envelope(step, "done"), status=StepStatus.passed,
                 answer="Kafka keeps records for seven days by default. [1]", citations=[citation(hits[0])],
                 usage=usage()),
        TaskCompleted(envelope=child_envelope(step, "completed", step_id="root"), status=TaskStatus.answered,
                      answer="Kafka keeps records for seven days by default. [1]", citations=[citation(hits[0])],
                      usage=[usage(), Usage(model="other", prompt_tokens=1)]),
        TaskCompleted(envelope=child_envelope(step, "completed", step_id="root"), status=TaskStatus.rejected,
                      rejection=Rejection(kind=ErrorKind.semantic, code="question_too_long",
                                          message="the question has 5000 characters", agent="planner")),
        TaskCompleted(envelope=child_envelope(step, "completed", step_id="root"), status=TaskStatus.timed_out,
                      answer="Kafka keeps records for seven days by default. [1]", citations=[citation(hits[0])],
                      degraded="the deadline passed before p2 finished", unfinished=["p2"]),
        TaskCancel(envelope=child_envelope(root, "cancel"), requested_by="acme/alice", reason="wrong question"),
        ExecuteStep(envelope=child_envelope(step, "execute", attempt=2), question="How long?", principal=who,
                    passages=hits, output_schema='{"type": "object"}', avoid=["cheap"], max_tokens=800,
                    feedback=["truncated: the model stopped at its token limit"]),
        ValidateStep(envelope=child_envelope(step, "validate", attempt=1), question="How long?", principal=who,
                     passages=hits, answer='{"days": 7}', finish_reason="length", usage=usage(),
                     output_schema='{"type": "object"}', endpoint="cheap", route_reason="cheapest capable",
                     max_tokens=400, avoid=["pricey"]),
        StepDone(envelope=child_envelope(step, "done"), status=StepStatus.degraded,
                 answer="Kafka keeps records for seven days by default. [1]", citations=[citation(hits[0])],
                 usage=usage(), reasons=["ungrounded: 'Kafka is fast.'"], degraded="1 sentence removed",
                 endpoint="cheap"),
        TokenUsage(envelope=child_envelope(step, "usage"), user_id="alice", endpoint="builtin-extractive",
                   usage=usage(), cost_usd=0.00125),
        AuditRecord(envelope=child_envelope(root, "audit.submit"), agent="planner", principal="acme/alice",
                    action="submit_task", resource=f"task/{root.task_id}", decision=Decision.allow,
                    input_sha256="9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                    prev_hash=None),
        DeadLetter(topic="tasks.submitted", partition=3, offset=9_000_000_001, key=b"task-1",
                   value=b"\x00\xffnot avro", headers={"traceparent": TRACEPARENT.encode(), "empty": b""},
                   error_kind=ErrorKind.deterministic, reason="not Avro single-object encoding", agent="planner",
                   failed_at=now_ms()),
        DeadLetter(topic="docs.ingest", partition=0, offset=0, error_kind=ErrorKind.transient,
                   reason="retries exhausted", agent="index",
                   failed_at=datetime.fromisoformat("2024-02-29T23:59:59.999+00:00")),
    ]
