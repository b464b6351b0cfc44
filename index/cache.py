"""The embedding cache: an in-process LRU in front of Redis, keyed by model and content hash.

A text that was encoded once, by any replica, is never encoded again: re-ingesting a document,
or asking a question twice, costs a lookup. A text asked for while its encoding is under way
waits for that encoding (``shared``) instead of starting another: the index agent starts
encoding a step's question as soon as the step is published, and the retriever's query for it,
arriving a few milliseconds later, takes the same vector. A document update drops the entries of the
passages it no longer has (``forget``). Hit rates are counted per layer.

Entries are per tenant, in Redis and in memory (each tenant its own LRU of ``capacity``), so
one tenant's texts can neither reveal (by a hit) nor evict (by an update or by volume) another's.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict, defaultdict
from collections.abc import Awaitable, Callable

import numpy as np

from mesh.io.keys import Keys
from mesh.io.redis_clients import redis_errors
from mesh.observe.metrics import CACHE
from mesh.runtime.inflight import InFlight

__all__ = ["EmbeddingCache", "content_key"]

_CACHE_RESULTS = {"memory_hits": CACHE.labels("embeddings", "memory_hit"),
                  "redis_hits": CACHE.labels("embeddings", "redis_hit"), "misses": CACHE.labels("embeddings", "miss"),
                  "shared": CACHE.labels("embeddings", "shared")}


def content_key(model_id: str, text: str) -> str:
    return hashlib.sha256(f"{model_id}\x1f{text}".encode()).hexdigest()[:40]


class EmbeddingCache:
    """``get_many`` returns one vector per text, encoding only what neither layer holds."""

    def __init__(self, redis, keys: Keys, model_id: str, dim: int,
                 encode: Callable[[list[str]], Awaitable[np.ndarray]],
                 capacity: int = 50_000, ttl_s: int = 30 * 24 * 3600) -> None:
        self._redis, self._keys, self.model_id, self.dim = redis, keys, model_id, dim
        self._encode, self._capacity, self._ttl = encode, capacity, ttl_s
        self._lrus: defaultdict[str, OrderedDict[str, np.ndarray]] = defaultdict(OrderedDict)
        self.stats = {"memory_hits": 0, "redis_hits": 0, "misses": 0, "shared": 0}
        self._encoding: InFlight[np.ndarray] = InFlight()

    def _rkey(self, tenant: str, key: str) -> str:
        return self._keys.embedding(tenant, key)

    @property
    def hit_rate(self) -> float:
        total = sum(self.stats.values())
        return (total - self.stats["misses"]) / total if total else 0.0

    def _count(self, what: str, n: int) -> None:
        self.stats[what] += n
        _CACHE_RESULTS[what].inc(n)

    async def get_many(self, texts: list[str], tenant: str) -> np.ndarray:
        """Vectors for ``tenant``'s ``texts`` (rows in order), encoding (asynchronously) only what no layer holds."""
        rows_of: dict[str, list[int]] = {}
        for i, t in enumerate(texts):
            rows_of.setdefault(content_key(self.model_id, t), []).append(i)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        missing = self._from_memory(tenant, rows_of, out)
        if missing:
            async with redis_errors("reading cached embeddings"):
                blobs = await self._redis.mget([self._rkey(tenant, k) for k in missing])
            for k, blob in zip(list(missing), blobs):
                if blob is not None and len(blob) == self.dim * 4:
                    out[missing.pop(k)] = self._remember(tenant, k, np.frombuffer(blob, dtype=np.float32))
                    self._count("redis_hits", len(rows_of[k]))
            missing = self._from_memory(tenant, missing, out)  # encoded meanwhile, by a caller beside this one
        if missing:
            shared = {k for k in missing if self._encoding.under_way(tenant, k)}
            texts_of = {k: texts[rows[0]] for k, rows in missing.items()}
            vecs = await self._encoding.run(tenant, list(missing),
                                            lambda mine: self._encode_and_keep(tenant, mine, texts_of))
            for k, rows in missing.items():
                out[rows] = vecs[k]
                self._count("shared" if k in shared else "misses", len(rows))
        return out

    def _from_memory(self, tenant: str, rows_of: dict[str, list[int]], out: np.ndarray) -> dict[str, list[int]]:
        """Fill the rows whose vectors the LRU holds; the rest, still missing."""
        lru, left = self._lrus[tenant], {}
        for k, rows in rows_of.items():
            vec = lru.get(k)
            if vec is None:
                left[k] = rows
            else:
                lru.move_to_end(k)
                out[rows] = vec
                self._count("memory_hits", len(rows))
        return left

    async def _encode_and_keep(self, tenant: str, keys: list[str], texts_of: dict[str, str]) -> dict[str, np.ndarray]:
        """Encode the texts of ``keys`` and keep their vectors in both layers."""
        vecs = dict(zip(keys, await self._encode([texts_of[k] for k in keys])))
        for k, vec in vecs.items():
            self._remember(tenant, k, vec)
        async with redis_errors("writing cached embeddings"):
            async with self._redis.pipeline(transaction=False) as pipe:
                for k, vec in vecs.items():
                    pipe.set(self._rkey(tenant, k), np.ascontiguousarray(vec, dtype=np.float32).tobytes(), ex=self._ttl)
                await pipe.execute()
        return vecs

    async def forget(self, texts: list[str], tenant: str) -> None:
        """Drop ``tenant``'s entries of texts a document no longer has (after an update or a delete)."""
        keys = [content_key(self.model_id, t) for t in texts]
        for k in keys:
            self._lrus[tenant].pop(k, None)
        if keys:
            async with redis_errors("dropping cached embeddings"):
                await self._redis.delete(*[self._rkey(tenant, k) for k in keys])

    def _remember(self, tenant: str, key: str, vec: np.ndarray) -> np.ndarray:
        lru = self._lrus[tenant]
        lru[key] = vec
        lru.move_to_end(key)
        while len(lru) > self._capacity:
            lru.popitem(last=False)
        return vec
