"""Two replicas of every agent: both share the work; and the chaos suite, short.

`python -m bench.chaos` is the full run (1,000 tasks under kills, 10,000 malformed messages);
this is the same code on a smaller load, so CI proves the guarantees on every change: replicas
SIGKILLed and restarted, Redis restarted, its primary under Sentinel SIGKILLed, malformed messages
mixed in; on Apache Kafka, a node of a three-node cluster SIGKILLed and restarted.
"""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import pytest
import redis
from aiokafka.partitioner import murmur2

from bench import chaos
from mesh.client import Client, parse_documents
from mesh.io.keys import Keys
from schemas.models import Principal
from tests.integration.conftest import make_settings

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def mesh(tmp_path_factory):
    c = chaos.Chaos(replicas=2, run_dir=tmp_path_factory.mktemp("chaos"))
    try:
        c.start()
        yield c
    finally:
        c.stop()


def _tenants_on_every_partition(partitions: int) -> list[str]:
    """Tenant names whose keys land on every partition (topics keyed by tenant: index queries, audit)."""
    found: dict[int, str] = {}
    i = 0
    while len(found) < partitions:
        name = f"tenant{i}"
        found.setdefault((murmur2(name.encode()) & 0x7FFFFFFF) % partitions, name)
        i += 1
    return list(found.values())


def _beat(settings, pid: int) -> dict:
    r = redis.Redis.from_url(settings.redis_url)
    for key in r.scan_iter(Keys(settings.key_prefix).heartbeat("*", f"*:{pid}")):
        if (raw := r.get(key)) is not None:
            return json.loads(raw)
    raise AssertionError(f"no heartbeat of pid {pid}")


def _handled(settings, pid: int) -> float:
    port = _beat(settings, pid)["metrics_port"]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        lines = resp.read().decode().splitlines()
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines if line.startswith("switchboard_messages_total{"))


def _until_every_replica_owns_partitions(mesh, timeout_s: float = 90.0) -> None:
    """A replica that joined its group after its twin owns nothing until the rebalance that follows; on two busy
    cores a member can also miss its session and rejoin. Work sent before that lands on the twin alone."""
    deadline = time.monotonic() + timeout_s
    while empty := [label for label, w in sorted(mesh.mesh.workers.items())
                    if not _beat(mesh.settings, w.pid)["partitions"]]:
        assert time.monotonic() < deadline, f"replicas that own no partition after {timeout_s:.0f} s: {empty}"
        time.sleep(0.5)


@pytest.mark.skipif(make_settings(Path(".run")).broker != "kafka",
                    reason="a broker kill needs a three-node Apache Kafka cluster; tansu has one node "
                           "(run with SWITCHBOARD_BROKER=kafka)")
def test_a_killed_kafka_broker_loses_no_task_and_repeats_nothing(tmp_path):
    """SIGKILL of the node leading the most partitions while 40 tasks arrive, its restart after it was
    fenced; defined first in the module, so it runs before the two-replica mesh of the tests below exists."""
    c = chaos.Chaos(replicas=1, run_dir=tmp_path, broker="kafka", kafka_nodes=3)
    c.node_down_s = 1.0
    try:
        c.start()
        row = c.scenario("broker", 40, malformed=0, rate=4.0, seed=11)
    finally:
        c.stop()
    assert row["kafka_node"] in (1, 2, 3) and row["failover_s"] > 0  # a leader was killed, and fenced
    assert row["submitted"] == 40
    assert row["lost"] == 0, f"lost tasks: {row['lost_task_ids']}"
    assert row["duplicate_results"] == 0
    assert row["duplicate_model_calls"] == 0


def test_a_killed_redis_primary_loses_no_task_repeats_nothing_and_overspends_nothing(tmp_path):
    """The mesh's state on Sentinel (a primary, its replica), critical writes waiting for the replica: SIGKILL
    of the primary while 40 tasks against a 0.5 s model arrive; the replica is promoted and the killed node
    comes back as its replica."""
    c = chaos.Chaos(replicas=1, run_dir=tmp_path, sentinel=True, model_delay_s=0.5)
    try:
        c.start()
        row = c.scenario("primary", 40, malformed=0, rate=4.0, seed=12, model_delay_s=0.5)
    finally:
        c.stop()
    assert row["failover_s"] > 0 and row["rejoin_s"] >= 0  # a primary was killed, and replaced
    assert row["submitted"] == 40
    assert row["lost"] == 0, f"lost tasks: {row['lost_task_ids']}"
    assert row["duplicate_results"] == 0
    assert row["duplicate_model_calls"] == 0
    assert row["billed_tokens"] > 0 and row["overspend_tokens"] == 0


def test_both_replicas_of_every_agent_receive_work(mesh):
    settings = mesh.settings
    client = Client(settings)
    tenants = _tenants_on_every_partition(settings.partitions)
    base, _ = parse_documents(chaos.SAMPLE.read_text().splitlines(), "acme")
    for tenant in tenants:
        docs = [{**d, "access": d["access"].model_copy(update={"tenant_id": tenant})} for d in base]
        client.ingest(docs)
        client.wait_stored(docs, 120)
    _until_every_replica_owns_partitions(mesh)
    for i, question in enumerate(chaos.QUESTIONS * 2):
        tenant = tenants[i % len(tenants)]
        assert client.ask(question, Principal(tenant_id=tenant, user_id="u", groups=["eng"]), timeout_s=60)
    assert len(mesh.mesh.workers) == 2 * len(mesh.mesh.agents)
    # the auditors' work is off the answer's path: an auditor whose consumer sat in a long idle fetch (up to
    # fetch_deep_idle_wait_ms) may take its first audit events a few seconds after the last answer
    deadline = time.monotonic() + 30
    while (idle := [label for label, worker in sorted(mesh.mesh.workers.items())
                    if _handled(settings, worker.pid) == 0]) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert idle == [], f"replicas that got no message: {idle}"


@pytest.fixture(scope="module")
def report(mesh):
    sizes = {"kill": 60, "redis": 30, "malformed": 30}
    runs = {name: mesh.scenario(name, tasks, malformed=200, rate=8.0, seed=i)
            for i, (name, tasks) in enumerate(sizes.items())}
    # replicas SIGKILLed while their windows are full: a model that takes 0.5 s a call, 16 tasks a second
    mesh.llm.reset()  # counts calls open at once from here
    runs["kill_full_windows"] = mesh.scenario("kill", 80, malformed=0, rate=16.0, seed=7, model_delay_s=0.5)
    runs["kill_full_windows"]["most_calls_open"] = mesh.llm.open_calls()[0]
    return runs


def test_windows_were_full_when_replicas_were_killed(report):
    assert report["kill_full_windows"]["most_calls_open"] >= 4, "the slow scenario never had calls in flight"


@pytest.mark.parametrize("scenario", ["kill", "redis", "malformed", "kill_full_windows"])
def test_no_task_is_lost_or_answered_twice_under_faults(report, scenario):
    row = report[scenario]
    assert row["submitted"] > 0
    assert row["lost"] == 0, f"lost tasks: {row['lost_task_ids']}"
    assert row["duplicate_results"] == 0
    assert row["duplicate_model_calls"] == 0
    assert row["degraded_without_fault"] == 0, row["degraded_reasons"]


def test_every_malformed_message_is_dead_lettered_with_its_reason(report):
    row = report["malformed"]
    assert row["malformed"] == 200
    assert row["dead_lettered"] == 200
