"""Choosing a model endpoint for a step: pure.

Candidates are the endpoints that have every capability the step needs and a context window
that holds the prompt plus the output it may write. Among them, the router picks the lowest
expected cost of the call plus expected latency priced at ``usd_per_s``: latency is the
endpoint's moving average, stretched by how full it is (calls in flight over its concurrency
limit). Endpoints whose breaker is open, whose answers fail validation too often, that are full,
or that the step asked to avoid (their answer already failed validation) are used only when
nothing else can take the step.
Ties break by name, so every replica decides the same way from the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

from mesh.endpoints import Endpoint

__all__ = ["Load", "Choice", "NoRoute", "candidates", "choose"]

_UNMEASURED_MS = 1000.0  # latency assumed for an endpoint with no calls yet


@dataclass(frozen=True)
class Load:
    """What the replicas know of an endpoint right now (from Redis)."""

    in_flight: int = 0
    latency_ms: float | None = None  # moving average; None before the first call
    breaker_open: bool = False
    breaker_state: str = "closed"  # as read with the rest: closed, open or half-open (mesh.io.breakers)
    healthy: bool = True  # False: its answers fail validation too often (mesh.llm.route_stats.Health)


@dataclass(frozen=True)
class Choice:
    endpoint: Endpoint
    reason: str
    expected_cost_usd: float
    expected_ms: float


class NoRoute(Exception):
    """No configured endpoint can take the step at all; the message says why."""


def candidates(endpoints: tuple[Endpoint, ...] | list[Endpoint], needs: set[str], prompt_tokens: int,
               max_tokens: int) -> list[Endpoint]:
    """Endpoints able to run the step; ``NoRoute`` says what is missing when none is."""
    capable = [e for e in endpoints if needs <= set(e.capabilities)]
    if not capable:
        raise NoRoute(f"no endpoint has the capabilities {', '.join(sorted(needs))}: configure one in "
                      "SWITCHBOARD_ENDPOINTS")
    fitting = [e for e in capable if prompt_tokens + min(max_tokens, e.max_output_tokens) <= e.context_window]
    if not fitting:
        biggest = max(e.context_window for e in capable)
        raise NoRoute(f"the prompt needs {prompt_tokens} tokens plus {max_tokens} for the answer, more than the "
                      f"largest context window of a capable endpoint ({biggest}); ask a narrower question or "
                      "lower the context budget (SWITCHBOARD_CONTEXT_TOKENS)")
    return fitting


def choose(endpoints: list[Endpoint], loads: dict[str, Load], *, prompt_tokens: int, max_tokens: int,
           usd_per_s: float, avoid: frozenset[str] = frozenset()) -> Choice:
    """The best of ``endpoints`` (already ``candidates``) under current load, with the reason."""
    scored = []
    for e in endpoints:
        load = loads.get(e.name, Load())
        out = min(max_tokens, e.max_output_tokens)
        cost = e.cost(prompt_tokens, out)
        latency = (load.latency_ms if load.latency_ms is not None else _UNMEASURED_MS)
        latency *= 1 + load.in_flight / e.concurrency
        penalty = (e.name in avoid, load.breaker_open, not load.healthy, load.in_flight >= e.concurrency)
        scored.append((penalty, cost + usd_per_s * latency / 1000, e.name, e, cost, latency, load))
    scored.sort(key=lambda s: s[:3])
    penalty, _, _, best, cost, latency, load = scored[0]
    why = [f"{best.name}: ${cost:.6f} expected, ~{latency:.0f} ms, {load.in_flight}/{best.concurrency} in flight"]
    if len(scored) > 1:
        runner = scored[1]
        why.append(f"next {runner[2]}: ${runner[4]:.6f}, ~{runner[5]:.0f} ms")
        skipped = [f"{s[2]} ({', '.join(w for w, on in zip(('avoided', 'breaker open', 'failing validation', 'full'), s[0]) if on)})"
                   for s in scored[1:] if any(s[0])]
        if skipped:
            why.append("passed over " + "; ".join(skipped))
    if any(penalty):
        why.append("no better endpoint was available")
    return Choice(best, "; ".join(why), cost, latency)
