"""Topic names and the record each carries: the routing table of the mesh.

Agents name topics by their logical names below; ``Topics(prefix)`` adds the configured prefix.
Every topic ``T`` has a dead-letter topic ``T.dlq`` carrying ``DeadLetter`` records.
"""

from __future__ import annotations

from schemas import models as m

__all__ = ["TOPICS", "DLQ_SUFFIX", "Topics", "dlq_of"]

DLQ_SUFFIX = ".dlq"

#: logical topic -> record type it carries
TOPICS: dict[str, type[m.Record]] = {
    "tasks.submitted": m.TaskSubmitted,
    "steps.retrieve": m.RetrieveStep,
    "index.queries": m.IndexQuery,
    "index.results": m.IndexResult,
    "steps.execute": m.ExecuteStep,
    "steps.validate": m.ValidateStep,
    "steps.done": m.StepDone,
    "tasks.completed": m.TaskCompleted,
    "tasks.cancel": m.TaskCancel,
    "docs.ingest": m.DocumentIngest,
    "usage.tokens": m.TokenUsage,
    "audit.events": m.AuditRecord,
    "audit.log": m.AuditRecord,
}


def dlq_of(topic: str) -> str:
    """The dead-letter topic of ``topic``."""
    return topic + DLQ_SUFFIX


class Topics:
    """Physical topic names under a prefix."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix

    def name(self, logical: str) -> str:
        if logical not in TOPICS:
            raise KeyError(f"unknown topic {logical!r}; known: {', '.join(TOPICS)}")
        return self.prefix + logical

    def logical(self, physical: str) -> str:
        """Inverse of ``name`` (a DLQ name maps to its source's logical name plus the suffix)."""
        return physical[len(self.prefix):] if physical.startswith(self.prefix) else physical

    def all(self) -> list[str]:
        """Every topic the mesh uses, dead-letter topics included."""
        names = [self.name(t) for t in TOPICS]
        return names + [dlq_of(n) for n in names]

    def records(self) -> dict[str, type[m.Record]]:
        """Every topic the mesh uses and the record it carries, dead-letter topics (``DeadLetter``) included."""
        names = {self.name(t): model for t, model in TOPICS.items()}
        return {**names, **{dlq_of(n): m.DeadLetter for n in names}}
