"""Spans of sensitive values: their types, and how overlapping findings are settled."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ENTITY_TYPES", "NAMED", "STRUCTURED", "Found", "resolve"]

STRUCTURED = ("EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "IP_ADDRESS", "API_KEY")
NAMED = ("PERSON", "LOCATION", "ORGANIZATION")
ENTITY_TYPES = STRUCTURED + NAMED


@dataclass(frozen=True)
class Found:
    type: str
    start: int
    end: int
    score: float

    def overlaps(self, other: Found) -> bool:
        return self.start < other.end and other.start < self.end


def resolve(found: list[Found]) -> list[Found]:
    """Keep one of each overlapping group: structured first, then the higher score, then the longer."""
    ranked = sorted(found, key=lambda f: (f.type not in STRUCTURED, -f.score, -(f.end - f.start)))
    kept: list[Found] = []
    for f in ranked:
        if not any(f.overlaps(k) for k in kept):
            kept.append(f)
    return sorted(kept, key=lambda f: f.start)
