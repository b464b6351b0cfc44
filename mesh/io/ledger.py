"""The idempotency ledger: what each agent produced for each input, kept in Redis.

A redelivered input finds its recorded outputs here and sends them again instead of running
its handler a second time.

A message costs two round trips here, and its handler's Redis work rides on them where it can
(``mesh.io.pipelined``): the read carries the handler's first commands (its route's prefetch)
and any refresh an agent keeps on the side that is due (a ``Rider``: the policy rollout's); the
write carries the writes the handler deferred, queued before the entry.
"""

from __future__ import annotations

import json
from base64 import b64decode, b64encode
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from mesh.io.coalesce import Coalescer
from mesh.io.keys import Keys
from mesh.io.pipelined import Batch, Queue, report
from mesh.io.redis_clients import REDIS_ERRORS, is_cluster, redis_errors

__all__ = ["Ledger", "Produced", "Rider"]

#: A read kept fresh on the side: the commands of a refresh when one is due (their answer applies it), else None.
Rider = Callable[[], Queue | None]


@dataclass(frozen=True)
class Produced:
    """One message as sent: enough to send it again byte for byte."""

    topic: str
    key: bytes | None
    value: bytes
    #: Kafka headers: the trace context of the hop that produced it, and that agent's name
    headers: tuple[tuple[str, bytes], ...] = ()

    def to_json(self) -> dict:
        return {"t": self.topic, "k": b64encode(self.key).decode() if self.key is not None else None,
                "v": b64encode(self.value).decode(), "h": [[k, b64encode(v).decode()] for k, v in self.headers]}

    @classmethod
    def from_json(cls, d: dict) -> Produced:
        return cls(d["t"], b64decode(d["k"]) if d["k"] is not None else None, b64decode(d["v"]),
                   tuple((k, b64decode(v)) for k, v in d.get("h", ())))


class Ledger:
    """What each agent produced for each idempotency key.

    ``record`` stores the outputs before they are sent (SET NX), so an agent that dies between
    recording and sending re-sends the same bytes when the input is redelivered, and a
    concurrent replica that lost the race sends the winner's outputs, never its own.
    """

    def __init__(self, redis: aioredis.Redis, keys: Keys, ttl_s: int, riders: list[Rider] = ()) -> None:
        self._redis, self._keys, self._ttl, self._riders = redis, keys, ttl_s, list(riders)
        self._reads = Coalescer(self._read_many)  # what a window's messages ask together, in one round trip
        self._writes = Coalescer(self._write_many)

    async def get(self, agent: str, tenant: str, key: str) -> list[Produced] | None:
        return (await self.get_with(agent, tenant, key))[0]

    async def get_with(self, agent: str, tenant: str, key: str,
                       prefetch: Queue | None = None) -> tuple[list[Produced] | None, Any]:
        """The outputs recorded for this input (None: none), and the answer of ``prefetch``: the handler's
        first commands, sent in the same round trip (None without one; the exception they met, if any)."""
        raw, fetched = await self._reads((self._keys.ledger(agent, tenant, key), prefetch))
        return (None if raw is None else [Produced.from_json(d) for d in json.loads(raw)]), fetched

    async def record(self, agent: str, tenant: str, key: str, outputs: list[Produced],
                     writes: list[Queue] = ()) -> list[Produced]:
        """Store ``outputs`` unless a result exists; return whichever result is now recorded. ``writes``
        (the handler's deferred writes) go first, in the same round trip."""
        blob = json.dumps([o.to_json() for o in outputs])
        earlier = await self._writes((self._keys.ledger(agent, tenant, key), blob, list(writes)))
        return outputs if earlier is None else [Produced.from_json(d) for d in json.loads(earlier)]

    async def _read_many(self, asks: list[tuple[str, Queue | None]]) -> list[tuple[bytes | None, Any]]:
        """GET each entry, each followed by its prefetch, in one pipeline."""
        batch = Batch(self._redis)
        for name, prefetch in asks:
            batch.add(_get(name))
            batch.add(prefetch or _nothing)
        for ride in self._riders:  # after every entry: their answers are at the end
            due = ride()
            if due is not None:
                batch.add(due)
        async with redis_errors("reading the idempotency ledger"):
            answers, _ = await batch.execute()
            report(answers[2 * len(asks):], "a read on the side")
            answers = answers[:2 * len(asks)]
            _raise_any(answers[0::2])
        return [(raw, fetched if prefetch else None)
                for raw, fetched, (_, prefetch) in zip(answers[0::2], answers[1::2], asks, strict=True)]

    async def _write_many(self, entries: list[tuple[str, str, list[Queue]]]) -> list[bytes | None]:
        """Each entry's deferred writes, then SET NX GET for each, pipelined: None where this call stored it,
        else what was there. Under Cluster a pipeline reaches its primaries all at once, so the deferred writes
        go in a round trip of their own first, and a primary that did not take them fails the call: no entry
        stands for a message whose writes are missing."""
        batch = Batch(self._redis)
        deferred = [batch.add(write) for _, _, writes in entries for write in writes]
        async with redis_errors("writing the idempotency ledger"):
            if deferred and is_cluster(self._redis):
                answers, _ = await batch.execute()
                _raise_any([a for a in answers if isinstance(a, REDIS_ERRORS)])
                report(answers)
                batch, deferred = Batch(self._redis), []
            for name, blob, _ in entries:
                batch.add(self._set(name, blob))
            answers, _ = await batch.execute()
            report(answers[:len(deferred)])
            _raise_any(answers[len(deferred):])
        return answers[len(deferred):]

    async def flush(self, writes: list[Queue]) -> None:
        """Deferred writes of a message that records no entry, in one round trip."""
        batch = Batch(self._redis)
        for write in writes:
            batch.add(write)
        async with redis_errors("writing"):
            report((await batch.execute())[0])

    def _set(self, name: str, blob: str) -> Queue:
        def queue(b: Batch):
            b.critical()
            b.pipe.set(name, blob, nx=True, ex=self._ttl, get=True)
            return _first
        return queue


def _first(replies: list):
    return replies[0]


def _nothing(b: Batch) -> None:
    return None


def _get(name: str) -> Queue:
    def queue(b: Batch):
        b.pipe.get(name)
        return _first
    return queue


def _raise_any(answers: list) -> None:
    failed = next((a for a in answers if isinstance(a, Exception)), None)
    if failed is not None:
        raise failed
