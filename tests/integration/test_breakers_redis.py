"""Breakers, endpoint health and recorded model answers, against a real redis-server.

Two "replicas" here are two processes with their own connections: what one does to a breaker,
the other sees."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

import pytest

from mesh.io.breakers import Breakers
from mesh.io.keys import Keys
from mesh.io.redis_clients import async_redis, sync_redis
from mesh.llm.call_memo import CallMemo
from mesh.llm.route_stats import Health, RouteStats
from tests.integration.stores import ON_EVERY_STORE

pytestmark = [pytest.mark.integration, ON_EVERY_STORE]

PREFIX = "bt:"
#: the breakers' reset time: longer than starting the other replica's process takes on a busy machine
#: (seconds there), so a breaker seen open was not half-open already
RESET_S = 6


def other_replica(redis_url: str, *actions: str) -> list:
    """Run ``actions`` (allow, succeeded, failed, state) on breaker ``ep`` in another process."""
    code = f"""
import asyncio, json
from mesh.io.breakers import Breakers
from mesh.io.keys import Keys
b = Breakers({redis_url!r}, Keys({PREFIX!r}), fail_max=3, reset_s={RESET_S}).get("ep")
async def go():
    out = []
    for a in {list(actions)!r}:
        if a == "state": out.append(b.state)
        elif a == "allow": out.append(await b.allow())
        elif a == "succeeded": out.append(await b.succeeded())
        else: out.append(await b.failed("boom"))
    return out
print(json.dumps(asyncio.run(go())))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_breaker_opened_by_one_replica_is_open_for_the_other_and_a_probe_closes_it_for_both(redis_url):
    async def go():
        mine = Breakers(redis_url, Keys(PREFIX), fail_max=3, reset_s=RESET_S).get("ep")
        mine.close()
        for _ in range(2):
            await mine.failed("HTTP 500")
        assert other_replica(redis_url, "state", "allow") == ["closed", True]  # two failures: still closed
        await mine.failed("HTTP 500")
        assert mine.state == "open"
        assert other_replica(redis_url, "state", "allow") == ["open", False]
        client = async_redis(redis_url)
        stats = RouteStats(client, Keys(PREFIX), breaker_reset_s=RESET_S)
        assert (await stats.loads(["ep"]))["ep"].breaker_open  # routing sees it too, without changing it
        time.sleep(RESET_S + 0.1)
        # the reset time is over: the other replica's call is the probe, and its success closes it for both
        assert other_replica(redis_url, "allow", "state", "succeeded", "state") == [True, "half-open", None, "closed"]
        assert mine.state == "closed" and await mine.allow()
        assert not (await stats.loads(["ep"]))["ep"].breaker_open
        # a failed probe opens it again at once
        for _ in range(3):
            await mine.failed("HTTP 500")
        time.sleep(RESET_S + 0.1)
        assert other_replica(redis_url, "allow", "failed", "state", "allow") == [True, None, "open", False]
        await client.aclose()
    asyncio.run(go())


def test_the_state_read_with_the_route_loads_decides_allow_without_another_read(redis_url):
    """The router's loads carry each breaker's state; a closed one lets the call out on no read of its own,
    an open one is still read (its reset time may be over, and the probe goes through pybreaker)."""
    import socket

    from mesh.errors import TransientError

    async def go():
        client = async_redis(redis_url)
        mine = Breakers(redis_url, Keys(PREFIX + "rt:"), fail_max=1, reset_s=30).get("ep")
        mine.close()
        stats = RouteStats(client, Keys(PREFIX + "rt:"), breaker_reset_s=30)
        load = (await stats.loads(["ep"]))["ep"]
        assert load.breaker_state == "closed" and not load.breaker_open
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            dead = sock.getsockname()[1]  # nothing listens here once closed
        blind = Breakers(f"redis://127.0.0.1:{dead}/0", Keys(PREFIX + "rt:"), fail_max=1, reset_s=30).get("ep")
        assert await blind.allow(load.breaker_state)  # decided on what the loads read: no Redis needed
        with pytest.raises(TransientError):
            await blind.allow()  # without it, it must read (and here cannot)
        await mine.failed("HTTP 500")
        load = (await stats.loads(["ep"]))["ep"]
        assert load.breaker_state == "open" and load.breaker_open
        assert not await mine.allow(load.breaker_state)  # open: read, and refused within the reset time
        with pytest.raises(TransientError):
            await blind.allow(load.breaker_state)
        mine.close()
        await client.aclose()
    asyncio.run(go())


def test_an_endpoint_that_answers_badly_is_unhealthy_until_it_has_been_left_alone(redis_url):
    async def go():
        client = async_redis(redis_url)
        health = Health(min_pass_rate=0.5, min_samples=5, reset_s=1.0)
        stats = RouteStats(client, Keys(PREFIX + "h:"), breaker_reset_s=30, health=health)
        for _ in range(4):
            await stats.validated("fast-but-wrong", passed=False)
        assert (await stats.loads(["fast-but-wrong"]))["fast-but-wrong"].healthy  # too few samples to judge
        rate = await stats.validated("fast-but-wrong", passed=False)
        assert rate < 0.5
        assert not (await stats.loads(["fast-but-wrong"]))["fast-but-wrong"].healthy
        for _ in range(10):
            await stats.validated("good", passed=True)
        await stats.validated("good", passed=False)
        assert (await stats.loads(["good"]))["good"].healthy
        time.sleep(1.1)  # nobody validated it for reset_s: it may be tried again
        assert (await stats.loads(["fast-but-wrong"]))["fast-but-wrong"].healthy
        await client.aclose()
    asyncio.run(go())


def test_a_recorded_model_answer_survives_the_replica_that_recorded_it(redis_url, tmp_path):

    from mesh.security.crypto import Keyring, LocalKeyFile, RedisDekStore, Sealer

    def sealer() -> Sealer:  # each replica its own keyring, over the same KEK file and Redis
        return Sealer(Keyring(LocalKeyFile(tmp_path / "kek"), RedisDekStore(sync_redis(redis_url),
                                                                            Keys(PREFIX).deks())))

    async def go():
        writer, reader = async_redis(redis_url), async_redis(redis_url)
        answer = {"endpoint": "ep", "text": "Seven days. [1]", "citations": [], "finish_reason": "stop",
                  "usage": {"model": "m", "prompt_tokens": 10, "completion_tokens": 3}, "reason": "cheapest"}
        await CallMemo(writer, Keys(PREFIX), 60, sealer()).put("acme", "task1/p1/execute#0", answer)
        await writer.aclose()
        memo = CallMemo(reader, Keys(PREFIX), 60, sealer())
        assert await memo.get("acme", "task1/p1/execute#0") == answer
        assert await memo.get("acme", "task1/p1/execute#1") is None  # another attempt is another call
        assert await memo.get("globex", "task1/p1/execute#0") is None  # another tenant's step, same key: not it
        stored = await reader.get(Keys(PREFIX).ledger("executor.call", "acme", "task1/p1/execute#0"))
        assert b"Seven days" not in stored and json.loads(stored)["text"].startswith("sb1:")
        await reader.aclose()
    asyncio.run(go())
