"""Several callers' Redis commands in one pipeline: one round trip where each would have made its own.

A ``Batch`` is a pipeline that callers queue their commands on (``queue(batch)``), each getting
back only its own replies. Scripts are queued by SHA (``Batch.script``), never through redis-py's
pipeline script registry, which checks ``SCRIPT EXISTS`` in a round trip of its own before every
execute. A script Redis does not know yet (first use, a restart) is loaded and run again alone,
after the rest of the pipeline, the rare extra round trips counted like any other: so a caller
never queues a read of what its script writes after the script (the script returns it instead).

A message's handler starts and ends with the runtime's ledger round trips (``mesh.io.ledger``):
what it reads first rides on the ledger's read (a route's ``prefetch``), and the writes whose
answer it does not need (``after``) ride on the ledger's write, queued before the ledger's entry,
in the order the handler asked for them. Outside a message (a timer, a test), ``after`` writes at
once. A deferred write must be safe to repeat: a failed round trip is sent again, whole.

A caller whose write must survive a failover of Redis (a ledger entry, a budget's reservation, a
checkpoint's transition) marks the batch ``critical``: with ``SWITCHBOARD_REDIS_WAIT_REPLICAS`` set,
the batch ends with ``WAIT``, in the same round trip and on the same connection, and a batch that
fewer replicas acknowledged in time fails whole (``ReplicasBehind``), so no caller acts on a write a
promoted replica might not have. A repeat is safe: each such write answers its repeat as the first.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError, RedisError

from mesh.errors import ReplicasBehind
from mesh.io.redis_clients import Durability, durability_of, redis_errors
from mesh.observe.logs import get_logger

__all__ = ["Batch", "Queue", "after", "collecting", "deferring", "replicated", "report", "run", "together"]

log = get_logger("switchboard.redis")

#: queues commands on a batch; returns what to make of their replies (in order), or None to ignore them
Queue = Callable[["Batch"], Callable[[list], Any] | None]

_deferred: ContextVar[list[Queue] | None] = ContextVar("switchboard_deferred_writes", default=None)


class Batch:
    """One pipeline (no MULTI) that several callers' commands share."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis
        self.pipe = redis.pipeline(transaction=False)
        self._durability = durability_of(redis)
        self._critical = False
        self._scripts: dict[int, tuple[AsyncScript, list, list]] = {}
        self._parts: list[tuple[int, int, Callable[[list], Any] | None]] = []

    def critical(self) -> None:
        """Answer no caller until the configured replicas hold this batch's writes (see the module)."""
        self._critical = True

    def script(self, script: AsyncScript, keys: list, args: list) -> None:
        """Queue ``script`` (registered with ``register_script``) by its SHA."""
        self._scripts[len(self.pipe.command_stack)] = (script, list(keys), list(args))
        self.pipe.evalsha(script.sha, len(keys), *keys, *args)

    def add(self, queue: Queue) -> int:
        """Queue one caller's commands; the index of its answer in ``execute``'s list (the error ``queue``
        raised, if it did: what it queued is taken back)."""
        start = len(self.pipe.command_stack)
        try:
            decode = queue(self)
        except Exception as err:  # noqa: BLE001 (its answer: the neighbours' commands still go)
            del self.pipe.command_stack[start:]
            self._scripts = {i: s for i, s in self._scripts.items() if i < start}
            decode = _raise(err)
        self._parts.append((start, len(self.pipe.command_stack), decode))
        return len(self._parts) - 1

    def __len__(self) -> int:
        return len(self.pipe.command_stack)

    async def execute(self) -> tuple[list, list]:
        """One round trip: (each caller's answer, or the error its commands met; every raw reply)."""
        waits = self._critical and self._durability.replicas > 0 and len(self) > 0
        if waits:  # the mark: a repeat whose own writes change nothing still waits for the first attempt's
            self.pipe.set(self._durability.mark, "1", px=60_000)
            self.pipe.wait(self._durability.replicas, self._durability.timeout_ms)
        replies = await self.pipe.execute(raise_on_error=False) if len(self) else []
        acknowledged = replies[-1] if waits else None
        if waits:
            del replies[-2:]
        forgotten = [i for i in self._scripts if isinstance(replies[i], NoScriptError)]
        if forgotten:  # forgotten by Redis: loaded and run once more, their writes then waited for anew
            again = await self._run_again(forgotten, replies, waits)
            if waits:  # its mark follows every write of the batch, so its WAIT answers for them all
                acknowledged = again
        answers = [_answer(replies[start:end], decode) for start, end, decode in self._parts]
        if waits:
            _replicated(acknowledged, self._durability, answers)
        return answers, replies

    async def _run_again(self, forgotten: list[int], replies: list, waits: bool) -> Any:
        """Load and run the ``forgotten`` scripts on one connection, then WAIT on it when ``waits``."""
        async with self._redis.client() as one:
            for i in forgotten:
                script, keys, args = self._scripts[i]
                try:
                    replies[i] = await script(keys=keys, args=args, client=one)
                except RedisError as err:
                    replies[i] = err
            if not waits:
                return None
            try:
                await one.set(self._durability.mark, "1", px=60_000)
                return await one.wait(self._durability.replicas, self._durability.timeout_ms)
            except RedisError as err:
                return err


def _replicated(acknowledged: Any, durability: Durability, answers: list = ()) -> None:
    """Raise ``ReplicasBehind`` (with the callers' ``answers``) unless WAIT counted enough replicas."""
    wanted, within = durability.replicas, durability.timeout_ms
    if isinstance(acknowledged, Exception):
        raise ReplicasBehind(f"Redis refused WAIT ({acknowledged}): the mesh waits for "
                             f"SWITCHBOARD_REDIS_WAIT_REPLICAS={wanted} replicas, which only a primary answers: "
                             "point SWITCHBOARD_REDIS_URL at the primary (or its sentinels), or set it to 0",
                             answers=answers)
    if acknowledged < wanted:
        raise ReplicasBehind(f"{acknowledged} of {wanted} Redis replicas acknowledged a critical write within "
                             f"{within} ms: it stands on the primary and is retried; check the replicas' link "
                             "(INFO replication) or lower SWITCHBOARD_REDIS_WAIT_REPLICAS", answers=answers)


async def replicated(redis: aioredis.Redis) -> None:
    """Wait until the configured replicas hold every write made so far on any connection: a write of the
    durability's mark and WAIT after it on one connection (replicas acknowledge offsets, in order). For
    writes that cannot end with WAIT themselves (a WATCH/MULTI transaction). Raises ``ReplicasBehind``."""
    durability = durability_of(redis)
    if durability.replicas == 0:
        return
    async with redis_errors("waiting for Redis replicas"):
        async with redis.pipeline(transaction=False) as pipe:
            pipe.set(durability.mark, "1", px=60_000)
            pipe.wait(durability.replicas, durability.timeout_ms)
            _, acknowledged = await pipe.execute(raise_on_error=False)
    _replicated(acknowledged, durability)


def together(*queues: Queue) -> Queue:
    """One queue of several: its answer is the tuple of theirs (an error among their replies raises)."""
    def queue(b: Batch):
        spans = []
        for q in queues:
            start = len(b)
            spans.append((start, q(b), len(b)))
        first = spans[0][0] if spans else 0
        return lambda replies: tuple(decode(replies[s - first:e - first]) if decode else None
                                     for s, decode, e in spans)
    return queue


def _raise(err: Exception) -> Callable[[list], Any]:
    def decode(replies: list) -> Any:
        raise err
    return decode


def _answer(mine: list, decode: Callable[[list], Any] | None) -> Any:
    """What one caller's replies mean: the first error among them, or what ``decode`` makes of them (or the
    error it raised: one caller's surprise is never its neighbours' failure)."""
    failed = next((r for r in mine if isinstance(r, Exception)), None)
    if failed is not None or decode is None:
        return failed
    try:
        return decode(mine)
    except Exception as err:  # noqa: BLE001
        return err


async def run(redis: aioredis.Redis, queue: Queue, what: str) -> Any:
    """``queue``'s commands in a round trip of their own; their answer (a Redis error raised as an outage)."""
    batch = Batch(redis)
    batch.add(queue)
    async with redis_errors(what):
        (answer,), _ = await batch.execute()
        if isinstance(answer, Exception):
            raise answer
    return answer


class collecting:
    """``with collecting() as writes:`` the ``after`` writes made inside are kept in ``writes``, not sent."""

    def __enter__(self) -> list[Queue]:
        self._writes: list[Queue] = []
        self._token = _deferred.set(self._writes)
        return self._writes

    def __exit__(self, *exc) -> None:
        _deferred.reset(self._token)


def deferring() -> bool:
    """Whether ``after`` writes wait for the message's ledger entry (inside ``collecting``)."""
    return _deferred.get() is not None


async def after(redis: aioredis.Redis, queue: Queue, what: str) -> None:
    """Write with the message's ledger entry (inside ``collecting``), else now."""
    pending = _deferred.get()
    if pending is not None:
        pending.append(queue)
        return
    await run(redis, queue, what)


def report(answers: list, what: str = "a deferred write") -> None:
    """Log deferred writes that failed (never fatal: the ledger's entry is what the message needs)."""
    for answer in answers:
        if isinstance(answer, Exception):
            log.error("deferred_write_failed", what=what, error=f"{type(answer).__name__}: {answer}")
