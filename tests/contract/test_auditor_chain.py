"""The auditor's appends on a real Redis: events that arrive together are chained in order, per
tenant, each once; a redelivered event gets back the record it was appended as; the chain the
auditor emits passes ``policy.audit_chain.verify`` against the head it keeps; and it refuses to
chain after a head it cannot verify (deleted while the log has records, or moved without the key)
until the head is resealed from the log."""

from __future__ import annotations

import asyncio
import os

import pytest
import redis
import redis.asyncio as aioredis

from agents.auditor import ChainHalted, head_key, routes
from mesh.io.keys import Keys
from mesh.observe.metrics import AUDIT_CHAIN_HALTED
from mesh.runtime.spec import AgentContext
from mesh.security.audit_keys import ChainKeys
from mesh.settings import Settings
from mesh.wire.codec import default_codec
from mesh.wire.envelope import new_envelope
from mesh.wire.topics import Topics
from policy.audit_chain import Head, verify
from policy.audit_cli import reseal
from schemas.models import AuditRecord, Decision

pytestmark = pytest.mark.contract
KEYS = ChainKeys([os.urandom(32)])


def event(tenant: str, n: int) -> AuditRecord:
    return AuditRecord(envelope=new_envelope(tenant, "audit"), agent="planner", principal=f"{tenant}/u{n}",
                       action="submit_task", resource=f"Task::{n}", decision=Decision.allow)


def run(redis_url: str, prefix: str, body, log: list | None = None):
    """``body(route, client)`` on a fresh loop, with the auditor's route built over a real Redis; ``log``
    stands for ``audit.log`` (the records the test says are on it)."""
    async def has_records(tenant: str) -> bool:
        return any(r.chain == tenant for r in log or [])

    async def main():
        client = aioredis.from_url(redis_url)
        ctx = AgentContext(Settings(), default_codec(), Topics(""), Keys(prefix), client)
        route = routes(ctx, KEYS, has_records)[0]
        try:
            return await body(route, client)
        finally:
            await client.aclose()
    return asyncio.run(main())


def test_a_batch_of_two_tenants_events_makes_two_gapless_chains_that_verify(redis_url, key_prefix):
    a = [event("ta", n) for n in range(5)]
    b = [event("tb", n) for n in range(3)]
    mixed = [a[0], b[0], a[1], a[2], b[1], a[3], b[2], a[4]]

    async def body(route, client):
        out = await route.handle_many(mixed)
        heads = {t: await client.hmget(head_key(key_prefix, t), "seq", "hash", "sig") for t in ("ta", "tb")}
        return out, heads

    out, heads = run(redis_url, key_prefix, body)
    assert [len(emits) for emits in out] == [1] * len(mixed)
    records = [emits[0].record for emits in out]
    assert [(r.chain, r.seq) for r in records] == [("ta", 1), ("tb", 1), ("ta", 2), ("ta", 3), ("tb", 2), ("ta", 4),
                                                   ("tb", 3), ("ta", 5)]
    assert all(emits[0].key == r.chain for emits, r in zip(out, records))
    assert [r.resource for r in records] == [e.resource for e in mixed]  # each its own event, in order
    codec = default_codec()
    report = verify([(0, i, codec.encode(r)) for i, r in enumerate(records)], codec, KEYS,
                    heads={t: Head(int(s), h.decode(), g.decode()) for t, (s, h, g) in heads.items()})
    assert report.ok, report.problems
    assert report.records == {"ta": 5, "tb": 3}


def test_redelivered_events_get_back_their_records_and_the_chain_does_not_grow(redis_url, key_prefix):
    first = [event("tc", n) for n in range(3)]
    later = event("tc", 9)

    async def body(route, client):
        one = await route.handle_many(first)
        # redeliveries (one of them twice in the batch) beside a new event that also comes twice
        two = await route.handle_many([first[1], later, first[2], first[1], later])
        alone = await route.handle(first[0])  # and one redelivered alone
        return one, two, alone, await client.hget(head_key(key_prefix, "tc"), "seq")

    one, two, alone, seq = run(redis_url, key_prefix, body)
    before = [e[0].record for e in one]
    again = [e[0].record for e in two]
    assert [r.seq for r in before] == [1, 2, 3]
    assert again[0] == before[1] and again[2] == before[2] and again[3] == before[1]
    assert again[1].seq == 4 and again[1].resource == later.resource and again[4] == again[1]
    assert alone[0].record == before[0]
    assert int(seq) == 4


def appended(redis_url: str, prefix: str, tenant: str, n: int, log: list | None = None) -> list[AuditRecord]:
    async def body(route, client):
        return [e[0].record for e in await route.handle_many([event(tenant, i) for i in range(n)])]
    return run(redis_url, prefix, body, log)


def refused(redis_url: str, prefix: str, tenant: str, log: list) -> ChainHalted:
    async def body(route, client):
        with pytest.raises(ChainHalted) as caught:
            await route.handle_many([event(tenant, 7)])
        return caught.value
    return run(redis_url, prefix, body, log)


def checked(redis_url: str, prefix: str, log: list[AuditRecord]):
    codec, r = default_codec(), redis.Redis.from_url(redis_url)
    known = {}
    for t in {rec.chain for rec in log}:
        seq, tag, sig = r.hmget(head_key(prefix, t), "seq", "hash", "sig")
        if seq is not None:
            known[t] = Head(int(seq), tag.decode(), sig.decode() if sig else None)
    return verify([(0, i, codec.encode(rec)) for i, rec in enumerate(log)], codec, KEYS, known)


def test_a_deleted_head_halts_the_chain_until_it_is_resealed_from_the_log(redis_url, key_prefix):
    log = appended(redis_url, key_prefix, "td", 3)
    assert checked(redis_url, key_prefix, log).ok
    r = redis.Redis.from_url(redis_url)
    r.delete(head_key(key_prefix, "td"))
    report = checked(redis_url, key_prefix, log)
    assert [p.what.split(":")[0] for p in report.problems] == ["no head in Redis for a chain of 3 records"]

    err = refused(redis_url, key_prefix, "td", log)  # a process that never saw the chain: the log says it exists
    assert err.code == "audit_chain_halted" and "its head is missing from Redis while audit.log holds records" in str(err)
    assert "`switchboard audit reseal --tenant td`" in str(err)
    assert r.exists(head_key(key_prefix, "td")) == 0  # nothing appended, no new chain started at 1
    assert AUDIT_CHAIN_HALTED.labels("td")._value.get() == 1

    settings = Settings(redis_url=redis_url, key_prefix=key_prefix)
    assert reseal(settings, verify([(0, i, default_codec().encode(rec)) for i, rec in enumerate(log)], default_codec(),
                                   KEYS), KEYS) == {"td": "resealed at seq 3"}
    more = appended(redis_url, key_prefix, "td", 2, log)
    assert [rec.seq for rec in more] == [4, 5]
    assert checked(redis_url, key_prefix, log + more).ok


def test_a_head_moved_without_the_key_halts_the_chain(redis_url, key_prefix):
    log = appended(redis_url, key_prefix, "tm", 2)
    r = redis.Redis.from_url(redis_url)
    r.hset(head_key(key_prefix, "tm"), mapping={"seq": 3, "hash": "forged"})  # after a forged record 3
    assert any("its head in Redis (seq 3) does not verify" in str(p) for p in checked(redis_url, key_prefix, log).problems)
    err = refused(redis_url, key_prefix, "tm", log)
    assert "does not verify: it was written or moved without the audit key" in str(err)
    assert int(r.hget(head_key(key_prefix, "tm"), "seq")) == 3


def test_a_new_tenants_chain_starts_when_the_log_has_none_of_it(redis_url, key_prefix):
    other = appended(redis_url, key_prefix, "tx", 1)
    assert [rec.seq for rec in appended(redis_url, key_prefix, "tn", 2, other)] == [1, 2]
