"""Faults of the embedded three-node Kafka cluster, for ``bench.chaos``: which node to strike (the one
leading the most partitions of the mesh's topics, or the active KRaft controller), a SIGKILL of its
process, and its restart into the same cluster, waited on until it is whole again (the node back in
the metadata, every partition of the mesh's topics with all its replicas in sync).

A killed node stays in the metadata, leading its partitions, until the controller fences it for
missing heartbeats (broker.session.timeout.ms, 9 s by default); only then do its partitions get new
leaders and its replicas leave the in-sync sets. ``bounce`` keeps the node down until then and a
few seconds longer, so the mesh lives through the whole failover, not just a short outage.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter

from confluent_kafka.admin import AdminClient

from infra import kafka_cluster
from mesh.ops.stack import Mesh, kafka_data
from mesh.settings import Settings
from mesh.wire.topics import DLQ_SUFFIX, Topics

__all__ = ["active_controller", "bounce", "busiest_leader", "kill_node", "leaders", "restart_node", "task_topics",
           "wait_fenced", "wait_whole"]


def task_topics(settings: Settings) -> list[str]:
    """The topics a task's records travel on: every topic of the mesh but the dead-letter ones."""
    return [t for t in Topics(settings.topic_prefix).all() if not t.endswith(DLQ_SUFFIX)]


def _metadata(settings: Settings, timeout_s: float = 5.0):
    """The cluster's metadata (the embedded cluster's plain listeners; librdkafka's logs off: a node is down)."""
    admin = AdminClient({"bootstrap.servers": settings.bootstrap_servers, "log_level": 0,
                         "socket.connection.setup.timeout.ms": 2000})
    return admin.list_topics(timeout=timeout_s)


def leaders(settings: Settings) -> Counter:
    """Node id -> partitions of the task topics it leads now."""
    topics = _metadata(settings).topics
    return Counter(p.leader for t in task_topics(settings) if t in topics for p in topics[t].partitions.values())


def busiest_leader(settings: Settings) -> int:
    """The node leading the most partitions of the task topics (the lowest id among equals)."""
    counts = leaders(settings)
    return min(counts, key=lambda node: (-counts[node], node))


def active_controller(settings: Settings) -> int:
    """The id of the KRaft quorum's leader, the active controller (``kafka-metadata-quorum describe --status``)."""
    done = kafka_cluster.tool("org.apache.kafka.tools.MetadataQuorumCommand",
                              ["--bootstrap-server", settings.bootstrap_servers, "describe", "--status"])
    for line in done.stdout.splitlines():
        name, _, value = line.partition(":")
        if name.strip() == "LeaderId":
            return int(value)
    raise RuntimeError(f"no LeaderId in the quorum's status:\n{done.stdout}{done.stderr}")


def kill_node(mesh: Mesh, node_id: int) -> None:
    """SIGKILL node ``node_id``'s process and reap it; it stays in ``mesh.stack`` until restarted."""
    child = next(c for c in mesh.stack if c.name == f"kafka-{node_id}")
    os.kill(child.pid, signal.SIGKILL)
    child.process.wait(30)


def restart_node(mesh: Mesh, node_id: int) -> None:
    """Start node ``node_id`` again on its kept storage, in place of its dead process in ``mesh.stack``."""
    data = kafka_data(mesh.settings)
    cluster = kafka_cluster.plan_cluster(data, mesh.settings.broker_ports)  # the kept layout: same ports
    child = kafka_cluster.start_node(cluster, node_id, data, mesh.log_dir)
    mesh.stack = [c for c in mesh.stack if c.name != child.name] + [child]
    mesh._record()


def _whole(settings: Settings, node_id: int) -> bool:
    meta = _metadata(settings, 2.0)
    if node_id not in meta.brokers:
        return False
    parts = [p for t in task_topics(settings) if t in meta.topics for p in meta.topics[t].partitions.values()]
    return bool(parts) and all(p.leader >= 0 and set(p.isrs) == set(p.replicas) for p in parts)


def wait_fenced(settings: Settings, node_id: int, timeout_s: float = 60.0) -> None:
    """Wait until ``node_id`` has left the metadata: fenced, its partitions led by the others."""
    _wait(lambda: node_id not in _metadata(settings, 2.0).brokers, timeout_s, f"Kafka node {node_id} still in "
          "the metadata")


def _wait(done, timeout_s: float, failing: str) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if done():
                return
        except Exception:  # noqa: BLE001, S110 (the cluster still settling: ask again)
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{failing} after {timeout_s:.0f}s")
        time.sleep(0.5)


def wait_whole(settings: Settings, node_id: int, timeout_s: float = 240.0) -> None:
    """Wait until ``node_id`` is back in the metadata and every task topic's partition has all replicas in sync."""
    _wait(lambda: _whole(settings, node_id), timeout_s, f"Kafka node {node_id} not back with full in-sync replicas")


def bounce(mesh: Mesh, node_id: int, down_s: float) -> dict[str, float]:
    """SIGKILL node ``node_id``, leave it down until fenced and ``down_s`` seconds more, restart it, and wait
    until the cluster is whole. Returns the seconds from the kill until the node was fenced (its partitions
    led elsewhere: ``failover_s``) and from the restart until every replica was in sync again (``rejoin_s``)."""
    killed = time.monotonic()
    kill_node(mesh, node_id)
    wait_fenced(mesh.settings, node_id)
    fenced = time.monotonic()
    time.sleep(down_s)
    restarted = time.monotonic()
    restart_node(mesh, node_id)
    wait_whole(mesh.settings, node_id)
    return {"failover_s": round(fenced - killed, 1), "rejoin_s": round(time.monotonic() - restarted, 1)}
