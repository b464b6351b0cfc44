"""A tenant's built corpus against the store's version, on a real Redis: a caller that names the version
it read (the retriever's BM25 search, carried on an index query) costs no round trip while the corpus is
that new, and gets a rebuild from the store when another replica has stored documents since."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from index.agent import asked_version
from index.corpus import Corpus
from index.store import DocStore, PerTenant
from mesh.io.keys import Keys
from mesh.io.redis_clients import async_redis
from mesh.io.roundtrips import counting, instrument
from mesh.wire.envelope import new_envelope
from schemas.models import AccessAttributes, AccessFilter, DocumentIngest, IndexQuery

pytestmark = pytest.mark.integration


def _doc(tenant: str, doc_id: str) -> DocumentIngest:
    return DocumentIngest(envelope=new_envelope(tenant, "ingest"), doc_id=doc_id, title=f"Runbook {doc_id}",
                          text=f"Step {doc_id}: restart the consumer group.", access=AccessAttributes(tenant_id=tenant))


def _query(tenant: str, version: int | None) -> IndexQuery:
    return IndexQuery(envelope=new_envelope(tenant, "index.query"), query_id=uuid.uuid4().hex, text="restart",
                      filter=AccessFilter(tenant_id=tenant), version=version)


def test_a_named_version_is_served_without_a_round_trip_until_a_newer_one_is_named(redis_url):
    instrument()
    keys, tenant = Keys(f"cv{uuid.uuid4().hex[:6]}:"), f"t{uuid.uuid4().hex[:6]}"
    builds: list[int] = []

    async def build(corpus: Corpus) -> int:
        builds.append(corpus.version)
        return len(corpus.docs)

    async def scenario():
        r = async_redis(redis_url)
        here, elsewhere = DocStore(r, keys), DocStore(r, keys)  # another replica's ingest, same store
        await here.apply(_doc(tenant, "d1"))
        built = PerTenant(here, build)
        first, _ = await built.get(tenant)  # nothing named: the version is read
        read = await here.version(tenant)
        with counting() as trips:
            again, size = await built.get(tenant, asked_version([_query(tenant, read), _query(tenant, read)]))
            older, _ = await built.get(tenant, read - 1)
        assert trips[0] == 0, "a corpus as new as the named version must cost no round trip"
        assert again is first and older is first and size == 1

        await elsewhere.apply(_doc(tenant, "d2"))
        newer = await here.version(tenant)
        with counting() as trips:
            fresh, size = await built.get(tenant, asked_version([_query(tenant, read), _query(tenant, newer)]))
        assert trips[0] > 0 and fresh.version == newer and size == 2 and set(fresh.docs) == {"d1", "d2"}

        with counting() as trips:
            await built.get(tenant, asked_version([_query(tenant, newer), _query(tenant, None)]))
        assert trips[0] == 1, "a query that names no version makes the store's version be read"
        assert builds == [read, newer]
        await r.aclose()

    asyncio.run(scenario())
