"""Redis round trips, counted per handled message.

``instrument()`` (once per process) wraps redis-py's asyncio client so that every command sent
on its own, every script call and every pipeline's ``execute`` counts one round trip to the
counter of the current context. The runtime opens a fresh counter (``counting``) around each
message it handles and reports it as ``switchboard_redis_roundtrips`` (a histogram per agent and
topic), so the cost of a step in Redis round trips is measured, not guessed: ``bench.mesh``
prints the mean of each hop. Tasks spawned inside a handler share the handler's counter. A
Redis Cluster client is counted the same way: a pipeline sends to its nodes at once, so it counts
one round trip however many nodes it reaches.
"""

from __future__ import annotations

from contextvars import ContextVar

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline
from redis.asyncio.cluster import ClusterPipeline, RedisCluster

__all__ = ["instrument", "counting"]

_current: ContextVar[list[int] | None] = ContextVar("switchboard_redis_trips", default=None)
_done: list[bool] = []


def _count() -> None:
    counter = _current.get()
    if counter is not None:
        counter[0] += 1


def instrument() -> None:
    """Count round trips from now on (idempotent)."""
    if _done:
        return
    _done.append(True)
    for client in (aioredis.Redis, RedisCluster):  # a pipeline queues through its own execute_command
        client.execute_command = _counted_command(client.execute_command)
    for pipeline in (Pipeline, ClusterPipeline):
        pipeline.execute = _counted_execute(pipeline.execute)


def _counted_command(command):
    async def counted(self, *args, **options):
        _count()
        return await command(self, *args, **options)
    return counted


def _counted_execute(execute):
    async def counted(self, raise_on_error: bool = True, *more, **options):
        if len(self):
            _count()
        return await execute(self, raise_on_error, *more, **options)
    return counted


class counting:
    """``with counting() as trips: ...; trips[0]`` is the round trips made inside."""

    def __enter__(self) -> list[int]:
        self._counter = [0]
        self._token = _current.set(self._counter)
        return self._counter

    def __exit__(self, *exc) -> None:
        _current.reset(self._token)
