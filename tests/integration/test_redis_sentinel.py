"""State on a Sentinel-managed Redis: a primary, its replica and three sentinels from redis-server, on
loopback. Clients find the primary through the sentinels and follow a failover; a critical write is
acknowledged only once the replica holds it, so it survives the primary's death."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time

import pytest
import redis

from infra.embedded import start_redis
from infra.ports import free_port
from infra.processes import stop_all
from infra.redis_sentinel import start_replication
from mesh.errors import ReplicasBehind
from mesh.io.keys import Keys
from mesh.io.ledger import Ledger, Produced
from mesh.io.pipelined import Batch
from mesh.io.redis_clients import async_redis, connect, sync_redis
from mesh.settings import Settings

pytestmark = pytest.mark.integration

SERVICE = "sbtest"


@pytest.fixture(scope="module")
def sentinel_set(tmp_path_factory):
    """(ports of primary and replica, the sentinels' ports, the children): the set, settled."""
    logs = tmp_path_factory.mktemp("sentinel") / "logs"
    data, sentinels = [free_port(), free_port()], [free_port() for _ in range(3)]
    children = [start_redis(data[0], logs)]
    try:
        children += start_replication(SERVICE, *data, sentinels, logs)
    except BaseException:
        stop_all([c.pid for c in children])
        raise
    yield data, sentinels, children
    stop_all([c.pid for c in children])


def _settings(sentinels: list[int], **more) -> Settings:
    hosts = ",".join(f"127.0.0.1:{p}" for p in sentinels)
    return Settings(redis_url=f"redis+sentinel://{hosts}/{SERVICE}/0", connect_timeout_s=2.0, **more)


def _out(tag: str) -> list[Produced]:
    return [Produced("steps.done", b"task", tag.encode())]


def _cache_write(b: Batch) -> None:
    b.pipe.set("st2:cache", "x")


def test_clients_reach_the_primary_through_the_sentinels(sentinel_set):
    (primary, replica), sentinels, _ = sentinel_set
    settings = _settings(sentinels)
    sync_redis(settings).set("st:sync", "a")

    async def write():
        client = async_redis(settings)
        await client.set("st:async", "b")
        await client.aclose()

    asyncio.run(write())
    on_primary = redis.Redis(port=primary)
    assert on_primary.get("st:sync") == b"a" and on_primary.get("st:async") == b"b"
    assert redis.Redis(port=replica).info("replication")["role"] == "slave"


def test_a_critical_write_is_answered_once_the_replica_holds_it(sentinel_set):
    (primary, replica), sentinels, _ = sentinel_set

    async def record():
        client = connect(_settings(sentinels, redis_wait_replicas=1))
        stored = await Ledger(client, Keys("st1:"), 60).record("executor", "t", "k1", _out("one"))
        await client.aclose()
        return stored

    assert asyncio.run(record()) == _out("one")
    # answered after WAIT: the replica already has it, no sleep needed
    assert redis.Redis(port=replica).get(Keys("st1:").ledger("executor", "t", "k1")) is not None


def test_a_critical_write_the_replica_does_not_acknowledge_is_refused_and_others_are_not(sentinel_set):
    (primary, replica), sentinels, children = sentinel_set
    replica_pid = next(c.pid for c in children if c.name == "redis-replica")

    async def attempt():
        client = connect(_settings(sentinels, redis_wait_replicas=1, redis_wait_timeout_ms=300))
        plain = Batch(client)
        plain.add(_cache_write)
        cached, _ = await plain.execute()
        try:
            await Ledger(client, Keys("st2:"), 60).record("executor", "t", "k1", _out("one"))
        except ReplicasBehind as err:
            refused = err
        else:
            refused = None
        await client.aclose()
        return cached, refused

    def new_data_key():
        from mesh.io.redis_clients import Durability
        from mesh.security.crypto import RedisDekStore
        store = RedisDekStore(sync_redis(_settings(sentinels)), "st2:deks", Durability(1, 300, Keys("st2:").replicated))
        try:
            store.get_or_put("acme", b"wrapped")
        except ReplicasBehind as err:
            return err
        return None

    os.kill(replica_pid, signal.SIGSTOP)
    try:
        cached, refused = asyncio.run(attempt())
        key_refused = new_data_key()
    finally:
        os.kill(replica_pid, signal.SIGCONT)
    assert key_refused is not None and "data key" in str(key_refused)
    assert cached == [None]  # a cache write waits for no replica
    assert refused is not None and "0 of 1 Redis replicas" in str(refused)
    assert refused.retriable


def test_clients_follow_a_failover_and_acknowledged_writes_survive_it(sentinel_set):
    (primary, replica), sentinels, children = sentinel_set
    settings = _settings(sentinels, redis_wait_replicas=1)
    key = Keys("st3:").ledger("executor", "t", "k1")

    async def scenario():
        client = connect(settings)
        await Ledger(client, Keys("st3:"), 60).record("executor", "t", "k1", _out("before"))
        os.kill(next(c.pid for c in children if c.name == "redis"), signal.SIGKILL)
        started, deadline = time.monotonic(), time.monotonic() + 30
        while True:  # the same client, once the sentinels have promoted the replica
            try:
                await client.set("st3:after", "1")
                break
            except redis.RedisError:
                assert time.monotonic() < deadline, "the client never reached a promoted primary"
                await asyncio.sleep(0.2)
        kept = await client.get(key)
        await client.aclose()
        return kept, time.monotonic() - started

    kept, took = asyncio.run(scenario())
    promoted = redis.Redis(port=replica)
    assert promoted.info("replication")["role"] == "master"
    assert promoted.get("st3:after") == b"1"
    assert [Produced.from_json(d) for d in json.loads(kept)] == _out("before")  # acknowledged before the kill
    assert took < 30


def test_a_whole_mesh_runs_on_sentinel_and_answers_through_a_failover(tmp_path):
    """`up` with a redis+sentinel URL starts the primary, its replica and three sentinels; every agent and
    the client follow the primary when it is killed, and the questions asked around it are answered."""
    from mesh.ops.stack import Mesh, redis_ports
    from schemas.models import Principal, TaskStatus
    from tests.integration.conftest import make_settings
    from tests.integration.test_answer_end_to_end import ingest

    hosts = ",".join(f"127.0.0.1:{free_port()}" for _ in range(3))
    mesh = Mesh(make_settings(tmp_path, redis_url=f"redis+sentinel://{hosts}/switchboard/0", redis_wait_replicas=1))
    mesh.start()
    try:
        settings, principal = mesh.settings, Principal(tenant_id="acme", user_id="u1")
        client = ingest(settings, "acme")
        before = client.ask("How long are audit logs retained?", principal)
        primary = next(c for c in mesh.stack if c.name == "redis")
        os.kill(primary.pid, signal.SIGKILL)
        replica = redis.Redis(port=redis_ports(settings)[0][1])
        deadline = time.monotonic() + 30
        while replica.info("replication")["role"] != "master":
            assert time.monotonic() < deadline, "the sentinels never promoted the replica"
            time.sleep(0.2)
        # the old node comes back as the new primary's replica, as an operator starts it: until then no
        # critical write is acknowledged (SWITCHBOARD_REDIS_WAIT_REPLICAS=1 and no replica), and none is lost.
        # Never as an empty primary: the sentinels could fail back to it and wipe the set (Redis's own warning
        # about restarting a primary that keeps nothing)
        old, new = redis_ports(settings)[0]
        mesh.stack.append(start_redis(old, mesh.log_dir, extra=["--replicaof", "127.0.0.1", str(new)]))
        after = client.ask("What happens when a circuit breaker opens?", principal, timeout_s=90)
        rejoined = redis.Redis(port=old).info("replication")["role"]
    finally:
        mesh.stop()
    assert before.status is TaskStatus.answered and "400 days" in before.answer
    assert after.status is TaskStatus.answered and "fail fast" in after.answer
    assert rejoined == "slave"


def test_passwords_for_the_data_nodes_and_for_the_sentinels_themselves(tmp_path):
    """The URL's password reaches the primary; SWITCHBOARD_REDIS_SENTINEL_PASSWORD the sentinels. Without
    the sentinels' password no client finds the primary."""
    data, sentinels = [free_port(), free_port()], [free_port() for _ in range(3)]
    children = [start_redis(data[0], tmp_path, extra=["--requirepass", "data-pw", "--masterauth", "data-pw"])]
    try:
        children += start_replication(SERVICE, *data, sentinels, tmp_path, password="data-pw",
                                      sentinel_password="sentinel-pw")
        hosts = ",".join(f"127.0.0.1:{p}" for p in sentinels)
        url = f"redis+sentinel://:data-pw@{hosts}/{SERVICE}/0"
        good = Settings(redis_url=url, redis_sentinel_password="sentinel-pw", connect_timeout_s=2.0)
        sync_redis(good, socket_timeout=2).set("pw:k", "v")
        stored = redis.Redis(port=data[0], password="data-pw").get("pw:k")
        with pytest.raises(redis.RedisError):
            sync_redis(Settings(redis_url=url, connect_timeout_s=2.0), socket_timeout=2).get("pw:k")
    finally:
        stop_all([c.pid for c in children])
    assert stored == b"v"


def test_sentinels_and_data_nodes_over_mutual_tls(tmp_path):
    """rediss+sentinel://: the client asks the sentinels over TLS (with its certificate) and reaches the
    primary they name over TLS too; both demand client certificates."""
    from infra.embedded import redis_binary
    from infra.processes import spawn
    from tests.pki import make_pki

    pki = make_pki(tmp_path / "pki")
    tls = ["--tls-cert-file", str(pki.server_cert), "--tls-key-file", str(pki.server_key),
           "--tls-ca-cert-file", str(pki.ca), "--tls-auth-clients", "yes", "--tls-replication", "yes"]
    data, sentinels = [free_port(), free_port()], [free_port() for _ in range(3)]
    node = [redis_binary(), "--port", "0", "--bind", "127.0.0.1", "--save", "", "--dir", str(tmp_path), *tls]
    children = [spawn("redis", [*node, "--tls-port", str(data[0])], tmp_path),
                spawn("redis-replica", [*node, "--tls-port", str(data[1]), "--replicaof", "127.0.0.1",
                                        str(data[0])], tmp_path)]
    try:
        for port in sentinels:
            conf = tmp_path / f"sentinel-{port}.conf"
            conf.write_text("\n".join([
                "port 0", f"tls-port {port}", "bind 127.0.0.1", f"sentinel monitor {SERVICE} 127.0.0.1 {data[0]} 2",
                f"sentinel down-after-milliseconds {SERVICE} 1000",
                *(f"{tls[i][2:]} {tls[i + 1]}" for i in range(0, len(tls), 2)), ""]))
            children.append(spawn(f"sentinel-{port}", [redis_binary(), str(conf), "--sentinel"], tmp_path))
        hosts = ",".join(f"127.0.0.1:{p}" for p in sentinels)
        settings = Settings(redis_url=f"rediss+sentinel://{hosts}/{SERVICE}/0", connect_timeout_s=2.0,
                            redis_ssl_ca_certs=pki.ca, redis_ssl_certfile=pki.client_cert,
                            redis_ssl_keyfile=pki.client_key)
        client, deadline = sync_redis(settings, socket_timeout=2), time.monotonic() + 30
        while True:  # until the sentinels answer with the primary
            try:
                client.set("tls:k", "v")
                break
            except redis.RedisError:
                assert time.monotonic() < deadline, "no primary found through the TLS sentinels"
                time.sleep(0.3)
        direct = redis.Redis(port=data[0], ssl=True, ssl_ca_certs=str(pki.ca), ssl_certfile=str(pki.client_cert),
                             ssl_keyfile=str(pki.client_key))
        stored, plain_refused = direct.get("tls:k"), _refuses_plain(sentinels[0])
    finally:
        stop_all([c.pid for c in children])
    assert stored == b"v" and plain_refused


def _refuses_plain(port: int) -> bool:
    try:
        redis.Redis(port=port, socket_timeout=2).ping()
    except redis.RedisError:
        return True
    return False
