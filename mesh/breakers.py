"""Circuit breakers shared by every replica: pybreaker's state machine, its state in Redis.

Each breaker is a ``pybreaker.CircuitBreaker`` over ``CircuitRedisStorage``: its state, failure
count and opening time live in Redis under ``<prefix>breaker:<name>``, so when one replica's
calls trip it, every replica of the agent stops calling at once, and one replica's successful
half-open probe closes it for all. ``fail_max`` consecutive failures open it; after
``reset_s`` the next call is a probe (half-open): success closes it, failure opens it again.

The guarded work is often not one Python call (the index agent answers over Kafka, perhaps to
another replica), so a breaker is used in three steps, each a pybreaker transition::

    if await breaker.allow():          # False while open; moves to half-open once reset_s passed
        ...                            # call the dependency
        await breaker.succeeded()      # or: await breaker.failed(err)

pybreaker and its Redis storage are synchronous, so transitions run in a worker thread (a few
Redis round trips) and never block the event loop. ``is_open`` reads the same keys
asynchronously, for routing decisions that must not change state.
"""

from __future__ import annotations

import asyncio
import time

import pybreaker
import redis

__all__ = ["SharedBreaker", "Breakers", "DependencyFailed", "is_open", "state_keys"]


class DependencyFailed(Exception):
    """What a breaker is told failed (pybreaker counts an exception raised by the guarded call)."""


def _ok() -> None:
    return None


def _fail(reason: str) -> None:
    raise DependencyFailed(reason)


def state_keys(prefix: str, name: str) -> tuple[str, str]:
    """The Redis keys of breaker ``name``'s state and opening time (pybreaker's layout)."""
    base = f"{prefix}breaker:{name}:{pybreaker.CircuitRedisStorage.BASE_NAMESPACE}"
    return f"{base}:state", f"{base}:opened_at"


def is_open(state: bytes | None, opened_at: bytes | None, reset_s: float, now: float | None = None) -> bool:
    """Whether a breaker in ``state`` refuses calls now (open, and its reset time not yet over)."""
    if state != pybreaker.STATE_OPEN.encode():
        return False
    return opened_at is None or (now or time.time()) < int(opened_at) + reset_s


class SharedBreaker:
    def __init__(self, name: str, client: redis.Redis, prefix: str, *, fail_max: int, reset_s: float) -> None:
        self.name, self.reset_s = name, reset_s
        self._storage = pybreaker.CircuitRedisStorage(pybreaker.STATE_CLOSED, client,
                                                      namespace=f"{prefix}breaker:{name}")
        self._cb = pybreaker.CircuitBreaker(fail_max=fail_max, reset_timeout=reset_s, name=name,
                                            state_storage=self._storage, throw_new_error_on_trip=False)

    @property
    def state(self) -> str:
        """closed, open or half-open, as every replica sees it."""
        return self._cb.current_state

    def _allow(self) -> bool:
        if self._cb.current_state != pybreaker.STATE_OPEN:
            return True
        opened_at = self._storage.opened_at
        if opened_at is not None and time.time() < opened_at.timestamp() + self.reset_s:
            return False
        self._cb.half_open()  # the reset time is over: let a probe through
        return True

    def _record(self, fn, *args) -> None:
        try:
            self._cb.call(fn, *args)
        except (pybreaker.CircuitBreakerError, DependencyFailed):
            pass  # the outcome is recorded; the caller already knows it

    async def allow(self) -> bool:
        """May a call go out now? (False while open; the first call after ``reset_s`` is a probe.)"""
        return await asyncio.to_thread(self._allow)

    async def succeeded(self) -> None:
        await asyncio.to_thread(self._record, _ok)

    async def failed(self, reason: str) -> None:
        await asyncio.to_thread(self._record, _fail, reason)

    def close(self) -> None:
        """Close it by hand (an operator who knows the dependency is back)."""
        self._cb.close()


class Breakers:
    """The breakers of one process, by name, on one blocking Redis client (pybreaker's storage)."""

    def __init__(self, redis_url: str, prefix: str, *, fail_max: int, reset_s: float) -> None:
        self._client = redis.Redis.from_url(redis_url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self._prefix, self._fail_max, self._reset_s = prefix, fail_max, reset_s
        self._made: dict[str, SharedBreaker] = {}

    def get(self, name: str) -> SharedBreaker:
        if name not in self._made:
            self._made[name] = SharedBreaker(name, self._client, self._prefix, fail_max=self._fail_max,
                                             reset_s=self._reset_s)
        return self._made[name]

    def close(self) -> None:
        self._client.close()
