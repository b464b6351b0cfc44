"""State in Redis: the connection, key naming, and the idempotency ledger.

Redis failures are translated here into ``TransientError`` so callers retry them.
"""

from __future__ import annotations

import json
from base64 import b64decode, b64encode
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, TimeoutError as RedisTimeoutError

from mesh.errors import TransientError
from mesh.redis_clients import async_redis
from mesh.settings import Settings

__all__ = ["connect", "Keys", "Ledger", "Produced", "redis_errors"]


def connect(settings: Settings) -> aioredis.Redis:
    """An asyncio Redis client for ``settings.redis_url`` (connects lazily)."""
    return async_redis(settings, socket_connect_timeout=settings.connect_timeout_s,
                       socket_timeout=settings.connect_timeout_s, health_check_interval=30)


class redis_errors:
    """Context manager translating Redis errors into ``TransientError`` at the boundary."""

    def __init__(self, what: str) -> None:
        self.what = what

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, exc_type, exc, tb) -> bool:
        if exc is not None and isinstance(exc, (RedisConnectionError, RedisTimeoutError, RedisError)):
            raise TransientError(f"redis unavailable while {self.what}: {exc}", code="redis_unavailable") from exc
        return False


class Keys:
    """Redis key names under the configured prefix; tenant data is prefixed by tenant."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def ledger(self, agent: str, tenant: str, idempotency_key: str) -> str:
        """An agent's record for one input; per tenant, so no tenant's keys can meet another's records."""
        return f"{self.prefix}t:{tenant}:idem:{agent}:{idempotency_key}"

    def task(self, tenant: str, task_id: str) -> str:
        return f"{self.prefix}t:{tenant}:task:{task_id}"

    def tenant_of_task(self, task_key: str) -> str:
        """The tenant of a key made by ``task``."""
        return task_key[len(self.prefix) + 2:].rpartition(":task:")[0]

    def pending(self, agent: str, correlation_id: str) -> str:
        return f"{self.prefix}pending:{agent}:{correlation_id}"

    def heartbeat(self, agent: str, instance: str) -> str:
        return f"{self.prefix}agents:{agent}:{instance}"

    def heartbeats(self) -> str:
        return f"{self.prefix}agents:*"

    def docs(self, tenant: str) -> str:
        """Hash doc_id -> document JSON of one tenant."""
        return f"{self.prefix}t:{tenant}:docs"


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

    async def get(self, agent: str, tenant: str, key: str) -> list[Produced] | None:
        async with redis_errors("reading the idempotency ledger"):
            raw = await self._redis.get(self._keys.ledger(agent, tenant, key))
        return None if raw is None else [Produced.from_json(d) for d in json.loads(raw)]

    async def record(self, agent: str, tenant: str, key: str, outputs: list[Produced]) -> list[Produced]:
        """Store ``outputs`` unless a result exists; return whichever result is now recorded."""
        name = self._keys.ledger(agent, tenant, key)
        blob = json.dumps([o.to_json() for o in outputs])
        async with redis_errors("writing the idempotency ledger"):
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.set(name, blob, nx=True, ex=self._ttl)
                pipe.get(name)
                created, stored = await pipe.execute()
        return outputs if created else [Produced.from_json(d) for d in json.loads(stored)]
