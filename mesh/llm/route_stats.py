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
from collections.abc import Callable
from dataclasses import dataclass

import redis.asyncio as aioredis

from mesh.io.breakers import is_open, state_keys
from mesh.io.keys import Keys
from mesh.io.leases import Leases
from mesh.io.pipelined import Batch, Queue, after, run
from mesh.llm.routing import Load

__all__ = ["RouteStats", "Health"]

# KEYS: the endpoint's statistics and in-flight set (one endpoint's: under Redis Cluster they must share a slot)
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

    def reading(self, names: list[str]) -> Queue:
        """``loads`` as commands for a batch (``mesh.io.pipelined``): its answer is the loads."""
        now = time.time()

        def queue(b: Batch):
            for n in names:
                b.pipe.zcount(self._flight(n), int(now * 1000), "+inf")
                b.pipe.hmget(self._stats(n), "latency_ms", "pass_rate", "validations", "validated_at")
                b.mget(*state_keys(self._keys, n))
            return lambda replies: self._loads(names, replies, now)
        return queue

    async def loads(self, names: list[str]) -> dict[str, Load]:
        return await run(self._redis, self.reading(names), "reading endpoint load")

    def _loads(self, names: list[str], out: list, now: float) -> dict[str, Load]:
        loads = {}
        for i, n in enumerate(names):
            flying, (latency, rate, samples, at), (state, opened_at) = out[3 * i: 3 * i + 3]
            healthy = self._health.healthy(float(rate) if rate else None, int(samples or 0),
                                           float(at) if at else None, now)
            loads[n] = Load(in_flight=int(flying), latency_ms=float(latency) if latency else None,
                            breaker_open=is_open(state, opened_at, self._reset_s, now),
                            breaker_state=(state or b"closed").decode(), healthy=healthy)
        return loads

    def beginning(self, name: str, timeout_s: float, limit: int) -> Queue:
        """A try at ``begin`` for a batch: its answer is the call's id, or None while ``limit`` are in flight."""
        return self._leases.taking(self._flight(name), limit, timeout_s)

    async def begin(self, name: str, timeout_s: float, limit: int) -> str:
        """Count a call as in flight until ``end`` (or its timeout), once fewer than ``limit`` are; its id."""
        return await self._leases.take(self._flight(name), limit, timeout_s)

    async def end(self, name: str, call: str, *, ok: bool, latency_ms: float, deferred: bool = False) -> None:
        """The call is over: its lease given back, a success's latency averaged in. ``deferred``: with the
        message's ledger entry (``mesh.io.pipelined.after``), for a success (a failed try's lease is given
        back at once, for the next try to take)."""
        def queue(b: Batch) -> None:
            b.script(self._end, [self._stats(name), self._flight(name)], [call, "1" if ok else "0", latency_ms])
        if deferred:
            await after(self._redis, queue, "recording a call's outcome")
        else:
            await run(self._redis, queue, "recording a call's outcome")

    async def give_back(self, name: str, call: str) -> None:
        """A call taken by ``beginning`` that will not be made."""
        await self._leases.give_back(self._flight(name), call)

    def validating(self, name: str, passed: bool) -> Queue:
        """``validated`` as commands for a batch: its answer is the endpoint's pass rate."""
        def queue(b: Batch):
            b.script(self._validated, [self._stats(name)], ["1" if passed else "0", time.time()])
            return lambda replies: float(replies[0])
        return queue

    async def validated_later(self, name: str, passed: bool, then: Callable[[float], None]) -> None:
        """``validated``, written with the message's ledger entry (``mesh.io.pipelined.after``); ``then``
        gets the pass rate."""
        queue = self.validating(name, passed)

        def told(b: Batch):
            decode = queue(b)
            return lambda replies: then(decode(replies))
        await after(self._redis, told, "recording a validation")

    async def validated(self, name: str, passed: bool) -> float:
        """Record whether an answer of endpoint ``name`` passed validation; returns its pass rate."""
        return await run(self._redis, self.validating(name, passed), "recording a validation")
