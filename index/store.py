"""The document store in Redis: documents per tenant, and a version that changes on every write.

Searchers keep an in-memory index per tenant and rebuild it when the version moves, so every
replica of the index agent answers from the same documents.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Generic, TypeVar

from index.corpus import Corpus, StoredDoc
from mesh.io.keys import Keys
from mesh.io.pipelined import Batch, Queue
from mesh.io.redis_clients import redis_errors
from mesh.security.crypto import Sealer
from schemas.models import AccessAttributes, DocumentIngest

__all__ = ["DocStore", "PerTenant"]

T = TypeVar("T")


class DocStore:
    """Documents of each tenant in a Redis hash; title and text sealed when there is a ``sealer``."""

    def __init__(self, redis, keys: Keys, sealer: Sealer | None = None) -> None:
        self._redis, self._keys, self._sealer = redis, keys, sealer

    def _body(self, tenant: str, doc: DocumentIngest) -> str:
        title, text = doc.title, doc.text
        if self._sealer is not None:
            title, text = (self._sealer.seal(tenant, "doc.title", title), self._sealer.seal(tenant, "doc.text", text))
        return json.dumps({"title": title, "text": text, "access": doc.access.model_dump(mode="json")})

    def _doc(self, tenant: str, doc_id: str, blob: bytes) -> StoredDoc:
        body = json.loads(blob)
        title, text = body["title"], body["text"]
        if self._sealer is not None:
            title, text = (self._sealer.open(tenant, "doc.title", title), self._sealer.open(tenant, "doc.text", text))
        return StoredDoc(doc_id, title, text, AccessAttributes(**body["access"]))

    def _version_key(self, tenant: str) -> str:
        return self._keys.docs_version(tenant)

    async def apply(self, doc: DocumentIngest) -> StoredDoc | None:
        """Upsert or delete ``doc`` and bump its tenant's version, atomically; returns what it replaced."""
        tenant = doc.access.tenant_id
        async with redis_errors("writing a document"):
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hget(self._keys.docs(tenant), doc.doc_id)
                if doc.op.value == "delete":
                    pipe.hdel(self._keys.docs(tenant), doc.doc_id)
                else:
                    pipe.hset(self._keys.docs(tenant), doc.doc_id, self._body(tenant, doc))
                pipe.incr(self._version_key(tenant))
                previous = (await pipe.execute())[0]
        if previous is None:
            return None
        return self._doc(tenant, doc.doc_id, previous)

    async def version(self, tenant: str) -> int:
        async with redis_errors("reading the document version"):
            return int(await self._redis.get(self._version_key(tenant)) or 0)

    def version_reading(self, tenant: str) -> Queue:
        """``version`` as commands for a batch (``mesh.io.pipelined``)."""
        def queue(b: Batch):
            b.pipe.get(self._version_key(tenant))
            return lambda replies: int(replies[0] or 0)
        return queue

    async def load(self, tenant: str) -> tuple[int, list[StoredDoc]]:
        """The tenant's version and documents, read in one transaction so they agree."""
        async with redis_errors("loading documents"):
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.get(self._version_key(tenant))
                pipe.hgetall(self._keys.docs(tenant))
                version, raw = await pipe.execute()
        return int(version or 0), [self._doc(tenant, doc_id.decode(), blob) for doc_id, blob in sorted(raw.items())]

    async def tenants(self) -> list[str]:
        """Every tenant with a documents hash (a scan of the keyspace, every node's under Cluster)."""
        async with redis_errors("listing tenants"):
            keys = [k async for k in self._redis.scan_iter(match=self._keys.all_docs(), count=1000)]
        return sorted({self._keys.tenant_of_docs(k.decode() if isinstance(k, bytes) else k) for k in keys})

    async def batches(self, tenant: str, size: int = 256) -> AsyncIterator[list[StoredDoc]]:
        """The tenant's documents, about ``size`` at a time (HSCAN: memory stays bounded whatever the corpus);
        a document written during the walk may come or not, none present throughout is missed."""
        batch: list[StoredDoc] = []
        async with redis_errors("reading documents"):
            async for doc_id, blob in self._redis.hscan_iter(self._keys.docs(tenant), count=size):
                batch.append(self._doc(tenant, doc_id.decode(), blob))
                if len(batch) >= size:
                    yield batch
                    batch = []
        if batch:
            yield batch


class PerTenant(Generic[T]):
    """Something built from a tenant's corpus (a BM25 index, a vector shard), rebuilt when the
    store's version moves; concurrent callers for one tenant share one rebuild."""

    def __init__(self, store: DocStore, build: Callable[[Corpus], Awaitable[T]]) -> None:
        self._store, self._build = store, build
        self._by_tenant: dict[str, tuple[Corpus, T]] = {}
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def get(self, tenant: str, version: int | None = None) -> tuple[Corpus, T]:
        """The tenant's corpus and what was built from it, at least as new as ``version``: the store's,
        read a moment ago (``version_reading``, or by whoever asked), so a corpus that new costs no round
        trip. The store's version only grows; without ``version`` it is read here."""
        cached = self._by_tenant.get(tenant)
        if cached and cached[0].version >= (await self.version(tenant) if version is None else version):
            return cached
        async with self._locks[tenant]:
            cached = self._by_tenant.get(tenant)
            if cached and cached[0].version == await self.version(tenant):
                return cached  # another caller rebuilt it while this one waited
            version, docs = await self._store.load(tenant)
            corpus = Corpus(version, docs, tenant)
            built = (corpus, await self._build(corpus))
            self._by_tenant[tenant] = built
            return built

    async def version(self, tenant: str) -> int:
        return await self._store.version(tenant)

    def version_reading(self, tenant: str) -> Queue:
        return self._store.version_reading(tenant)
