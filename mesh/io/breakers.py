"""Circuit breakers shared by every replica: pybreaker's state machine, its state in Redis.

Each breaker is a ``pybreaker.CircuitBreaker`` over ``CircuitRedisStorage``: its state, failure
count and opening time live in Redis under ``Keys.breaker(name)``, so when one replica's
calls trip it, every replica of the agent stops calling at once, and one replica's successful
half-open probe closes it for all. ``fail_max`` consecutive failures open it; after
``reset_s`` the next call is a probe (half-open): success closes it, failure opens it again.

The guarded work is often not one Python call (the index agent answers over Kafka, perhaps to
another replica), so a breaker is used in three steps, each a pybreaker transition::

    if await breaker.allow():          # False while open; moves to half-open once reset_s passed
        ...                            # call the dependency
        await breaker.succeeded()      # or: await breaker.failed(err)

pybreaker and its Redis storage are synchronous, so transitions run in a worker thread (a few
Redis round trips) and never block the event loop. The hot path skips both: ``allow`` on a
closed breaker is one async read of the same keys (none when the caller read them with its
route loads), and ``succeeded`` on a closed breaker is a script doing what pybreaker does there
(reset the failure count), sent with the message's ledger entry (``mesh.io.pipelined.after``);
a breaker the script finds half-open or open is left to pybreaker. ``is_open`` reads the same keys
asynchronously, for routing decisions that must not change state.

The Redis storage is made on first use, not at construction, so an agent starts while Redis
is away; a Redis failure during a transition is a ``TransientError`` (the step is retried).
"""

from __future__ import annotations

import asyncio
import time

import pybreaker
import redis
import redis.asyncio as aioredis

from mesh.errors import RedisUnavailable
from mesh.io.keys import Keys
from mesh.io.pipelined import Batch, Queue, after, deferring, run
from mesh.io.redis_clients import REDIS_ERRORS, async_redis, sync_redis
from mesh.observe.metrics import BREAKER_STATE, breaker_code
from mesh.settings import Settings

__all__ = ["SharedBreaker", "Breakers", "DependencyFailed", "is_open", "state_keys"]

#: A success on a closed breaker, as pybreaker records it: its failure count back to 0. KEYS: the breaker's
#: state and failure count (one breaker's namespace: under Redis Cluster they must share a slot, a hash tag
#: on the namespace). Returns the state, so a half-open (or open) breaker is handed to pybreaker.
_SUCCEEDED = """
local state = redis.call('GET', KEYS[1])
if state and state ~= 'closed' then return state end
local failures = redis.call('GET', KEYS[2])
if failures and failures ~= '0' then redis.call('SET', KEYS[2], '0') end
return 'closed'
"""
_tasks: set[asyncio.Task] = set()  # transitions handed to pybreaker from a deferred write


class DependencyFailed(Exception):
    """What a breaker is told failed (pybreaker counts an exception raised by the guarded call)."""


def _ok() -> None:
    return None


def _fail(reason: str) -> None:
    raise DependencyFailed(reason)


def state_keys(keys: Keys, name: str) -> tuple[str, str]:
    """The Redis keys of breaker ``name``'s state and opening time (pybreaker's layout)."""
    return keys.breaker_state(name), keys.breaker_opened_at(name)


def is_open(state: bytes | None, opened_at: bytes | None, reset_s: float, now: float | None = None) -> bool:
    """Whether a breaker in ``state`` refuses calls now (open, and its reset time not yet over)."""
    if state != pybreaker.STATE_OPEN.encode():
        return False
    return opened_at is None or (now or time.time()) < int(opened_at) + reset_s


class SharedBreaker:
    def __init__(self, name: str, client: redis.Redis, keys: Keys, *, fail_max: int, reset_s: float,
                 peek: aioredis.Redis | None = None) -> None:
        self.name, self.reset_s = name, reset_s
        self._client, self._namespace, self._fail_max = client, keys.breaker(name), fail_max
        self._made: tuple[pybreaker.CircuitRedisStorage, pybreaker.CircuitBreaker] | None = None
        self._peek_client = peek
        self._keys = [*state_keys(keys, name), keys.breaker_failures(name)]
        self._succeeded = peek.register_script(_SUCCEEDED) if peek is not None else None

    async def _peek(self) -> tuple[bytes | None, bytes | None, bytes | None] | None:
        """State, opening time and failure count in one async round trip (None: no async client)."""
        if self._peek_client is None:
            return None
        try:
            state, opened_at, failures = await self._peek_client.mget(self._keys)
        except REDIS_ERRORS as err:
            raise RedisUnavailable(f"redis unavailable for breaker {self.name}: {err}") from err
        return state, opened_at, failures

    def state_reading(self) -> Queue:
        """Its state as commands for a batch (``mesh.io.pipelined``), for ``allow(state)``."""
        def queue(b: Batch):
            b.pipe.get(self._keys[0])
            return lambda replies: (replies[0] or pybreaker.STATE_CLOSED.encode()).decode()
        return queue

    def _parts(self) -> tuple[pybreaker.CircuitRedisStorage, pybreaker.CircuitBreaker]:
        if self._made is None:  # the storage's constructor writes to Redis
            storage = pybreaker.CircuitRedisStorage(pybreaker.STATE_CLOSED, self._client, namespace=self._namespace)
            self._made = storage, pybreaker.CircuitBreaker(
                fail_max=self._fail_max, reset_timeout=self.reset_s, name=self.name, state_storage=storage,
                throw_new_error_on_trip=False)
        return self._made

    @property
    def state(self) -> str:
        """closed, open or half-open, as every replica sees it."""
        return self._parts()[1].current_state

    def _allow(self) -> bool:
        storage, cb = self._parts()
        if cb.current_state != pybreaker.STATE_OPEN:
            return True
        opened_at = storage.opened_at
        if opened_at is not None and time.time() < opened_at.timestamp() + self.reset_s:
            return False
        cb.half_open()  # the reset time is over: let a probe through
        return True

    def _record(self, fn, *args) -> None:
        try:
            self._parts()[1].call(fn, *args)
        except (pybreaker.CircuitBreakerError, DependencyFailed):
            pass  # the outcome is recorded; the caller already knows it

    async def _in_thread(self, fn, *args):
        try:
            out = await asyncio.to_thread(fn, *args)
            BREAKER_STATE.labels(self.name).set(breaker_code(self._parts()[1].current_state))
            return out
        except REDIS_ERRORS as err:
            raise RedisUnavailable(f"redis unavailable for breaker {self.name}: {err}") from err

    async def allow(self, state: str | None = None) -> bool:
        """May a call go out now? (False while open; the first call after ``reset_s`` is a probe.)

        The common cases (closed, or open within its reset time) are decided on one async read, or
        on none when the caller read the ``state`` a moment ago (the router's loads) and it was not
        open; only moving to half-open goes through pybreaker.
        """
        if state is not None and state != pybreaker.STATE_OPEN:
            BREAKER_STATE.labels(self.name).set(breaker_code(state))
            return True
        seen = await self._peek()
        if seen is not None:
            state, opened_at, _ = seen
            if state != pybreaker.STATE_OPEN.encode():
                BREAKER_STATE.labels(self.name).set(breaker_code((state or b"closed").decode()))
                return True
            if is_open(state, opened_at, self.reset_s):
                BREAKER_STATE.labels(self.name).set(breaker_code("open"))
                return False
        return await self._in_thread(self._allow)

    async def succeeded(self) -> None:
        """Record a success: on a closed breaker a script, with the message's ledger entry when there is one."""
        if self._peek_client is None:
            await self._in_thread(self._record, _ok)
        elif deferring():
            await after(self._peek_client, self._success(self._handed_over), f"recording a success of {self.name}")
        else:
            state = await run(self._peek_client, self._success(lambda state: state),
                              f"recording a success of {self.name}")
            if state != b"closed":
                await self._in_thread(self._record, _ok)

    def _success(self, then):
        def queue(b: Batch):
            b.script(self._succeeded, [self._keys[0], self._keys[2]], [])
            return lambda replies: then(replies[0])
        return queue

    def _handed_over(self, state: bytes) -> None:
        """A deferred success that found the breaker half-open (or open): pybreaker decides, off the message."""
        if state != b"closed":
            task = asyncio.ensure_future(self._in_thread(self._record, _ok))
            _tasks.add(task)
            task.add_done_callback(_tasks.discard)

    async def failed(self, reason: str) -> None:
        await self._in_thread(self._record, _fail, reason)

    def close(self) -> None:
        """Close it by hand (an operator who knows the dependency is back)."""
        self._parts()[1].close()


class Breakers:
    """The breakers of one process, by name, on one blocking Redis client (pybreaker's storage).

    ``source``: the settings (their Redis URL and TLS), or a plain Redis URL.
    """

    def __init__(self, source: Settings | str, keys: Keys, *, fail_max: int, reset_s: float) -> None:
        self._client = sync_redis(source, socket_timeout=2.0, socket_connect_timeout=2.0)
        self._peek = async_redis(source, socket_timeout=2.0, socket_connect_timeout=2.0)  # lazy
        self._keys, self._fail_max, self._reset_s = keys, fail_max, reset_s
        self._made: dict[str, SharedBreaker] = {}

    def get(self, name: str) -> SharedBreaker:
        if name not in self._made:
            self._made[name] = SharedBreaker(name, self._client, self._keys, fail_max=self._fail_max,
                                             reset_s=self._reset_s, peek=self._peek)
        return self._made[name]

    def close(self) -> None:
        self._client.close()
