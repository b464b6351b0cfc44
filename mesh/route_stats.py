"""Endpoint load shared by every executor replica, in Redis: calls in flight, latency, breaker.

- in flight: a sorted set of call ids scored by when the call must be over, so a replica that
  dies mid-call stops counting once its call's timeout has passed;
- latency: an exponential moving average of successful calls (alpha 0.2);
- breaker: consecutive failures; at ``failures`` the breaker opens for ``reset_s``, then one
  success closes it. Shared, so every replica stops sending to a failing endpoint at once.
"""

from __future__ import annotations

import time
import uuid

import redis.asyncio as aioredis

from mesh.routing import Load
from mesh.state import redis_errors

__all__ = ["RouteStats"]

_END = """
local stats, flight = KEYS[1], KEYS[2]
redis.call('ZREM', flight, ARGV[1])
if ARGV[2] == '1' then
  local old = tonumber(redis.call('HGET', stats, 'latency_ms'))
  local new = tonumber(ARGV[3])
  if old then new = 0.2 * new + 0.8 * old end
  redis.call('HSET', stats, 'latency_ms', tostring(new), 'fails', 0, 'open_until', 0)
else
  local fails = redis.call('HINCRBY', stats, 'fails', 1)
  if fails >= tonumber(ARGV[4]) then redis.call('HSET', stats, 'open_until', ARGV[5]) end
end
redis.call('EXPIRE', stats, 86400)
return 1
"""


class RouteStats:
    def __init__(self, redis: aioredis.Redis, prefix: str, *, failures: int, reset_s: float) -> None:
        self._redis, self._prefix = redis, prefix
        self._failures, self._reset_s = failures, reset_s
        self._end = redis.register_script(_END)

    def _stats(self, name: str) -> str:
        return f"{self._prefix}route:{name}"

    def _flight(self, name: str) -> str:
        return f"{self._prefix}route:{name}:inflight"

    async def loads(self, names: list[str]) -> dict[str, Load]:
        now = time.time()
        async with redis_errors("reading endpoint load"):
            async with self._redis.pipeline(transaction=False) as pipe:
                for n in names:
                    pipe.zcount(self._flight(n), now, "+inf")
                    pipe.hmget(self._stats(n), "latency_ms", "open_until")
                out = await pipe.execute()
        loads = {}
        for i, n in enumerate(names):
            flying, (latency, open_until) = out[2 * i], out[2 * i + 1]
            loads[n] = Load(in_flight=int(flying), latency_ms=float(latency) if latency else None,
                            breaker_open=bool(open_until) and float(open_until) > now)
        return loads

    async def begin(self, name: str, timeout_s: float) -> str:
        """Count a call as in flight until ``end`` (or its timeout); returns its id."""
        call = uuid.uuid4().hex
        async with redis_errors("counting a call in flight"):
            await self._redis.zadd(self._flight(name), {call: time.time() + timeout_s})
        return call

    async def end(self, name: str, call: str, *, ok: bool, latency_ms: float) -> None:
        async with redis_errors("recording a call's outcome"):
            await self._end(keys=[self._stats(name), self._flight(name)],
                            args=[call, "1" if ok else "0", latency_ms, self._failures,
                                  time.time() + self._reset_s])
