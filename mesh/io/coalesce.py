"""Calls made together go to Redis together: one round trip for what is ready in the same turn.

A replica with a window of messages in flight often has several of them reach the same step at
once (a burst's ledger reads, a batch's ledger writes). ``Coalescer`` gathers the calls made
before the event loop's next turn and hands them to one batch function (an MGET, a pipeline),
then gives each caller its own result, or the batch's exception. A lone call waits for nothing
but that turn.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

__all__ = ["Coalescer"]

A = TypeVar("A")
R = TypeVar("R")


class Coalescer(Generic[A, R]):
    """``await coalescer(arg)``: ``arg`` joins the calls of this turn; ``batch(args)`` answers them all."""

    def __init__(self, batch: Callable[[list[A]], Awaitable[list[R]]], max_size: int = 256) -> None:
        self._batch, self._max = batch, max_size
        self._waiting: list[tuple[A, asyncio.Future]] = []
        self._running: set[asyncio.Task] = set()

    async def __call__(self, arg: A) -> R:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._waiting.append((arg, future))
        if len(self._waiting) == 1:
            loop.call_soon(self._flush)
        elif len(self._waiting) >= self._max:
            self._flush()
        return await future

    def _flush(self) -> None:
        calls, self._waiting = self._waiting, []
        if calls:
            task = asyncio.ensure_future(self._answer(calls))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _answer(self, calls: list[tuple[A, asyncio.Future]]) -> None:
        try:
            results = await self._batch([arg for arg, _ in calls])
        except BaseException as err:  # every caller hears of it; cancellation too
            for _, future in calls:
                if not future.done():
                    future.set_exception(err)
            if not isinstance(err, Exception):
                raise
            return
        for (_, future), result in zip(calls, results, strict=True):
            if not future.done():
                future.set_result(result)
