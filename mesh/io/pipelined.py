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
the batch ends with ``WAIT``, in the same round trip and on the same connection (under Cluster, on
each node's: ``mesh.io.replica_wait``), and a batch that
fewer replicas acknowledged in time fails whole (``ReplicasBehind``), so no caller acts on a write a
promoted replica might not have. A repeat is safe: each such write answers its repeat as the first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

from mesh.io.redis_clients import REDIS_ERRORS, Durability, durability_of, redis_errors
from mesh.io.replica_wait import (
    Waits,
    acknowledged,
    args_of,
    commands_of,
    queue_waits,
    require,
    writes,
)
from mesh.io.slots import first_key, one_slot
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
        self._commands = commands_of(self.pipe)
        self._durability = durability_of(redis)
        self._critical = False
        self._scripts: dict[int, tuple[AsyncScript, list, list]] = {}
        self._parts: list[tuple[int, int, Callable[[list], Any] | None]] = []

    def critical(self) -> None:
        """Answer no caller until the configured replicas hold this batch's writes (see the module)."""
        self._critical = True

    def script(self, script: AsyncScript, keys: list, args: list) -> None:
        """Queue ``script`` (registered with ``register_script``) by its SHA; its keys must share a slot."""
        one_slot(keys, "a script")
        self._scripts[len(self)] = (script, list(keys), list(args))
        self.pipe.execute_command("EVALSHA", script.sha, len(keys), *keys, *args)  # a cluster pipeline blocks .evalsha

    def mget(self, *keys: str) -> None:
        """Queue an MGET of ``keys``, which must share a slot."""
        one_slot(keys, "an MGET")
        self.pipe.execute_command("MGET", *keys)  # a cluster pipeline blocks .mget

    def add(self, queue: Queue) -> int:
        """Queue one caller's commands; the index of its answer in ``execute``'s list (the error ``queue``
        raised, if it did: what it queued is taken back)."""
        start = len(self)
        try:
            decode = queue(self)
        except Exception as err:  # noqa: BLE001 (its answer: the neighbours' commands still go)
            del self._commands[start:]
            self._scripts = {i: s for i, s in self._scripts.items() if i < start}
            decode = _raise(err)
        self._parts.append((start, len(self), decode))
        return len(self._parts) - 1

    def __len__(self) -> int:
        return len(self._commands)

    def _written(self) -> Iterator:
        """The keys the batch's commands write (read under Cluster only, to find the nodes to wait on)."""
        queued = self._parts[-1][1] if self._parts else 0  # not the marks and WAITs after them
        keys = (first_key(args) for args in map(args_of, self._commands[:queued]) if writes(args))
        return (key for key in keys if key is not None)

    async def execute(self) -> tuple[list, list]:
        """One round trip: (each caller's answer, or the error its commands met; every raw reply)."""
        waits = Waits()
        if self._critical and self._durability.replicas > 0 and len(self) > 0:
            waits = await queue_waits(self.pipe, self._redis, self._durability, self._written())
        replies = await self.pipe.execute(raise_on_error=False) if len(self) else []
        if waits.count:
            acknowledged_by = acknowledged(replies[-waits.count:], waits, self._redis)
            del replies[-waits.count:]
        forgotten = [i for i in self._scripts if isinstance(replies[i], NoScriptError)]
        if forgotten:  # forgotten by Redis: loaded and run once more, their writes then waited for anew
            await self._run_again(forgotten, replies)
            if waits.count:  # its marks follow every write of the batch, so its WAITs answer for them all
                acknowledged_by = await self._wait_again()
        answers = [_answer(replies[start:end], decode) for start, end, decode in self._parts]
        if waits.count:
            require(acknowledged_by, self._durability, "a critical write", answers)
        return answers, replies

    async def _run_again(self, forgotten: list[int], replies: list) -> None:
        """Load and run the ``forgotten`` scripts, their replies put in ``replies``."""
        for i in forgotten:
            script, keys, args = self._scripts[i]
            try:
                replies[i] = await script(keys=keys, args=args)
            except REDIS_ERRORS as err:
                replies[i] = err

    async def _wait_again(self) -> Any:
        """WAIT where the batch wrote, in a round trip of its own; what it acknowledged."""
        try:
            return await _waited(self._redis, self._durability, self._written())
        except REDIS_ERRORS as err:
            return err


async def _waited(redis, durability: Durability, written) -> Any:
    async with redis.pipeline(transaction=False) as pipe:
        waits = await queue_waits(pipe, redis, durability, written)
        replies = await pipe.execute(raise_on_error=False)
    return acknowledged(replies[len(replies) - waits.count:], waits, redis)


async def replicated(redis: aioredis.Redis, *written: str) -> None:
    """Wait until the configured replicas hold every write made so far, on any connection, to the node of the
    keys ``written`` (under Cluster; a single node has one): a write of the durability's mark and WAIT after it
    on one connection (replicas acknowledge offsets, in order). For writes that cannot end with WAIT themselves
    (a WATCH/MULTI transaction). Raises ``ReplicasBehind``."""
    durability = durability_of(redis)
    if durability.replicas == 0:
        return
    if not written:
        raise ValueError("replicated() needs the keys written: under Cluster they say which node to wait on")
    async with redis_errors("waiting for Redis replicas"):
        acknowledged_by = await _waited(redis, durability, written)
    require(acknowledged_by, durability, "a critical write")


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
