"""mesh.io.ledger on a real redis-server: one result per key whoever races, and a window's reads and
writes made together cost one round trip each."""

from __future__ import annotations

import asyncio

import pytest

from mesh.io import roundtrips
from mesh.io.keys import Keys
from mesh.io.ledger import Ledger, Produced
from mesh.io.redis_clients import async_redis
from tests.integration.stores import ON_EVERY_STORE

pytestmark = [pytest.mark.integration, ON_EVERY_STORE]


def _out(tag: str) -> list[Produced]:
    return [Produced("steps.done", b"task", tag.encode(), (("sb-agent", b"x"),))]


def test_the_first_record_wins_for_every_replica_and_redelivery(redis_url):
    async def scenario():
        a, b = async_redis(redis_url), async_redis(redis_url)
        mine, theirs = Ledger(a, Keys("lg1:"), 60), Ledger(b, Keys("lg1:"), 60)
        first = await mine.record("executor", "t1", "k1", _out("first"))
        raced = await asyncio.gather(theirs.record("executor", "t1", "k1", _out("second")),
                                     mine.record("executor", "t1", "k1", _out("third")))
        got = await theirs.get("executor", "t1", "k1")
        missing = await theirs.get("executor", "t1", "nothing")
        await a.aclose()
        await b.aclose()
        return first, raced, got, missing

    first, raced, got, missing = asyncio.run(scenario())
    assert first == _out("first")
    assert raced == [_out("first"), _out("first")]
    assert got == _out("first") and missing is None


def test_reads_and_writes_made_together_share_one_round_trip_each(redis_url):
    roundtrips.instrument()

    async def scenario():
        client = async_redis(redis_url)
        ledger = Ledger(client, Keys("lg2:"), 60)
        await client.ping()  # connected before counting
        with roundtrips.counting() as trips:
            found = await asyncio.gather(*(ledger.get("planner", "t", f"k{i}") for i in range(10)))
            reads = trips[0]
            stored = await asyncio.gather(*(ledger.record("planner", "t", f"k{i}", _out(str(i))) for i in range(10)))
            writes = trips[0] - reads
        again = await asyncio.gather(*(ledger.get("planner", "t", f"k{i}") for i in range(10)))
        await client.aclose()
        return found, reads, stored, writes, again

    found, reads, stored, writes, again = asyncio.run(scenario())
    assert found == [None] * 10 and reads == 1
    assert stored == [_out(str(i)) for i in range(10)] and writes == 1
    assert again == stored
