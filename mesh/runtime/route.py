"""What an agent declares of each input (``Route``), what its handlers send (``Emit``), and a message as
consumed (``Inbound``); ``mesh.runtime.processor`` applies the runtime's rules to them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from mesh.errors import SwitchboardError
from mesh.io.pipelined import Queue
from mesh.wire.envelope import child_envelope
from schemas.models import AuditRecord, Decision, Record

__all__ = ["Emit", "Inbound", "Route", "refusal_audit"]


@dataclass(frozen=True)
class Emit:
    """A record a handler wants sent; ``key`` (default: the task id) picks the partition."""

    topic: str
    record: Record
    key: str | None = None


@dataclass(frozen=True)
class Inbound:
    """A message as consumed, before decoding."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: dict[str, bytes] = field(default_factory=dict)


@dataclass(frozen=True)
class Route:
    """One input of an agent: the logical topic and the handler for its records."""

    topic: str
    #: the handler of one record; left out, it is ``handle_many`` called with that record alone
    handle: Callable[[Record], Awaitable[list[Emit]]] | None = None
    idempotent: bool = True
    #: who hears of a failure: "client" (a TaskCompleted), "planner" (a failed StepDone, for steps of a
    #: task's DAG, so the planner decides and the client gets one result), or "nobody" (docs.ingest)
    reports: str = "client"
    #: optional batch form of ``handle``: records in, one list of emits per record out. What has arrived
    #: when the route is free (up to ``batch_size``) is handled at once; a lone message waits for nothing.
    handle_many: Callable[[list[Record]], Awaitable[list[list[Emit]]]] | None = None
    batch_size: int = 64
    #: messages with the same key (a task) are handled one after the other, in order; False lets them overlap
    ordered: bool = True
    #: what else to send when the handler refuses a record (a SemanticError), e.g. the denial's audit record
    on_rejected: Callable[[Record, SwitchboardError], list[Emit]] | None = None
    #: checked on every record before it is handled: raises ``Unauthorized`` for one it must not serve
    #: (dead-lettered and audited; ``mesh.security.step_grants``); None checks nothing
    authority: Callable[[Record], None] | None = None
    #: the handler's first Redis commands for a record (``mesh.io.pipelined``), sent with the ledger's read:
    #: the first try of ``handle`` gets their answer as ``fetched=``, a retry None (it reads for itself)
    prefetch: Callable[[Record], Queue] | None = None

    def __post_init__(self) -> None:
        if self.handle is None:
            if self.handle_many is None:
                raise TypeError(f"route {self.topic} needs handle or handle_many")
            many = self.handle_many

            async def one(record: Record) -> list[Emit]:
                return (await many([record]))[0]

            object.__setattr__(self, "handle", one)


def refusal_audit(agent: str, topic: str, record: Record, err: SwitchboardError) -> Emit:
    """The audit event of a message an agent refused to serve: who it claimed to be for, and why."""
    env, who = record.envelope, getattr(record, "principal", None)
    audit = AuditRecord(envelope=child_envelope(env, f"audit.refused.{agent}"), agent=agent,
                        principal=f"{who.tenant_id}/{who.user_id}" if who is not None else "",
                        action=f"handle:{topic}", resource=f"task/{env.task_id}/step/{env.step_id}",
                        decision=Decision.deny, reason=f"{err.code}: {err}")
    return Emit("audit.events", audit, key=env.tenant_id)
