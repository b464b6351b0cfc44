"""Building envelopes: new ones for client requests, children for every hop.

The idempotency key is deterministic from (task, step, stage), so a redelivered or
recomputed message carries the same key and the ledger can recognise it.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timezone

from schemas.models import Envelope

__all__ = ["idempotency_key", "new_envelope", "child_envelope", "now_ms", "ROOT_STEP"]

ROOT_STEP = "root"


def now_ms() -> datetime:
    """Current UTC time at Avro timestamp-millis precision."""
    now = datetime.now(timezone.utc)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def idempotency_key(task_id: str, step_id: str, stage: str, attempt: int = 0) -> str:
    """Stable key for the message that ``stage`` produces for attempt ``attempt`` of ``step_id`` of ``task_id``."""
    suffix = f"\x1f{attempt}" if attempt else ""  # attempt 0 keeps the keys of the first release
    return hashlib.sha256(f"{task_id}\x1f{step_id}\x1f{stage}{suffix}".encode()).hexdigest()[:32]


def new_envelope(tenant_id: str, stage: str, *, task_id: str | None = None, step_id: str = ROOT_STEP,
                 policy_version: str = "", traceparent: str | None = None,
                 created_at: datetime | None = None) -> Envelope:
    """Envelope for a message that starts a new causal chain (a client's task, an ingest)."""
    task_id = task_id or uuid.uuid4().hex
    return Envelope(
        event_id=uuid.uuid4().hex,
        task_id=task_id,
        step_id=step_id,
        tenant_id=tenant_id,
        idempotency_key=idempotency_key(task_id, step_id, stage),
        policy_version=policy_version,
        traceparent=traceparent,
        created_at=created_at or now_ms(),
    )


def child_envelope(parent: Envelope, stage: str, *, step_id: str | None = None, attempt: int | None = None,
                   created_at: datetime | None = None) -> Envelope:
    """Envelope for a message caused by ``parent``: same task, tenant and trace; new event.

    Within one step the attempt carries over (a retried step's messages all get keys of their
    own); a message for another step starts at attempt 0.
    """
    step = step_id or parent.step_id
    if attempt is None:
        attempt = parent.attempt if step == parent.step_id else 0
    return parent.model_copy(update={
        "event_id": uuid.uuid4().hex,
        "step_id": step,
        "idempotency_key": idempotency_key(parent.task_id, step, stage, attempt),
        "causation_id": parent.event_id,
        "attempt": attempt,
        "created_at": created_at or now_ms(),
    })
