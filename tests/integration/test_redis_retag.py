"""`switchboard redis retag` on a real redis-server: state written under the names of a release without hash
tags is found by the mesh after the rename, and nothing written since is overwritten."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import pytest

from mesh.io.keys import Keys
from mesh.io.ledger import Ledger, Produced
from mesh.io.redis_clients import async_redis, sync_redis

pytestmark = pytest.mark.integration

PREFIX = "rt:"
K = Keys(PREFIX)


def switchboard(redis_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SWITCHBOARD_REDIS_URL": redis_url, "SWITCHBOARD_KEY_PREFIX": PREFIX}
    return subprocess.run([sys.executable, "-m", "mesh.cli.main", "redis", "retag", *args], env=env,
                          capture_output=True, text=True, timeout=60)


def _ledger_entry(redis_url: str) -> list[Produced] | None:
    async def read():
        client = async_redis(redis_url)
        try:
            return await Ledger(client, K, 60).get("executor", "a:b", "k1")
        finally:
            await client.aclose()
    return asyncio.run(read())


def test_old_names_are_renamed_and_the_mesh_reads_its_state_under_the_new(redis_url):
    r = sync_redis(redis_url)
    asyncio.run(_record(redis_url))
    r.rename(K.ledger("executor", "a:b", "k1"), "rt:t:a:b:idem:executor:k1")  # as the old release named it
    r.hset(K.deks(), "a:b", b"wrapped")  # the tenant has a data key: its id is read whole, colon and all
    r.hset("rt:t:acme:budget:2026-12", mapping={"tokens": 120})
    r.set("rt:policy:active", "v3")
    r.zadd("rt:pending:planner:deadlines", {"rt:t:acme:task:t9": 1234})  # a task in flight at the upgrade
    assert _ledger_entry(redis_url) is None  # not found under the old name

    dry = switchboard(redis_url, "--dry-run")
    assert dry.returncode == 0 and "rt:t:a:b:idem:executor:k1 -> rt:t:{a:b}:idem:executor:k1" in dry.stdout
    assert r.exists("rt:t:a:b:idem:executor:k1")  # a dry run renames nothing

    done = switchboard(redis_url, "--json")
    report = json.loads(done.stdout)
    assert done.returncode == 0 and report["renamed"] == 4 and report["taken"] == [] and report["deadlines"] == 1
    assert [p.value for p in _ledger_entry(redis_url)] == [b"v1"]
    assert r.zrange(K.deadlines("planner"), 0, -1, withscores=True) == [(K.task("acme", "t9").encode(), 1234.0)]
    assert r.hget(K.budget_spent("acme", "2026-12"), "tokens") == b"120" and r.get(K.policy_active()) == b"v3"

    r.set("rt:policy:active", "old")  # an old key whose new name was written since
    taken = switchboard(redis_url)
    assert taken.returncode == 1 and "kept rt:policy:active" in taken.stderr
    assert r.get(K.policy_active()) == b"v3" and r.get("rt:policy:active") == b"old"


async def _record(redis_url: str) -> None:
    client = async_redis(redis_url)
    await Ledger(client, K, 60).record("executor", "a:b", "k1", [Produced("steps.done", b"k", b"v1")])
    await client.aclose()


def test_a_cluster_is_refused_with_what_to_do_instead():
    done = switchboard("redis+cluster://127.0.0.1:1")
    assert done.returncode != 0 and "cannot cross a cluster's slots" in done.stderr
