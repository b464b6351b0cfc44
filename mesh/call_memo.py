"""Model answers recorded by step, the moment they arrive.

The runtime's ledger records a step's outputs once the handler is done; a replica that dies
between a model's answer and that record would, on redelivery, call the model again. The
executor therefore records each answer here (under the step's idempotency key) before it does
anything else with it, and looks here before calling: a redelivered step reuses the answer, so
the model is called, and the tenant charged, once per step.
"""

from __future__ import annotations

import json

import redis.asyncio as aioredis

from mesh.state import Keys, redis_errors

__all__ = ["CallMemo"]


class CallMemo:
    def __init__(self, redis: aioredis.Redis, keys: Keys, ttl_s: int) -> None:
        self._redis, self._keys, self._ttl = redis, keys, ttl_s

    def _key(self, idempotency_key: str) -> str:
        return self._keys.ledger("executor.call", idempotency_key)

    async def get(self, idempotency_key: str) -> dict | None:
        async with redis_errors("reading a recorded model answer"):
            raw = await self._redis.get(self._key(idempotency_key))
        return json.loads(raw) if raw else None

    async def put(self, idempotency_key: str, answer: dict) -> None:
        async with redis_errors("recording a model answer"):
            await self._redis.set(self._key(idempotency_key), json.dumps(answer), ex=self._ttl)
