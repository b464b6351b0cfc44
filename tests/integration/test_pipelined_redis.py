"""mesh.io.pipelined on a real redis-server: a handler's Redis work rides on the ledger's two round trips
(its first commands on the read, its deferred writes on the write), scripts go by SHA and survive
Redis forgetting them, and one caller's failure is never its neighbours'."""

from __future__ import annotations

import asyncio

import pytest

from mesh.io import roundtrips
from mesh.io.keys import Keys
from mesh.io.ledger import Ledger, Produced
from mesh.io.pipelined import Batch, after, collecting, run, together
from mesh.io.redis_clients import async_redis
from tests.integration.stores import ON_EVERY_STORE

pytestmark = [pytest.mark.integration, ON_EVERY_STORE]

_INCR = "return redis.call('INCRBY', KEYS[1], ARGV[1])"


def _get(key: str):
    def queue(b: Batch):
        b.pipe.get(key)
        return lambda replies: replies[0]
    return queue


def _set(key: str, value: str):
    def queue(b: Batch) -> None:
        b.pipe.set(key, value)
    return queue


def test_a_prefetch_and_a_due_rider_ride_on_the_ledger_read(redis_url):
    roundtrips.instrument()
    refreshed = []

    def rider():
        def queue(b: Batch):
            b.pipe.get("pl:policy")
            return lambda replies: refreshed.append(replies[0])
        return queue

    async def scenario():
        r = async_redis(redis_url)
        await r.set("pl:status", "running")
        await r.set("pl:policy", "v2")
        ledger = Ledger(r, Keys("pl1:"), 60, riders=[rider, lambda: None])
        with roundtrips.counting() as trips:
            recorded, fetched = await ledger.get_with("planner", "t", "k", together(_get("pl:status"), _get("pl:none")))
        broken = await ledger.get_with("planner", "t", "k", lambda b: (b.pipe.get("pl:status"), 1 / 0)[0])
        await r.aclose()
        return trips[0], recorded, fetched, broken

    trips, recorded, fetched, (_, broken) = asyncio.run(scenario())
    assert trips == 1 and recorded is None and fetched == (b"running", None)
    assert refreshed == [b"v2", b"v2"]
    assert isinstance(broken, ZeroDivisionError)  # the handler reads for itself; the ledger's answer stands


def test_deferred_writes_go_with_the_ledger_entry_and_are_written_at_once_outside_a_message(redis_url):
    roundtrips.instrument()

    async def scenario():
        r = async_redis(redis_url)
        ledger = Ledger(r, Keys("pl2:"), 60)
        incr = r.register_script(_INCR)
        await r.script_load(_INCR)

        def bump(b: Batch) -> None:
            b.script(incr, ["pl2:n"], [5])

        with roundtrips.counting() as trips, collecting() as writes:
            await after(r, _set("pl2:memo", "answer"), "a test write")
            await after(r, bump, "a test write")
            assert await r.get("pl2:memo") is None  # not yet: it waits for the entry
            stored = await ledger.record("executor", "t", "k", [Produced("steps.validate", b"k", b"v")], writes)
        written = trips[0]
        await after(r, _set("pl2:now", "1"), "a test write")  # no message: written at once
        out = [await r.get(k) for k in ("pl2:memo", "pl2:n", "pl2:now")]
        await r.aclose()
        return written, stored, out

    written, stored, out = asyncio.run(scenario())
    # the test's own GET, then the entry with both writes (under Cluster the writes first, then the entry)
    assert written == (3 if "cluster" in redis_url else 2)
    assert [p.value for p in stored] == [b"v"] and out == [b"answer", b"5", b"1"]


def test_a_script_redis_forgot_is_loaded_and_run_again(redis_url):
    async def scenario():
        r = async_redis(redis_url)
        incr = r.register_script(_INCR)

        def bump(b: Batch):
            b.script(incr, ["pl3:n"], [2])
            b.pipe.get("pl3:other")
            return lambda replies: replies[0]

        first = await run(r, bump, "a test")
        await r.script_flush()
        again = await run(r, bump, "a test")
        await r.aclose()
        return first, again

    assert asyncio.run(scenario()) == (2, 4)


def _critical_incr(script):
    def queue(b: Batch):
        b.critical()
        b.script(script, ["pl:crit"], [1])
        return lambda replies: replies[0]
    return queue


def test_a_critical_batch_waits_for_replicas_only_when_asked_and_fails_short_of_them(redis_url):
    """One node has no replica: asked to wait for one, a critical batch fails as ReplicasBehind (retriable)
    after the timeout; not asked, it sends no WAIT; a batch nobody marked critical never waits."""
    from mesh.errors import ReplicasBehind
    from mesh.io.redis_clients import connect
    from mesh.settings import Settings

    def waits_sent(client_url: str) -> int:
        from mesh.io.redis_clients import sync_redis
        r = sync_redis(client_url)
        if "cluster" not in client_url:
            return r.info("commandstats").get("cmdstat_wait", {}).get("calls", 0)
        by_node = r.info("commandstats", target_nodes=r.PRIMARIES)
        return sum(stats.get("cmdstat_wait", {}).get("calls", 0) for stats in by_node.values())

    async def scenario():
        lone = connect(Settings(redis_url=redis_url))
        waiting = connect(Settings(redis_url=redis_url, redis_wait_replicas=1, redis_wait_timeout_ms=50))
        script = lone.register_script(_INCR)
        before = waits_sent(redis_url)
        plain = await run(lone, _critical_incr(script), "a critical write, no wait asked")
        after_plain = waits_sent(redis_url)
        uncritical = await run(waiting, _get("pl:crit"), "a read nobody marked critical")
        await waiting.script_flush()  # the script is loaded and run again after the pipeline, then waited for
        with pytest.raises(ReplicasBehind, match="0 of 1 Redis replicas") as refused:
            await run(waiting, _critical_incr(waiting.register_script(_INCR)), "a critical write")
        after_refused = waits_sent(redis_url)
        await lone.aclose()
        await waiting.aclose()
        return plain, before, after_plain, uncritical, refused.value, after_refused

    plain, before, after_plain, uncritical, refused, after_refused = asyncio.run(scenario())
    assert plain == 1 and after_plain == before  # no WAIT when SWITCHBOARD_REDIS_WAIT_REPLICAS=0
    assert uncritical == b"1"
    assert refused.retriable and after_refused == before + 2  # the pipeline's WAIT and the rerun's
    assert refused.answers == [2]  # what the primary answered, for a caller that must undo it


def test_a_reservation_refused_its_replica_wait_can_be_given_back(redis_url):
    """The budget's hold is made on the primary even when WAIT falls short; the error carries the grant, so
    the executor releases it instead of leaving a hold per retry."""
    from mesh.errors import ReplicasBehind
    from mesh.io.redis_clients import connect
    from mesh.settings import Settings
    from policy.budgets import Budgets, Grant

    async def scenario():
        settings = Settings(redis_url=redis_url, key_prefix="plb:", redis_wait_replicas=1, redis_wait_timeout_ms=50)
        client = connect(settings)
        budgets = Budgets.from_settings(settings, client)
        with pytest.raises(ReplicasBehind) as refused:
            await run(client, budgets.reserving("acme", 100, 0.01, await budgets.period_of("acme")), "reserving")
        held = (await budgets.show("acme"))["reserved"]
        grant = refused.value.answers[0]
        with pytest.raises(ReplicasBehind):  # the release is made on the primary too
            await budgets.release(grant)
        left = (await budgets.show("acme"))["reserved"]
        await client.aclose()
        return grant, held, left

    grant, held, left = asyncio.run(scenario())
    assert isinstance(grant, Grant) and held == 1 and left == 0
