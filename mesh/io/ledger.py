"""The idempotency ledger: what each agent produced for each input, kept in Redis.

A redelivered input finds its recorded outputs here and sends them again instead of running
its handler a second time.
"""

from __future__ import annotations

import json
from base64 import b64decode, b64encode
from dataclasses import dataclass

import redis.asyncio as aioredis

from mesh.io.coalesce import Coalescer
from mesh.io.keys import Keys
from mesh.io.redis_clients import redis_errors

__all__ = ["Ledger", "Produced"]


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

    def __init__(self, redis: aioredis.Redis, keys: Keys, ttl_s: int) -> None:
        self._redis, self._keys, self._ttl = redis, keys, ttl_s
        self._reads = Coalescer(self._read_many)  # what a window's messages ask together, in one round trip
        self._writes = Coalescer(self._write_many)

    async def get(self, agent: str, tenant: str, key: str) -> list[Produced] | None:
        raw = await self._reads(self._keys.ledger(agent, tenant, key))
        return None if raw is None else [Produced.from_json(d) for d in json.loads(raw)]

    async def record(self, agent: str, tenant: str, key: str, outputs: list[Produced]) -> list[Produced]:
        """Store ``outputs`` unless a result exists; return whichever result is now recorded."""
        blob = json.dumps([o.to_json() for o in outputs])
        earlier = await self._writes((self._keys.ledger(agent, tenant, key), blob))
        return outputs if earlier is None else [Produced.from_json(d) for d in json.loads(earlier)]

    async def _read_many(self, names: list[str]) -> list[bytes | None]:
        async with redis_errors("reading the idempotency ledger"):
            return await self._redis.mget(names)

    async def _write_many(self, entries: list[tuple[str, str]]) -> list[bytes | None]:
        """SET NX GET for each entry, pipelined: None where this call stored it, else what was there."""
        async with redis_errors("writing the idempotency ledger"):
            async with self._redis.pipeline(transaction=False) as pipe:
                for name, blob in entries:
                    pipe.set(name, blob, nx=True, ex=self._ttl, get=True)
                return await pipe.execute()
