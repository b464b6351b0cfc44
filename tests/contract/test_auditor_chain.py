"""The auditor's appends on a real Redis: events that arrive together are chained in order, per
tenant, each once; a redelivered event gets back the record it was appended as; and the chain the
auditor emits passes ``policy.audit_chain.verify`` against the head it keeps."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from agents.auditor import head_key, spec
from mesh.io.keys import Keys
from mesh.runtime.spec import AgentContext
from mesh.settings import Settings
from mesh.wire.codec import default_codec
from mesh.wire.envelope import new_envelope
from mesh.wire.topics import Topics
from policy.audit_chain import verify
from schemas.models import AuditRecord, Decision

pytestmark = pytest.mark.contract


def event(tenant: str, n: int) -> AuditRecord:
    return AuditRecord(envelope=new_envelope(tenant, "audit"), agent="planner", principal=f"{tenant}/u{n}",
                       action="submit_task", resource=f"Task::{n}", decision=Decision.allow)


def run(redis_url: str, prefix: str, body):
    """``body(handle_many, client)`` on a fresh loop, with the auditor's route built over a real Redis."""
    async def main():
        client = aioredis.from_url(redis_url)
        ctx = AgentContext(Settings(), default_codec(), Topics(""), Keys(prefix), client)
        route = spec.routes(ctx)[0]
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
        heads = {t: await client.hmget(head_key(key_prefix, t), "seq", "hash") for t in ("ta", "tb")}
        return out, heads

    out, heads = run(redis_url, key_prefix, body)
    assert [len(emits) for emits in out] == [1] * len(mixed)
    records = [emits[0].record for emits in out]
    assert [(r.chain, r.seq) for r in records] == [("ta", 1), ("tb", 1), ("ta", 2), ("ta", 3), ("tb", 2), ("ta", 4),
                                                   ("tb", 3), ("ta", 5)]
    assert all(emits[0].key == r.chain for emits, r in zip(out, records))
    assert [r.resource for r in records] == [e.resource for e in mixed]  # each its own event, in order
    codec = default_codec()
    report = verify([(0, i, codec.encode(r)) for i, r in enumerate(records)], codec,
                    heads={t: (int(s), h.decode()) for t, (s, h) in heads.items()})
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
