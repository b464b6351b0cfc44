"""Retry policy as data, and the one loop that applies it.

Only errors whose type says ``retriable`` are retried; everything else propagates at once.
Delays grow exponentially from ``initial_s`` by ``multiplier`` up to ``cap_s``, with full
jitter, so replicas that failed together do not retry together.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from mesh.errors import SwitchboardError

__all__ = ["RetryPolicy", "retry"]

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry a transient failure."""

    attempts: int = 4
    initial_s: float = 0.05
    multiplier: float = 2.0
    cap_s: float = 2.0

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.initial_s < 0 or self.multiplier < 1 or self.cap_s < self.initial_s:
            raise ValueError(f"retry policy {self}: needs attempts >= 1, initial_s >= 0, multiplier >= 1 and "
                             "cap_s >= initial_s")

    def schedule(self) -> list[float]:
        """The upper bound of each pause, in order (the pauses themselves are drawn under them)."""
        return [min(self.cap_s, self.initial_s * self.multiplier ** (n - 1)) for n in range(1, self.attempts)]

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Sleep before retry number ``attempt`` (1-based): full jitter under the exponential bound."""
        return (rng or random).uniform(0, min(self.cap_s, self.initial_s * self.multiplier ** (attempt - 1)))


async def retry(policy: RetryPolicy, fn: Callable[[], Awaitable[T]],
                on_retry: Callable[[int, BaseException, float], None] | None = None) -> T:
    """Call ``fn`` until it succeeds, raises a non-retriable error, or runs out of attempts."""
    attempt = 1
    while True:
        try:
            return await fn()
        except SwitchboardError as err:
            if not err.retriable or attempt >= policy.attempts:
                raise
            pause = policy.delay(attempt)
            if on_retry:
                on_retry(attempt, err, pause)
            await asyncio.sleep(pause)
            attempt += 1
