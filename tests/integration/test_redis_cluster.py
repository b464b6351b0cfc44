"""State on a Redis Cluster of three primaries from redis-server, on loopback: every script and
transaction runs in one slot, a critical write waits for the replicas of each node it wrote to, and a
whole mesh answers on it. (The Redis-side suites run on a cluster too: ``ON_EVERY_STORE``.)"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import time

import pytest

from infra.processes import stop_all
from infra.redis_cluster import add_replica, slot_ranges, start_cluster
from mesh.errors import ReplicasBehind
from mesh.io.keys import Keys
from mesh.io.ledger import Ledger, Produced
from mesh.io.pipelined import Batch, run
from mesh.io.pipelined import replicated as replicated_on
from mesh.io.redis_clients import connect, sync_redis
from mesh.io.slots import slot_of
from mesh.settings import Settings

pytestmark = pytest.mark.integration

PREFIX = "cl:"


def _free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def cluster_ports(n: int) -> list[int]:
    """``n`` free ports whose cluster bus ports (+ 10000, Redis's default) are free too; both below the
    ephemeral range (32768 and up), where a client connection's own port could take one meanwhile."""
    ports: list[int] = []
    while len(ports) < n:
        port = random.randrange(12000, 22000)
        if port not in ports and _free(port) and _free(port + 10000):
            ports.append(port)
    return ports


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """(the primaries' ports, the URL): three primaries, the first with a replica."""
    logs = tmp_path_factory.mktemp("cluster")
    ports = cluster_ports(4)
    children = start_cluster(ports[:3], logs)
    try:
        children.append(add_replica(ports[0], ports[3], logs))
    except BaseException:
        stop_all([c.pid for c in children])
        raise
    yield ports[:3], "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in ports[:3]), children
    stop_all([c.pid for c in children])


def tenant_on(node: int) -> str:
    """A tenant whose keys live on primary ``node`` (nodes hold contiguous slot ranges, in port order)."""
    first, last = slot_ranges(3)[node]
    return next(t for t in (f"tenant{i}" for i in range(10_000))
                if first <= slot_of(Keys(PREFIX).ledger("a", t, "k")) <= last)


def _out(tag: str) -> list[Produced]:
    return [Produced("steps.done", b"task", tag.encode())]


def test_tenants_spread_over_the_nodes_and_each_reads_back_its_own(cluster):
    _, url, _ = cluster

    async def scenario():
        client = connect(Settings(redis_url=url, key_prefix=PREFIX))
        ledger = Ledger(client, Keys(PREFIX), 60)
        tenants = [tenant_on(n) for n in range(3)]
        await asyncio.gather(*(ledger.record("executor", t, "k", _out(t)) for t in tenants))
        back = await asyncio.gather(*(ledger.get("executor", t, "k") for t in tenants))
        await client.aclose()
        return tenants, back

    tenants, back = asyncio.run(scenario())
    assert [[p.value for p in stored] for stored in back] == [[t.encode()] for t in tenants]
    nodes = {sync_redis(url).get_node_from_key(Keys(PREFIX).ledger("executor", t, "k")).port for t in tenants}
    assert len(nodes) == 3


def test_a_script_whose_keys_span_two_slots_is_refused_before_it_is_sent(cluster):
    _, url, _ = cluster

    async def scenario():
        client = connect(Settings(redis_url=url))
        script = client.register_script("return redis.call('GET', KEYS[1])")

        def both(b: Batch):
            b.script(script, [Keys(PREFIX).task("acme", "t"), Keys(PREFIX).task("globex", "t")], [])
        try:
            return await run(client, both, "a script over two tenants")
        finally:
            await client.aclose()

    with pytest.raises(Exception, match="different Redis Cluster slots") as refused:
        asyncio.run(scenario())
    assert not refused.value.retriable


def test_a_critical_write_waits_for_the_replicas_of_every_node_it_wrote_to(cluster):
    """Only the first primary has a replica: a critical batch on its keys alone is acknowledged; one that also
    writes to a node without a replica is refused, retriably, with what the primaries answered."""
    _, url, _ = cluster

    async def scenario():
        client = connect(Settings(redis_url=url, key_prefix=PREFIX, redis_wait_replicas=1, redis_wait_timeout_ms=200))
        ledger = Ledger(client, Keys(PREFIX), 60)
        stored = await ledger.record("executor", tenant_on(0), "w1", _out("one"))
        try:
            def two_nodes(b: Batch):
                b.critical()
                for t in (tenant_on(0), tenant_on(1)):
                    b.pipe.set(Keys(PREFIX).task(t, "w2"), "x")
            await run(client, two_nodes, "a critical write over two nodes")
        except ReplicasBehind as err:
            refused = err
        else:
            refused = None
        await replicated_on(client, Keys(PREFIX).audit_head(tenant_on(0)))  # a transaction's keys, waited for after
        try:
            await replicated_on(client, Keys(PREFIX).audit_head(tenant_on(2)))
        except ReplicasBehind as err:
            behind = err
        else:
            behind = None
        await client.aclose()
        return stored, refused, behind

    stored, refused, behind = asyncio.run(scenario())
    assert [p.value for p in stored] == [b"one"]
    assert refused is not None and refused.retriable and "0 of 1 Redis replicas" in str(refused)
    assert behind is not None and "0 of 1 Redis replicas" in str(behind)


def test_a_whole_mesh_runs_on_a_cluster(tmp_path):
    """`up` with a redis+cluster URL starts three primaries and forms the cluster; the agents keep their ledger,
    checkpoints, budgets, audit chain, data keys and documents on it, and a question is answered with its
    citations."""
    from mesh.ops.stack import Mesh
    from schemas.models import Principal, TaskStatus
    from tests.integration.conftest import make_settings
    from tests.integration.test_answer_end_to_end import ingest

    hosts = ",".join(f"127.0.0.1:{p}" for p in cluster_ports(3))
    mesh = Mesh(make_settings(tmp_path, redis_url=f"redis+cluster://{hosts}"))
    mesh.start()
    try:
        settings = mesh.settings
        client = ingest(settings, "acme")
        answer = client.ask("How long are audit logs retained?", Principal(tenant_id="acme", user_id="u1"))
        r = sync_redis(settings)
        deadline = time.monotonic() + 30  # the auditor appends after the answer is out
        while not (audit_heads := list(r.scan_iter(Keys(settings.key_prefix).audit_heads()))) \
                and time.monotonic() < deadline:
            time.sleep(0.2)
        nodes = {r.get_node_from_key(k.decode()).port for k in r.scan_iter(f"{settings.key_prefix}*")}
    finally:
        mesh.stop()
    assert answer.status is TaskStatus.answered and "400 days" in answer.answer and answer.citations
    assert audit_heads  # the auditor's chain, appended by WATCH/MULTI in the tenant's slot
    assert len(nodes) > 1  # the mesh's keys spread over the cluster


def test_clients_follow_a_failover_and_writes_the_replica_acknowledged_survive_it(cluster):
    """The first primary is killed: the cluster promotes its replica, the clients find it by the slot map, and
    a critical write it acknowledged before (WAIT 1) is read back. Last in the module: it kills a node."""
    ports, url, children = cluster
    tenant = tenant_on(0)

    async def scenario():
        client = connect(Settings(redis_url=url, key_prefix=PREFIX, redis_wait_replicas=1))
        ledger = Ledger(client, Keys(PREFIX), 60)
        await ledger.record("executor", tenant, "before", _out("kept"))
        primary = next(c for c in children if c.name == f"redis-{ports[0]}")
        os.kill(primary.pid, signal.SIGKILL)
        await client.aclose()
        lone = connect(Settings(redis_url=url, key_prefix=PREFIX))  # no replica left to wait for
        deadline = time.monotonic() + 30
        while True:
            try:
                kept = await Ledger(lone, Keys(PREFIX), 60).get("executor", tenant, "before")
                break
            except Exception:  # the slot is down until the replica is promoted
                assert time.monotonic() < deadline, "the cluster never promoted the replica"
                await asyncio.sleep(0.5)
        after = await Ledger(lone, Keys(PREFIX), 60).record("executor", tenant, "after", _out("new"))
        await lone.aclose()
        return kept, after

    kept, after = asyncio.run(scenario())
    assert [p.value for p in kept] == [b"kept"] and [p.value for p in after] == [b"new"]
