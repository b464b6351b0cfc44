"""Token accounting: ``usage.tokens`` rolled up per tenant, user, model, endpoint, task type or task.

Every model call is one ``TokenUsage`` event (the executor's answers, the planner's plans), with
the tokens the endpoint reported and their cost. The roll-up reads the topic, so it needs no
state of its own and agrees with what was billed; ``usage.tokens`` retention bounds how far back
it can look.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from mesh.errors import DeterministicError
from mesh.io.bus import read_all
from mesh.settings import Settings
from mesh.wire.codec import default_codec
from mesh.wire.topics import Topics
from schemas.models import TokenUsage

__all__ = ["DIMENSIONS", "parse_since", "rollup", "read_usage", "Row"]

#: what a roll-up can group by
DIMENSIONS: dict[str, Callable[[TokenUsage], str]] = {
    "tenant": lambda u: u.envelope.tenant_id,
    "user": lambda u: f"{u.envelope.tenant_id}/{u.user_id}",
    "model": lambda u: u.usage.model or "-",
    "endpoint": lambda u: u.endpoint,
    "task-type": lambda u: u.task_type or "unknown",
    "task": lambda u: u.envelope.task_id,
}

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_since(text: str) -> float:
    """Seconds in a duration like ``90s``, ``15m``, ``1h``, ``7d``; ValueError saying the form otherwise."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", text or "")
    if not found:
        raise ValueError(f"--since {text!r} is not a duration: write a number and a unit, e.g. 30m, 1h, 7d "
                         f"(units: {', '.join(_UNITS)})")
    seconds = float(found.group(1)) * _UNITS[found.group(2)]
    if seconds <= 0:
        raise ValueError(f"--since {text!r} is an empty window: give a duration above zero, e.g. 30m")
    return seconds


@dataclass
class Row:
    key: str
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def add(self, u: TokenUsage) -> None:
        self.calls += 1
        self.prompt_tokens += u.usage.prompt_tokens
        self.completion_tokens += u.usage.completion_tokens
        self.cost_usd += u.cost_usd

    def to_json(self) -> dict:
        return {"key": self.key, "calls": self.calls, "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens, "tokens": self.tokens,
                "cost_usd": round(self.cost_usd, 9)}


def rollup(events: Iterable[TokenUsage], by: str) -> tuple[list[Row], Row]:
    """Rows per ``by`` value (most tokens first) and the total; each event counted once (by event id)."""
    key_of = DIMENSIONS[by]
    rows: dict[str, Row] = {}
    total, seen = Row("total"), set()
    for u in events:
        if u.envelope.event_id in seen:  # a redelivered step re-sends its recorded usage event
            continue
        seen.add(u.envelope.event_id)
        rows.setdefault(key_of(u), Row(key_of(u))).add(u)
        total.add(u)
    return sorted(rows.values(), key=lambda r: (-r.tokens, r.key)), total


def read_usage(settings: Settings, tenant: str | None = None, since_s: float | None = None,
               idle_s: float = 1.0) -> list[TokenUsage]:
    """The ``usage.tokens`` events (of ``tenant``, of the last ``since_s`` seconds)."""
    codec, cutoff = default_codec(), (time.time() - since_s) if since_s is not None else None
    out = []
    for msg in read_all(settings, Topics(settings.topic_prefix).name("usage.tokens"), idle_s=idle_s, timeout_s=300):
        try:
            u = codec.decode(msg.value())
        except DeterministicError:
            continue
        if not isinstance(u, TokenUsage) or (tenant and u.envelope.tenant_id != tenant):
            continue
        if cutoff is not None and u.envelope.created_at.timestamp() < cutoff:
            continue
        out.append(u)
    return out
