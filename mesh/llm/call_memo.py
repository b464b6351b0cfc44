"""Model answers recorded by step, the moment they arrive.

The runtime's ledger records a step's outputs once the handler is done; a replica that dies
between a model's answer and that record would, on redelivery, call the model again. The
executor therefore records each answer here (under the step's idempotency key) before it does
anything else with it, and looks here before calling: a redelivered step reuses the answer, so
the model is called, and the tenant charged, once per step. Records are per tenant, and the
answer's text and its citations' titles (the document text it holds) are sealed
(``mesh.security.crypto``) when the mesh encrypts at rest, as they are on the topics.
"""

from __future__ import annotations

import json

import redis.asyncio as aioredis

from mesh.io.keys import Keys
from mesh.io.pipelined import Batch, after, run
from mesh.io.redis_clients import redis_errors
from mesh.security.crypto import Sealer

__all__ = ["CallMemo", "memo_key", "memo_blob"]


def memo_key(keys: Keys, tenant: str, idempotency_key: str) -> str:
    return keys.ledger("executor.call", tenant, idempotency_key)


def _sealed(answer: dict, fn) -> dict:
    """``answer`` with ``fn(field, value)`` applied to its text and each citation's title."""
    citations = [{**c, "title": fn("memo.citations.title", c["title"])} if c.get("title") else c
                 for c in answer.get("citations", ())]
    return {**answer, "text": fn("memo.text", answer["text"]), "citations": citations}


def memo_blob(sealer: Sealer | None, tenant: str, answer: dict) -> str:
    """The stored form of ``answer``: JSON, with its text and citation titles sealed for ``tenant`` when there
    is a sealer."""
    if sealer is not None:
        answer = _sealed(answer, lambda field, value: sealer.seal(tenant, field, value))
    return json.dumps(answer)


class CallMemo:
    def __init__(self, redis: aioredis.Redis, keys: Keys, ttl_s: int, sealer: Sealer | None = None) -> None:
        self._redis, self._keys, self._ttl, self._sealer = redis, keys, ttl_s, sealer

    def key(self, tenant: str, idempotency_key: str) -> str:
        """The Redis key of a step's record (to read it in one round trip with something else)."""
        return memo_key(self._keys, tenant, idempotency_key)

    def opened(self, tenant: str, raw: bytes | None) -> dict | None:
        """The answer in ``raw`` as read from ``key``, its text unsealed; None if nothing was recorded."""
        if not raw:
            return None
        answer = json.loads(raw)
        if self._sealer is not None:
            answer = _sealed(answer, lambda field, value: self._sealer.open(tenant, field, value))
        return answer

    async def get(self, tenant: str, idempotency_key: str) -> dict | None:
        async with redis_errors("reading a recorded model answer"):
            return self.opened(tenant, await self._redis.get(self.key(tenant, idempotency_key)))

    async def put(self, tenant: str, idempotency_key: str, answer: dict, *, deferred: bool = False) -> None:
        """Record ``answer``; ``deferred``: in the round trip that records the step's outputs in the ledger
        (``mesh.io.pipelined.after``), which a replica dying first loses with it."""
        name, blob = self.key(tenant, idempotency_key), memo_blob(self._sealer, tenant, answer)

        def queue(b: Batch) -> None:
            b.pipe.set(name, blob, ex=self._ttl)
        await (after if deferred else run)(self._redis, queue, "recording a model answer")
