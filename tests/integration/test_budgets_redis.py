"""policy.budgets on a real redis-server: reservations can never together pass a hard limit."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from mesh.io.keys import Keys
from mesh.io.redis_clients import async_redis
from policy.budgets import Budgets, Grant, Limits, Refusal
from tests.integration.stores import ON_EVERY_STORE

pytestmark = [pytest.mark.integration, ON_EVERY_STORE]

NOW = datetime(2026, 11, 24, 15, 30, 10, tzinfo=timezone.utc)


def budgets(url: str, prefix: str, **limits) -> Budgets:
    return Budgets(async_redis(url), Keys(prefix), Limits(**limits))


def test_concurrent_replicas_never_pass_the_hard_limit(redis_url):
    async def go():
        replicas = [budgets(redis_url, "b1:", hard_tokens=1000) for _ in range(4)]
        tries = [replicas[i % 4].reserve("acme", 100, 0.0, NOW) for i in range(40)]
        out = await asyncio.gather(*tries)
        granted = [g for g in out if isinstance(g, Grant)]
        assert len(granted) == 10
        refused = [r for r in out if isinstance(r, Refusal)]
        assert all(r.limit == "hard_tokens" and not r.retriable for r in refused)
        assert "used 1000 of its hard limit of 1000 tokens this day; 0 left" in refused[0].message
        assert "resets at 2026-11-25T00:00Z" in refused[0].message
    asyncio.run(go())


def test_settling_charges_what_was_used_and_frees_the_rest(redis_url):
    async def go():
        b = budgets(redis_url, "b2:", hard_tokens=1000, hard_usd=1.0)
        g = await b.reserve("acme", 500, 0.2, NOW)
        assert isinstance(g, Grant)
        assert await b.settle(g, 120, 0.05)
        assert not await b.settle(g, 120, 0.05)  # settling twice charges once
        view = await b.show("acme", NOW)
        assert (view["used_tokens"], view["used_usd"], view["calls"], view["reserved"]) == (120, 0.05, 1, 0)
        assert isinstance(await b.reserve("acme", 880, 0.1, NOW), Grant)
        refused = await b.reserve("acme", 1, 0.0, NOW)
        assert isinstance(refused, Refusal) and refused.limit == "hard_tokens"
        other = budgets(redis_url, "b2:", hard_tokens=1000, hard_usd=1.0)
        assert isinstance(await other.reserve("globex", 900, 0.1, NOW), Grant)  # another tenant's budget
    asyncio.run(go())


def test_a_failed_call_releases_and_a_dead_replicas_hold_expires(redis_url):
    async def go():
        b = budgets(redis_url, "b3:", hard_tokens=100)
        b.hold_s = 60
        g = await b.reserve("acme", 100, 0.0, NOW)
        assert isinstance(await b.reserve("acme", 1, 0.0, NOW), Refusal)
        assert await b.release(g)
        g2 = await b.reserve("acme", 100, 0.0, NOW)
        assert isinstance(g2, Grant)  # never settled: its replica died
        later = NOW + timedelta(seconds=61)
        assert isinstance(await b.reserve("acme", 100, 0.0, later), Grant)
        assert (await b.show("acme", later))["used_tokens"] == 0
    asyncio.run(go())


def test_soft_limit_usd_limit_rate_limits_and_stored_limits(redis_url):
    async def go():
        b = budgets(redis_url, "b4:", soft_tokens=100, hard_usd=0.5, rpm=3)
        first = await b.reserve("acme", 60, 0.1, NOW)
        assert isinstance(first, Grant) and not first.soft_limit_passed
        second = await b.reserve("acme", 60, 0.1, NOW)
        assert second.soft_limit_passed
        costly = await b.reserve("acme", 1, 0.4, NOW)
        assert isinstance(costly, Refusal) and costly.limit == "hard_usd" and "USD" in costly.message
        await b.reserve("acme", 1, 0.0, NOW)
        limited = await b.reserve("acme", 1, 0.0, NOW)
        assert isinstance(limited, Refusal) and limited.limit == "rpm" and limited.retriable
        assert "3 requests per minute" in limited.message and "retry after 50 s" in limited.message
        assert isinstance(await b.reserve("acme", 1, 0.0, NOW + timedelta(minutes=1)), Grant)  # a new minute
        with pytest.raises(ValueError, match="soft_tokens 100 would be above hard_tokens 10"):
            await b.set("globex", hard_tokens=10, period="month")  # the default soft limit (100) never warns then
        with pytest.raises(ValueError, match="rpm: a limit is 0"):
            await b.set("globex", rpm=-5)
        await b.set("globex", soft_tokens=5, hard_tokens=10, period="month")
        view = await b.show("globex", NOW)
        assert view["period"] == "month" and view["limits"]["hard_tokens"] == 10 and view["limits"]["rpm"] == 3
        assert isinstance(view["limits"]["hard_tokens"], int) and isinstance(view["limits"]["hard_usd"], float)
        refused = await b.reserve("globex", 11, 0.0, NOW)
        assert isinstance(refused, Refusal) and "this month" in refused.message and "2026-12-01T00:00Z" in refused.message
        with pytest.raises(ValueError):
            await b.set("globex", speed=3)
    asyncio.run(go())


def test_a_call_that_ends_after_midnight_is_charged_to_the_day_it_was_granted_in(redis_url):
    """The grant names the keys it was held under: settling in the next period (or minute) still finds its hold."""
    async def go():
        b = budgets(redis_url, "b6:", hard_tokens=1000, tpm=10_000)
        before_midnight = datetime(2026, 11, 24, 23, 59, 59, tzinfo=timezone.utc)
        g = await b.reserve("acme", 500, 0.0, before_midnight)
        assert isinstance(g, Grant)
        assert await b.settle(g, 200, 0.0)  # the clock has passed midnight: the hold is still found
        day = await b.show("acme", before_midnight)
        assert (day["used_tokens"], day["calls"], day["reserved"]) == (200, 1, 0)
        next_day = await b.show("acme", before_midnight + timedelta(seconds=2))
        assert (next_day["used_tokens"], next_day["calls"]) == (0, 0)  # nothing charged to a day it did not use
        rate = await b.redis.hget(g.keys[2], "tokens")
        assert int(rate) == 200  # the minute it was granted in holds what it really used
    asyncio.run(go())
