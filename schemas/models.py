"""One pydantic model per Avro record in this folder.

Field names, order, optionality and types must match the ``.avsc`` of the same name;
``mesh.wire.codec`` checks that at start-up and the contract tests check it in CI.
Each model names its Avro record in ``__avro__``, and its payload fields (questions, contexts,
answers) in ``__sealed__``: those are encrypted at rest when the mesh seals (``mesh.security.sealing``).
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field


class Record(BaseModel):
    """Base of every Avro-backed model: strict about unknown fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    __avro__: ClassVar[str] = ""
    __sealed__: ClassVar[frozenset[str]] = frozenset()


class Classification(str, Enum):
    public = "public"
    internal = "internal"
    confidential = "confidential"
    restricted = "restricted"

    @property
    def rank(self) -> int:
        """Position from lowest (public, 0) to highest (restricted, 3)."""
        return _CLASSIFICATION_RANK[self.value]


_CLASSIFICATION_RANK = {c.value: i for i, c in enumerate(Classification)}


class ErrorKind(str, Enum):
    transient = "transient"
    deterministic = "deterministic"
    semantic = "semantic"


class RetrievalMode(str, Enum):
    hybrid = "hybrid"
    lexical = "lexical"
    dense = "dense"


class DocumentOp(str, Enum):
    upsert = "upsert"
    delete = "delete"


class StepStatus(str, Enum):
    passed = "passed"
    no_answer = "no_answer"
    failed = "failed"
    degraded = "degraded"


class TaskStatus(str, Enum):
    answered = "answered"
    no_answer = "no_answer"
    failed = "failed"
    rejected = "rejected"
    degraded = "degraded"
    timed_out = "timed_out"
    cancelled = "cancelled"


class Decision(str, Enum):
    allow = "allow"
    deny = "deny"


class Envelope(Record):
    __avro__ = "switchboard.Envelope"
    event_id: str = Field(min_length=1)
    task_id: str = Field(min_length=1)
    step_id: str = Field(min_length=1)
    tenant_id: str = Field(min_length=1)
    idempotency_key: str = Field(min_length=1)
    causation_id: str | None = None
    attempt: int = Field(default=0, ge=0)
    policy_version: str = ""
    traceparent: str | None = None
    tracestate: str | None = None
    created_at: datetime


class Principal(Record):
    __avro__ = "switchboard.Principal"
    tenant_id: str = Field(min_length=1)
    user_id: str = Field(min_length=1)
    groups: list[str] = []
    clearance: Classification = Classification.internal
    roles: list[str] = []


class AccessAttributes(Record):
    __avro__ = "switchboard.AccessAttributes"
    tenant_id: str = Field(min_length=1)
    groups: list[str] = []
    classification: Classification = Classification.internal


class AccessFilter(Record):
    __avro__ = "switchboard.AccessFilter"
    tenant_id: str = Field(min_length=1)
    groups: list[str] = []
    clearance: Classification = Classification.internal

    def permits(self, access: AccessAttributes) -> bool:
        """Same tenant, classification within clearance, and a shared group where the document names any."""
        return (access.tenant_id == self.tenant_id
                and access.classification.rank <= self.clearance.rank
                and (not access.groups or not set(access.groups).isdisjoint(self.groups)))


class DocumentIngest(Record):
    __avro__ = "switchboard.DocumentIngest"
    __sealed__ = frozenset(("title", "text"))
    envelope: Envelope
    op: DocumentOp = DocumentOp.upsert
    doc_id: str = Field(min_length=1)
    title: str = ""
    text: str = ""
    access: AccessAttributes


class TaskSubmitted(Record):
    __avro__ = "switchboard.TaskSubmitted"
    __sealed__ = frozenset(("question",))
    envelope: Envelope
    question: str = Field(min_length=1)
    principal: Principal
    top_k: int = Field(default=5, ge=1, le=100)
    deadline_ms: int | None = None
    output_schema: str | None = None
    principal_token: str | None = None


class Passage(Record):
    __avro__ = "switchboard.Passage"
    __sealed__ = frozenset(("title", "text"))
    doc_id: str
    passage_id: str
    title: str = ""
    text: str
    score: float = 0.0


class RetrieveStep(Record):
    __avro__ = "switchboard.RetrieveStep"
    __sealed__ = frozenset(("question",))
    envelope: Envelope
    question: str = Field(min_length=1)
    principal: Principal
    top_k: int = Field(default=5, ge=1, le=100)
    mode: RetrievalMode = RetrievalMode.hybrid
    candidates: int = Field(default=100, ge=1, le=1000)
    output_schema: str | None = None
    grant: str | None = None


class IndexQuery(Record):
    __avro__ = "switchboard.IndexQuery"
    __sealed__ = frozenset(("text",))
    envelope: Envelope
    query_id: str = Field(min_length=1)
    text: str
    filter: AccessFilter
    allow: list[str] | None = None
    k: int = Field(default=5, ge=1, le=1000)
    version: int | None = Field(default=None, ge=0)  # the store's version the retriever searched
    grant: str | None = None


class IndexResult(Record):
    __avro__ = "switchboard.IndexResult"
    envelope: Envelope
    query_id: str = Field(min_length=1)
    hits: list[Passage] = []
    searched: int = 0


class ExecuteStep(Record):
    __avro__ = "switchboard.ExecuteStep"
    __sealed__ = frozenset(("question", "feedback"))  # feedback quotes the answer
    envelope: Envelope
    question: str
    principal: Principal
    passages: list[Passage] = []
    ranking: list[str] = []
    scores: list[float] = []
    degraded: str | None = None
    output_schema: str | None = None
    avoid: list[str] = []
    max_tokens: int = Field(default=0, ge=0)
    feedback: list[str] = []
    grant: str | None = None


class Citation(Record):
    __avro__ = "switchboard.Citation"
    __sealed__ = frozenset(("title",))
    doc_id: str
    passage_id: str
    title: str = ""


class Usage(Record):
    __avro__ = "switchboard.Usage"
    model: str
    prompt_tokens: int = Field(default=0, ge=0)
    completion_tokens: int = Field(default=0, ge=0)


class ValidateStep(Record):
    __avro__ = "switchboard.ValidateStep"
    __sealed__ = frozenset(("question", "answer"))
    envelope: Envelope
    question: str
    principal: Principal
    passages: list[Passage] = []
    answer: str
    citations: list[Citation] = []
    finish_reason: str = "stop"
    usage: Usage
    output_schema: str | None = None
    endpoint: str = ""
    route_reason: str = ""
    max_tokens: int = Field(default=0, ge=0)
    avoid: list[str] = []
    degraded: str | None = None
    grant: str | None = None


class StepFailure(Record):
    """Why a step failed or was refused, as data (``StepDone.failure``); ``message`` is for people."""

    __avro__ = "switchboard.StepFailure"
    kind: ErrorKind
    code: str
    agent: str
    policy_ids: list[str] = []
    message: str


class StepDone(Record):
    __avro__ = "switchboard.StepDone"
    __sealed__ = frozenset(("answer", "reasons"))  # reasons quote the answer
    envelope: Envelope
    status: StepStatus
    answer: str = ""
    citations: list[Citation] = []
    usage: Usage
    reasons: list[str] = []
    degraded: str | None = None
    endpoint: str = ""
    failure: StepFailure | None = None


class Rejection(Record):
    __avro__ = "switchboard.Rejection"
    kind: ErrorKind
    code: str
    message: str
    agent: str = ""
    policy_ids: list[str] = []


class TaskCompleted(Record):
    __avro__ = "switchboard.TaskCompleted"
    __sealed__ = frozenset(("answer", "degraded"))  # degraded names sub-questions
    envelope: Envelope
    status: TaskStatus
    answer: str = ""
    citations: list[Citation] = []
    usage: list[Usage] = []
    rejection: Rejection | None = None
    degraded: str | None = None
    unfinished: list[str] = []


class TaskCancel(Record):
    __avro__ = "switchboard.TaskCancel"
    __sealed__ = frozenset(("reason",))  # typed by a user: may say anything
    envelope: Envelope
    requested_by: str = Field(min_length=1)
    reason: str = ""


class TokenUsage(Record):
    __avro__ = "switchboard.TokenUsage"
    envelope: Envelope
    user_id: str
    endpoint: str
    usage: Usage
    cost_usd: float = 0.0
    budget: str | None = None
    task_type: str = ""


class AuditRecord(Record):
    __avro__ = "switchboard.AuditRecord"
    envelope: Envelope
    agent: str
    principal: str
    action: str
    resource: str
    decision: Decision
    input_sha256: str | None = None
    prev_hash: str | None = None
    chain: str = ""
    seq: int = Field(default=0, ge=0)
    reason: str = ""
    endpoint: str = ""
    model: str = ""
    policy_ids: list[str] = []
    sanitization: str | None = None


class DeadLetter(Record):
    __avro__ = "switchboard.DeadLetter"
    topic: str
    partition: int
    offset: int
    key: bytes | None = None
    value: bytes | None = None
    headers: dict[str, bytes] = {}
    error_kind: ErrorKind
    reason: str
    agent: str
    failed_at: datetime


#: Every top-level record that travels on a topic, by Avro full name.
RECORDS: dict[str, type[Record]] = {
    m.__avro__: m
    for m in (
        DocumentIngest, TaskSubmitted, RetrieveStep, IndexQuery, IndexResult,
        ExecuteStep, ValidateStep, StepDone, TaskCompleted, TaskCancel, TokenUsage,
        AuditRecord, DeadLetter,
    )
}
