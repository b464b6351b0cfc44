"""A counting semaphore in Redis: at most ``limit`` holders of a key at once, across every replica.

An endpoint's ``concurrency`` is a promise to whoever serves it, so it binds the whole mesh, not
each executor replica. A holder takes a lease (a member of a sorted set scored by its expiry) in
one script call when fewer than ``limit`` unexpired leases exist, and gives it back (removes its
member) when its call ends. A replica that dies holding leases frees them when they expire, so a
crash never shrinks an endpoint's capacity for longer than a lease's lifetime.

While the set is full, ``take`` waits, polling with a growing pause: the caller's window stops
taking messages meanwhile, which is the backpressure.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid

import redis.asyncio as aioredis

from mesh.io.pipelined import Batch, Queue, run

__all__ = ["Leases"]

_TAKE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  return 1
end
return 0
"""


class Leases:
    """Leases kept in sorted sets (member: lease id, score: expiry in ms), shared through Redis."""

    def __init__(self, redis: aioredis.Redis, *, poll_s: float = 0.01, max_poll_s: float = 0.2) -> None:
        self._redis = redis
        self._take = redis.register_script(_TAKE)
        self._poll, self._max_poll = poll_s, max_poll_s

    def taking(self, key: str, limit: int, ttl_s: float) -> Queue:
        """``try_take`` as commands for a batch (``mesh.io.pipelined``): its answer is the lease or None."""
        now_ms, lease = int(time.time() * 1000), uuid.uuid4().hex
        ttl_ms = max(1, int(ttl_s * 1000))

        def queue(b: Batch):
            b.script(self._take, [key], [now_ms, limit, now_ms + ttl_ms, lease, ttl_ms])
            return lambda replies: lease if replies[0] else None
        return queue

    async def try_take(self, key: str, limit: int, ttl_s: float) -> str | None:
        """A lease in ``key`` if fewer than ``limit`` are held, else None."""
        return await run(self._redis, self.taking(key, limit, ttl_s), "taking a lease")

    async def take(self, key: str, limit: int, ttl_s: float) -> str:
        """A lease in ``key``, waiting while ``limit`` are held."""
        pause = self._poll
        while (lease := await self.try_take(key, limit, ttl_s)) is None:
            await asyncio.sleep(pause * random.uniform(0.5, 1.0))
            pause = min(pause * 2, self._max_poll)
        return lease

    async def give_back(self, key: str, lease: str) -> None:
        await run(self._redis, self.giving_back(key, lease), "giving a lease back")

    @staticmethod
    def giving_back(key: str, lease: str) -> Queue:
        def queue(b: Batch) -> None:
            b.pipe.zrem(key, lease)
        return queue
