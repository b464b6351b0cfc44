"""mesh.io.leases on a real redis-server: the limit holds across clients, leases come back, expired ones free."""

from __future__ import annotations

import asyncio

import pytest

from mesh.io.leases import Leases
from mesh.io.redis_clients import async_redis
from tests.integration.stores import ON_EVERY_STORE

pytestmark = [pytest.mark.integration, ON_EVERY_STORE]


def test_the_limit_binds_every_client_and_waiters_get_their_turn(redis_url):
    async def scenario():
        clients = [async_redis(redis_url) for _ in range(3)]  # three replicas, one Redis
        leases = [Leases(c) for c in clients]
        open_now, most, done = [0], [0], []

        async def call(i):
            lease = await leases[i % 3].take("lt1:endpoint", 2, ttl_s=10)
            open_now[0] += 1
            most[0] = max(most[0], open_now[0])
            await asyncio.sleep(0.03)
            open_now[0] -= 1
            await leases[i % 3].give_back("lt1:endpoint", lease)
            done.append(i)

        await asyncio.gather(*(call(i) for i in range(12)))
        left = await clients[0].zcard("lt1:endpoint")
        for c in clients:
            await c.aclose()
        return most[0], sorted(done), left

    most, done, left = asyncio.run(scenario())
    assert most == 2
    assert done == list(range(12))
    assert left == 0


def test_a_lease_its_holder_never_gave_back_expires(redis_url):
    async def scenario():
        client = async_redis(redis_url)
        leases = Leases(client)
        first = await leases.try_take("lt2:endpoint", 1, ttl_s=0.2)  # a replica that died holding it
        refused = await leases.try_take("lt2:endpoint", 1, ttl_s=0.2)
        await asyncio.sleep(0.3)
        later = await leases.try_take("lt2:endpoint", 1, ttl_s=0.2)
        await client.aclose()
        return first, refused, later

    first, refused, later = asyncio.run(scenario())
    assert first is not None and refused is None and later is not None
