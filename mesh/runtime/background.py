"""Work started and not awaited (a prefetch, an early scan): held until done, its failure logged.

The event loop keeps only weak references to tasks, so a task nobody holds can vanish mid-way;
and an exception nobody retrieves would be reported as never retrieved, at shutdown, far from
its cause.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine

from mesh.observe.logs import get_logger

__all__ = ["in_background"]

log = get_logger("switchboard.background")
_held: set[asyncio.Task] = set()


def in_background(work: Coroutine, what: str) -> asyncio.Task:
    """Run ``work`` on the running loop without waiting for it; a failure is logged as ``background_failed``."""
    task = asyncio.get_running_loop().create_task(work)
    _held.add(task)
    task.add_done_callback(lambda t: _done(t, what))
    return task


def _done(task: asyncio.Task, what: str) -> None:
    _held.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.warning("background_failed", work=what, error=str(task.exception()))
