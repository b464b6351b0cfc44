"""The in-flight window of a route: many messages handled at once, offsets acknowledged in order.

A replica takes up to ``size`` messages of a route before the first of them is done, so an
agent that waits (on a model, on Redis, on another agent) waits for many messages at once.
Two rules keep that safe:

- **Order per key.** Messages with the same key (a task's id) run one after the other, in the
  order they were consumed, when the route asks for it; messages of other keys overlap.
- **The contiguous watermark.** A message's offset is released for commit only once it and
  every earlier message of its partition are done. A replica killed with a full window has
  committed nothing past its oldest unfinished message, so every message it held comes back
  to the next owner of the partition, whose idempotency ledger answers what was already done.

The window is the backpressure: when ``size`` messages are in flight, ``submit`` waits for one
to finish, so the consuming loop stops taking messages and nothing queues in memory beyond it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from mesh.observe.logs import get_logger

__all__ = ["Watermark", "Window"]

log = get_logger("switchboard.window")


class Watermark:
    """Offsets of one partition in flight; yields the finished ones only in consumption order."""

    def __init__(self) -> None:
        self._order: deque[int] = deque()
        self._done: dict[int, Any] = {}

    def started(self, offset: int) -> None:
        self._order.append(offset)

    def finished(self, offset: int, token: Any) -> list[Any]:
        """Mark ``offset`` done; returns the tokens now safe to acknowledge, oldest first."""
        self._done[offset] = token
        ready = []
        while self._order and self._order[0] in self._done:
            ready.append(self._done.pop(self._order.popleft()))
        return ready

    def __len__(self) -> int:
        return len(self._order)


class Window:
    """Runs up to ``size`` jobs at once; jobs of one key in order when ``ordered``.

    ``ack`` is called with a job's token once that job and every earlier job of its partition
    finished. A job that raises is logged and never acknowledged: its offset holds the watermark
    back, so it is delivered again after a restart rather than skipped.
    """

    def __init__(self, size: int, ack: Callable[[Any], Awaitable[None]], *, ordered: bool = True,
                 name: str = "") -> None:
        if size < 1:
            raise ValueError(f"a window holds at least one message, not {size}")
        self.size, self.name, self._ordered, self._ack = size, name, ordered, ack
        self._slots = asyncio.Semaphore(size)
        self._last: dict[Hashable, asyncio.Task] = {}
        self._marks: dict[Hashable, Watermark] = {}
        self._running: set[asyncio.Task] = set()
        self._acking: set[asyncio.Future] = set()
        self.peak = 0

    @property
    def in_flight(self) -> int:
        return len(self._running)

    async def submit(self, partition: Hashable, offset: int, key: Hashable, token: Any,
                     job: Callable[[], Awaitable[object]]) -> None:
        """Start ``job``; waits first while the window is full (the backpressure)."""
        await self._slots.acquire()
        before = self._last.get(key) if self._ordered else None
        self._marks.setdefault(partition, Watermark()).started(offset)
        task = asyncio.create_task(self._run(before, job))
        self._running.add(task)
        self.peak = max(self.peak, len(self._running))
        if self._ordered:
            self._last[key] = task
        task.add_done_callback(lambda t: self._finished(t, partition, offset, key, token))

    async def _run(self, before: asyncio.Task | None, job: Callable[[], Awaitable[object]]) -> None:
        if before is not None:
            await asyncio.wait([before])  # its outcome is its own; only its turn matters here
        await job()

    def _finished(self, task: asyncio.Task, partition: Hashable, offset: int, key: Hashable, token: Any) -> None:
        self._running.discard(task)
        self._slots.release()
        if self._last.get(key) is task:
            del self._last[key]
        if task.cancelled():
            return
        if task.exception() is not None:
            log.error("window_job_failed", window=self.name, offset=offset, error=repr(task.exception()))
            return
        for ready in self._marks[partition].finished(offset, token):
            acked = asyncio.ensure_future(self._ack(ready))  # scheduled in order, so acknowledged in order
            self._acking.add(acked)
            acked.add_done_callback(self._acking.discard)

    async def drain(self) -> None:
        """Wait until every job started so far is done (tests, shutdown)."""
        while self._running or self._acking:
            await asyncio.wait(self._running | self._acking)
