"""A step's question and context, sanitized: what the retriever sends the executor, and its audit event.

The question counts as internal data (class 1); each passage is of its document's class. Titles
are sanitized with their passages, since the prompt shows them too. One ``audit.events`` record
per step lists what was masked (``policy.sanitize.Sanitized.audit_json``), when anything was.
"""

from __future__ import annotations

from mesh.runtime.processor import Emit
from mesh.runtime.spec import AgentContext
from mesh.security.sealing import sealer_for
from mesh.wire.envelope import child_envelope
from policy.engine import PolicyEngine
from policy.masking import Vault
from policy.pii import Detector
from policy.sanitize import Sanitized, Sanitizer, Source
from policy.scan_process import ScanProcess
from policy.scans import Scans
from schemas.models import (
    AuditRecord,
    Classification,
    Decision,
    Envelope,
    Passage,
    Principal,
    RetrieveStep,
    TaskSubmitted,
)

__all__ = ["sanitizer_for", "sanitized", "sanitized_question", "QUESTION_CLASS"]

QUESTION_CLASS = Classification.internal.rank
_VAULT_TTL_S = 7 * 24 * 3600


def sanitizer_for(ctx: AgentContext, in_worker: bool = False) -> Sanitizer:
    """The agent's sanitizer; its NLP pipeline loads on first use (an agent that masks loads it in its warm-up),
    in a worker process of the agent's own when ``in_worker`` (``policy.scan_process``)."""
    sealer = ctx.sealer or sealer_for(ctx.settings)  # keyed hashes and the vault need keys even when nothing is sealed
    detector = Detector()
    process = ScanProcess(detector.entities, detector.threshold) if in_worker else None
    return Sanitizer(Scans(ctx.redis, ctx.keys, detector, process=process),
                     Vault(ctx.redis, ctx.keys, sealer, _VAULT_TTL_S), sealer)


def _audit(out: Sanitized, principal: Principal, envelope: Envelope, agent: str, resource: str) -> list[Emit]:
    if not out.entities:
        return []
    record = AuditRecord(envelope=child_envelope(envelope, "audit.sanitize"), agent=agent,
                         principal=f"{principal.tenant_id}/{principal.user_id}", action="sanitize",
                         resource=resource, decision=Decision.allow, reason=out.summary(),
                         sanitization=out.audit_json())
    return [Emit("audit.events", record, key=envelope.tenant_id)]


async def sanitized_question(sanitizer: Sanitizer, engine: PolicyEngine, task: TaskSubmitted) -> tuple[str, list[Emit]]:
    """The task's question masked for a planning prompt, and the audit event of what was masked."""
    out = await sanitizer.mask(engine, task.principal, task.envelope.task_id,
                               [Source("question", task.question, QUESTION_CLASS)])
    return out.texts[0], _audit(out, task.principal, task.envelope, "planner", f"task/{task.envelope.task_id}")


async def sanitized(sanitizer: Sanitizer, engine: PolicyEngine, step: RetrieveStep, packed: list[Passage],
                    classes: dict[str, int], envelope: Envelope) -> tuple[str, list[Passage], list[Emit]]:
    """The masked question and passages, and the audit event of what was masked (none when nothing was)."""
    sources = [Source("question", step.question, QUESTION_CLASS)]
    for p in packed:
        cls = classes.get(p.doc_id, Classification.restricted.rank)  # unknown: the most protected
        sources += [Source(f"title:{p.passage_id}", p.title, cls), Source(f"passage:{p.passage_id}", p.text, cls)]
    out = await sanitizer.mask(engine, step.principal, step.envelope.task_id, sources)
    question, rest = out.texts[0], out.texts[1:]
    passages = [p.model_copy(update={"title": rest[2 * i], "text": rest[2 * i + 1]}) for i, p in enumerate(packed)]
    return question, passages, _audit(out, step.principal, envelope, "retriever", f"step/{step.envelope.step_id}")
