"""The scanner's sweep of stored documents, on a real Redis (one node and a cluster): a corpus stored
before the scanner ran, or scanned by another detector, gets its detections kept ahead of any question;
one sweep per tenant per period, renewing what is kept and scanning only what is missing."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

from agents.scanner import Scanner, texts_of
from index.corpus import StoredDoc
from index.store import DocStore
from mesh.io.keys import Keys
from mesh.io.redis_clients import async_redis
from mesh.wire.envelope import new_envelope
from policy.pii import Detector
from policy.scans import Scans
from schemas.models import AccessAttributes, DocumentIngest
from tests.integration.stores import ON_EVERY_STORE

pytestmark = [pytest.mark.integration, ON_EVERY_STORE]

TTL_S = 3600


def _doc(tenant: str, n: int) -> DocumentIngest:
    email = f"clerk{n}@harbourline-claims.internal"
    return DocumentIngest(envelope=new_envelope(tenant, "ingest"), doc_id=f"d{n}", title=f"Refund desk {n}",
                          text=f"Refunds above the limit go to {email}. Nobody else approves them.",
                          access=AccessAttributes(tenant_id=tenant))


class Counting(Detector):
    """The real detector, counting the texts it scans."""

    scanned = 0

    def find_many(self, texts):
        Counting.scanned += len(texts)
        return super().find_many(texts)


def _stored(doc: DocumentIngest) -> StoredDoc:
    return StoredDoc(doc.doc_id, doc.title, doc.text, doc.access)


def test_a_stored_corpus_is_swept_once_per_period_and_a_new_detector_sweeps_it_again(redis_url):
    keys, tenants = Keys(f"sw{uuid.uuid4().hex[:6]}:"), [f"a{uuid.uuid4().hex[:6]}", f"b{uuid.uuid4().hex[:6]}"]
    docs = {tenants[0]: [_doc(tenants[0], n) for n in range(300)], tenants[1]: [_doc(tenants[1], 900)]}

    async def scenario():
        r = async_redis(redis_url)
        store = DocStore(r, keys)
        for doc in [d for ds in docs.values() for d in ds]:
            await store.apply(doc)  # stored while no scanner ran
        scans = Scans(r, keys, Counting(memory=0), ttl_s=TTL_S)
        texts = {t: texts_of([_stored(d) for d in ds]) for t, ds in docs.items()}
        kept = {t: [scans.key_of(t, x) for x in xs] for t, xs in texts.items()}
        assert [await r.exists(*ks) for ks in kept.values()] == [0, 0]

        Counting.scanned = 0
        await Scanner(scans, store).sweep()
        assert Counting.scanned == sum(len(xs) for xs in texts.values())  # each distinct text once
        for tenant, ks in kept.items():
            assert await r.exists(*ks) == len(ks), f"texts of {tenant} left unscanned"
        body = texts[tenants[0]][1]  # a passage of d0 (the first is its title)
        found = json.loads(await r.get(scans.key_of(tenants[0], body)))
        start = body.index("clerk0@")
        assert ["EMAIL_ADDRESS", start, start + len("clerk0@harbourline-claims.internal")] == found[0][:3]

        lost, aging = kept[tenants[0]][0], kept[tenants[0]][1]
        await r.delete(lost)
        await r.expire(aging, 60)
        await Scanner(scans, store).sweep()  # another replica, within the period: nothing to do
        assert not await r.exists(lost) and await r.ttl(aging) <= 60

        await r.delete(keys.detections_swept(tenants[0], scans.fingerprint))  # the period is over
        Counting.scanned = 0
        await Scanner(scans, store).sweep()
        assert Counting.scanned == 1 and await r.exists(lost)  # only the missing one is scanned
        assert await r.ttl(aging) > 60  # the kept ones are renewed
        assert TTL_S // 2 - 5 < await r.ttl(keys.detections_swept(tenants[0], scans.fingerprint)) <= TTL_S // 2

        stricter = Scans(r, keys, Counting(threshold=0.36, memory=0), ttl_s=TTL_S)  # other rules: another fingerprint
        assert stricter.fingerprint != scans.fingerprint
        Counting.scanned = 0
        await Scanner(stricter, store).sweep()
        assert Counting.scanned == sum(len(xs) for xs in texts.values())
        for tenant, xs in texts.items():
            assert await r.exists(*[stricter.key_of(tenant, x) for x in xs]) == len(xs)

    asyncio.run(scenario())


def test_a_sweep_cut_short_is_taken_up_again(redis_url):
    keys, tenant = Keys(f"sw{uuid.uuid4().hex[:6]}:"), f"c{uuid.uuid4().hex[:6]}"

    class Failing(Counting):
        def find_many(self, texts):
            raise RuntimeError("the NLP pipeline fell over")

    async def scenario():
        r = async_redis(redis_url)
        store = DocStore(r, keys)
        await store.apply(_doc(tenant, 1))
        with pytest.raises(RuntimeError):
            await Scanner(Scans(r, keys, Failing(memory=0), ttl_s=TTL_S), store).sweep()
        scans = Scans(r, keys, Counting(memory=0), ttl_s=TTL_S)
        assert not await r.exists(keys.detections_swept(tenant, scans.fingerprint))  # given up, not held
        await Scanner(scans, store).sweep()
        assert await r.exists(scans.key_of(tenant, "Refund desk 1"))

    asyncio.run(scenario())
