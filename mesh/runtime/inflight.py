"""Work done once however many callers ask for it at the same time.

A caller asking for items whose work is under way waits for that work instead of starting its
own; the work runs as a task of its own, so a caller that gives up (a timeout, a cancelled
handler) does not cancel it for the others. Items are keyed per tenant, so one tenant's work is
never shared with (or revealed to) another's. Used for the embedding cache's encodings and the
scans of texts for sensitive values.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

__all__ = ["InFlight"]

V = TypeVar("V")


class InFlight(Generic[V]):
    """``run`` does the work of the items nobody is working on, and waits for the rest."""

    def __init__(self) -> None:
        self._jobs: dict[tuple[str, str], asyncio.Task] = {}

    def under_way(self, tenant: str, item: str) -> bool:
        return (tenant, item) in self._jobs

    async def run(self, tenant: str, items: list[str],
                  work: Callable[[list[str]], Awaitable[dict[str, V]]]) -> dict[str, V]:
        """Each item's result: ``work`` (given the items no job holds) runs once, as its own task."""
        jobs = {i: self._jobs.get((tenant, i)) for i in items}
        mine = [i for i, job in jobs.items() if job is None]
        if mine:
            job = asyncio.create_task(work(mine))
            for i in mine:
                self._jobs[(tenant, i)] = jobs[i] = job
            job.add_done_callback(lambda _: [self._jobs.pop((tenant, i), None) for i in mine])
        return {i: (await asyncio.shield(job))[i] for i, job in jobs.items()}
