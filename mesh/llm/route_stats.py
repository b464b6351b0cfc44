"""Endpoint load and health shared by every executor replica, in Redis.

- in flight: leases (``mesh.io.leases``), call ids scored by when the call must be over (ms), so
  a replica that dies mid-call stops counting once its call's timeout has passed; a call begins
  only while fewer than the endpoint's ``concurrency`` are in flight, across every replica;
- latency: an exponential moving average of successful calls (alpha 0.2);
- validation: an exponential moving average (alpha 0.1) of whether the endpoint's answers
  passed the validator, with a count; an endpoint that answers fast but badly (pass rate under
  ``min_pass_rate`` over at least ``min_samples`` answers) is unhealthy, until ``health_reset_s``
  without a validation lets it be tried again;
- breaker: the endpoint's ``mesh.io.breakers`` breaker, read here without changing it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import redis.asyncio as aioredis

from mesh.io.breakers import is_open, state_keys
from mesh.io.keys import Keys
from mesh.io.leases import Leases
from mesh.io.redis_clients import redis_errors
from mesh.llm.routing import Load

__all__ = ["RouteStats", "Health"]

_END = """
redis.call('ZREM', KEYS[2], ARGV[1])
if ARGV[2] == '1' then
  local old = tonumber(redis.call('HGET', KEYS[1], 'latency_ms'))
  local new = tonumber(ARGV[3])
  if old then new = 0.2 * new + 0.8 * old end
  redis.call('HSET', KEYS[1], 'latency_ms', tostring(new))
end
redis.call('EXPIRE', KEYS[1], 86400)
return 1
"""

_VALIDATED = """
local old = tonumber(redis.call('HGET', KEYS[1], 'pass_rate'))
local new = tonumber(ARGV[1])
if old then new = 0.1 * new + 0.9 * old end
redis.call('HSET', KEYS[1], 'pass_rate', tostring(new), 'validated_at', ARGV[2])
redis.call('HINCRBY', KEYS[1], 'validations', 1)
redis.call('EXPIRE', KEYS[1], 86400)
return tostring(new)
"""


@dataclass(frozen=True)
class Health:
    """When an endpoint's answers count as too often wrong."""

    min_pass_rate: float = 0.5
    min_samples: int = 10
    reset_s: float = 60.0

    def healthy(self, pass_rate: float | None, samples: int, validated_at: float | None, now: float) -> bool:
        if pass_rate is None or samples < self.min_samples or validated_at is None:
            return True
        return pass_rate >= self.min_pass_rate or now - validated_at > self.reset_s


class RouteStats:
    def __init__(self, redis: aioredis.Redis, keys: Keys, *, breaker_reset_s: float,
                 health: Health = Health()) -> None:
        self._redis, self._keys = redis, keys
        self._reset_s, self._health = breaker_reset_s, health
        self._end = redis.register_script(_END)
        self._validated = redis.register_script(_VALIDATED)
        self._leases = Leases(redis)

    def _stats(self, name: str) -> str:
        return self._keys.route(name)

    def _flight(self, name: str) -> str:
        return self._keys.route_in_flight(name)

    async def loads(self, names: list[str]) -> dict[str, Load]:
        now = time.time()
        async with redis_errors("reading endpoint load"):
            async with self._redis.pipeline(transaction=False) as pipe:
                for n in names:
                    pipe.zcount(self._flight(n), int(now * 1000), "+inf")
                    pipe.hmget(self._stats(n), "latency_ms", "pass_rate", "validations", "validated_at")
                    pipe.mget(*state_keys(self._keys, n))
                out = await pipe.execute()
        loads = {}
        for i, n in enumerate(names):
            flying, (latency, rate, samples, at), (state, opened_at) = out[3 * i: 3 * i + 3]
            healthy = self._health.healthy(float(rate) if rate else None, int(samples or 0),
                                           float(at) if at else None, now)
            loads[n] = Load(in_flight=int(flying), latency_ms=float(latency) if latency else None,
                            breaker_open=is_open(state, opened_at, self._reset_s, now),
                            breaker_state=(state or b"closed").decode(), healthy=healthy)
        return loads

    async def begin(self, name: str, timeout_s: float, limit: int) -> str:
        """Count a call as in flight until ``end`` (or its timeout), once fewer than ``limit`` are; its id."""
        return await self._leases.take(self._flight(name), limit, timeout_s)

    async def end(self, name: str, call: str, *, ok: bool, latency_ms: float) -> None:
        async with redis_errors("recording a call's outcome"):
            await self._end(keys=[self._stats(name), self._flight(name)], args=[call, "1" if ok else "0", latency_ms])

    async def validated(self, name: str, passed: bool) -> float:
        """Record whether an answer of endpoint ``name`` passed validation; returns its pass rate."""
        async with redis_errors("recording a validation"):
            return float(await self._validated(keys=[self._stats(name)], args=["1" if passed else "0", time.time()]))
