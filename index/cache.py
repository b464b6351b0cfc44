"""The embedding cache: an in-process LRU in front of Redis, keyed by model and content hash.

A text that was encoded once, by any replica, is never encoded again: re-ingesting a document,
or asking a question twice, costs a lookup. A document update drops the entries of the
passages it no longer has (``forget``). Hit rates are counted per layer.

Entries are per tenant, in Redis and in memory (each tenant its own LRU of ``capacity``), so
one tenant's texts can neither reveal (by a hit) nor evict (by an update or by volume) another's.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict, defaultdict
from collections.abc import Awaitable, Callable

import numpy as np

from mesh.metrics import CACHE
from mesh.state import redis_errors

__all__ = ["EmbeddingCache", "content_key"]

_CACHE_RESULTS = {"memory_hits": CACHE.labels("embeddings", "memory_hit"),
                  "redis_hits": CACHE.labels("embeddings", "redis_hit"), "misses": CACHE.labels("embeddings", "miss")}


def content_key(model_id: str, text: str) -> str:
    return hashlib.sha256(f"{model_id}\x1f{text}".encode()).hexdigest()[:40]


class EmbeddingCache:
    """``get_many`` returns one vector per text, encoding only what neither layer holds."""

    def __init__(self, redis, prefix: str, model_id: str, dim: int,
                 encode: Callable[[list[str]], Awaitable[np.ndarray]],
                 capacity: int = 50_000, ttl_s: int = 30 * 24 * 3600) -> None:
        self._redis, self._prefix, self.model_id, self.dim = redis, prefix, model_id, dim
        self._encode, self._capacity, self._ttl = encode, capacity, ttl_s
        self._lrus: defaultdict[str, OrderedDict[str, np.ndarray]] = defaultdict(OrderedDict)
        self.stats = {"memory_hits": 0, "redis_hits": 0, "misses": 0}

    def _rkey(self, tenant: str, key: str) -> str:
        return f"{self._prefix}t:{tenant}:emb:{key}"

    @property
    def hit_rate(self) -> float:
        total = sum(self.stats.values())
        return (self.stats["memory_hits"] + self.stats["redis_hits"]) / total if total else 0.0

    def _count(self, what: str, n: int) -> None:
        self.stats[what] += n
        _CACHE_RESULTS[what].inc(n)

    async def get_many(self, texts: list[str], tenant: str) -> np.ndarray:
        """Vectors for ``tenant``'s ``texts`` (rows in order), encoding (asynchronously) only what no layer holds."""
        keys = [content_key(self.model_id, t) for t in texts]
        lru = self._lrus[tenant]
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        missing: dict[str, list[int]] = {}
        for i, k in enumerate(keys):
            vec = lru.get(k)
            if vec is not None:
                lru.move_to_end(k)
                out[i] = vec
                self._count("memory_hits", 1)
            else:
                missing.setdefault(k, []).append(i)
        if missing:
            async with redis_errors("reading cached embeddings"):
                blobs = await self._redis.mget([self._rkey(tenant, k) for k in missing])
            to_encode = []
            for (k, rows), blob in zip(list(missing.items()), blobs):
                if blob is not None and len(blob) == self.dim * 4:
                    vec = np.frombuffer(blob, dtype=np.float32)
                    self._remember(lru, k, vec)
                    out[rows] = vec
                    self._count("redis_hits", len(rows))
                else:
                    to_encode.append(k)
            if to_encode:
                texts_to_encode = [texts[missing[k][0]] for k in to_encode]
                vecs = await self._encode(texts_to_encode)
                async with redis_errors("writing cached embeddings"):
                    async with self._redis.pipeline(transaction=False) as pipe:
                        for k, vec in zip(to_encode, vecs):
                            pipe.set(self._rkey(tenant, k), np.ascontiguousarray(vec, dtype=np.float32).tobytes(), ex=self._ttl)
                        await pipe.execute()
                for k, vec in zip(to_encode, vecs):
                    self._remember(lru, k, vec)
                    out[missing[k]] = vec
                    self._count("misses", len(missing[k]))
        return out

    async def forget(self, texts: list[str], tenant: str) -> None:
        """Drop ``tenant``'s entries of texts a document no longer has (after an update or a delete)."""
        keys = [content_key(self.model_id, t) for t in texts]
        for k in keys:
            self._lrus[tenant].pop(k, None)
        if keys:
            async with redis_errors("dropping cached embeddings"):
                await self._redis.delete(*[self._rkey(tenant, k) for k in keys])

    def _remember(self, lru: OrderedDict, key: str, vec: np.ndarray) -> None:
        lru[key] = vec
        lru.move_to_end(key)
        while len(lru) > self._capacity:
            lru.popitem(last=False)
