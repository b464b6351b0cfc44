"""Redis round trips are counted per message, against a real redis-server."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from mesh.io.roundtrips import counting, instrument

pytestmark = pytest.mark.integration


def test_commands_scripts_and_pipelines_each_count_one_round_trip(redis_url):
    instrument()
    instrument()  # idempotent: still one count per trip

    async def go():
        r = aioredis.from_url(redis_url)
        script = r.register_script("return redis.call('INCR', KEYS[1])")
        await r.set("rt:a", 1)  # outside any counter: not counted anywhere
        await script(keys=["rt:b"])  # the first call loads the script (EVALSHA, SCRIPT LOAD, EVALSHA)
        with counting() as trips:
            await r.get("rt:a")
            async with r.pipeline(transaction=True) as pipe:
                pipe.incr("rt:a")
                pipe.get("rt:a")
                await pipe.execute()
            await script(keys=["rt:b"])
            await asyncio.gather(r.get("rt:a"), r.get("rt:b"))  # tasks share the handler's counter
        await r.aclose()
        return trips[0]

    trips = asyncio.run(go())
    assert trips == 5  # get, one pipeline, one script call (EVALSHA), two gets
