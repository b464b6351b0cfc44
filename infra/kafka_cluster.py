"""Apache Kafka in KRaft mode from the jars ``infra/install-kafka.sh`` resolved: one node
(controller and broker in one process) or three (each both; replication 3, two in sync).

The storage of every node is formatted once under ``data_dir`` and kept across restarts, with
the cluster's layout (its id, each node's ports) beside it in ``cluster.json``, so a node that
was stopped or killed restarts into the same cluster (``start_node``). Extra listeners (SASL,
TLS) and SCRAM users are given as data; nothing here knows of the mesh.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from infra.ports import free_port
from infra.processes import Child, spawn

__all__ = ["KafkaError", "Listener", "Node", "Cluster", "kafka_libs", "kafka_available", "java_binary",
           "plan_cluster", "start_node", "tool", "KAFKA_DIR"]

KAFKA_DIR = Path(__file__).resolve().parent / "kafka"
#: an embedded node's heap, unless ``KAFKA_HEAP_OPTS`` says otherwise (as for Kafka's own scripts)
HEAP_OPTS = "-Xms128m -Xmx512m"
#: its collector and the rest, unless ``KAFKA_JVM_PERFORMANCE_OPTS`` says otherwise: the serial collector, which
#: costs a node with a heap this small less CPU than G1's concurrent threads (bench.mesh, side by side)
PERFORMANCE_OPTS = "-XX:+UseSerialGC -Djava.awt.headless=true"


def jvm_opts(env: Mapping[str, str] = os.environ) -> list[str]:
    """The JVM options of a node: Kafka's two variables where set, else the embedded defaults."""
    return [*shlex.split(env.get("KAFKA_HEAP_OPTS") or HEAP_OPTS),
            *shlex.split(env.get("KAFKA_JVM_PERFORMANCE_OPTS") or PERFORMANCE_OPTS)]


class KafkaError(RuntimeError):
    """Apache Kafka could not be found or started; the message says what to do."""


@dataclass(frozen=True)
class Listener:
    """A listener besides the plain one: ``protocol`` is SASL_PLAINTEXT, SSL or SASL_SSL."""
    name: str
    protocol: str
    port: int


@dataclass
class Node:
    node_id: int
    port: int
    controller_port: int
    listeners: list[Listener] = field(default_factory=list)


@dataclass
class Cluster:
    """What ``cluster.json`` keeps: enough to restart any node into the same cluster."""
    cluster_id: str
    nodes: list[Node]
    properties: dict[str, str] = field(default_factory=dict)
    scram_users: list[str] = field(default_factory=list)

    def node(self, node_id: int) -> Node:
        return next(n for n in self.nodes if n.node_id == node_id)

    @property
    def bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{n.port}" for n in self.nodes)


def kafka_libs() -> Path:
    """The folder of Kafka's jars; raises ``KafkaError`` saying how to install them."""
    libs = KAFKA_DIR / "libs"
    if not any(libs.glob("kafka_2.13-*.jar")):
        raise KafkaError("Apache Kafka's jars are not installed: run `make setup` (or bash infra/install-kafka.sh; "
                         "it needs Java 17+ and Maven), or choose SWITCHBOARD_BROKER=tansu")
    return libs


def java_binary() -> str:
    found = shutil.which("java")
    if not found:
        raise KafkaError("java is not installed: install Java 17 or newer (Debian: apt-get install -y "
                         "openjdk-17-jre-headless), or choose SWITCHBOARD_BROKER=tansu")
    return found


def kafka_available() -> bool:
    """Whether the embedded stack can run Apache Kafka here (Java and the jars present)."""
    try:
        kafka_libs()
        java_binary()
    except KafkaError:
        return False
    return True


def plan_cluster(data_dir: Path, ports: list[int], *, listeners: list[list[Listener]] | None = None,
                 properties: dict[str, str] | None = None, scram_users: list[str] | None = None) -> Cluster:
    """The cluster kept in ``data_dir``, or a new one with a node on each of ``ports``.

    A kept cluster is reused only if its client ports are ``ports``; otherwise its storage is
    wiped and a new one planned (the embedded cluster belongs to its run directory).
    ``listeners[i]``: node i's extra listeners; ``properties``: broker properties for every
    node; ``scram_users``: ``SCRAM-SHA-512=[name=u,password=p]`` entries written at format time.
    """
    kept = _load(data_dir)
    if kept is not None and [n.port for n in kept.nodes] == ports:
        return kept
    if data_dir.exists():
        shutil.rmtree(data_dir)
    nodes = [Node(i + 1, port, free_port(), list((listeners or [])[i]) if listeners else [])
             for i, port in enumerate(ports)]
    cluster = Cluster(uuid.uuid4().hex[:22], nodes, dict(properties or {}), list(scram_users or []))
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "cluster.json").write_text(json.dumps(asdict(cluster), indent=1))
    return cluster


def _load(data_dir: Path) -> Cluster | None:
    try:
        raw = json.loads((data_dir / "cluster.json").read_text())
    except (OSError, ValueError):
        return None
    nodes = [Node(n["node_id"], n["port"], n["controller_port"], [Listener(**x) for x in n["listeners"]])
             for n in raw["nodes"]]
    return Cluster(raw["cluster_id"], nodes, raw.get("properties", {}), raw.get("scram_users", []))


def server_properties(cluster: Cluster, node: Node, data_dir: Path) -> dict[str, str]:
    """The broker properties of ``node``: KRaft with every node a voter, loopback listeners."""
    replicas = min(3, len(cluster.nodes))
    extra = node.listeners
    listeners = [f"PLAINTEXT://127.0.0.1:{node.port}", f"CONTROLLER://127.0.0.1:{node.controller_port}"]
    listeners += [f"{x.name}://127.0.0.1:{x.port}" for x in extra]
    protocols = ["PLAINTEXT:PLAINTEXT", "CONTROLLER:PLAINTEXT"] + [f"{x.name}:{x.protocol}" for x in extra]
    props = {
        "process.roles": "broker,controller",
        "node.id": str(node.node_id),
        "controller.quorum.voters": ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in cluster.nodes),
        "listeners": ",".join(listeners),
        "advertised.listeners": ",".join(x for x in listeners if not x.startswith("CONTROLLER:")),
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": ",".join(protocols),
        "log.dirs": str(data_dir / f"node-{node.node_id}"),
        "offsets.topic.replication.factor": str(replicas),
        "offsets.topic.num.partitions": "10",
        "transaction.state.log.replication.factor": str(replicas),
        "transaction.state.log.min.isr": str(min(2, replicas)),
        "min.insync.replicas": str(min(2, replicas)),
        "default.replication.factor": str(replicas),
        # a group that forms starts at once: no 3 s wait for more members of a first join
        "group.initial.rebalance.delay.ms": "0",
        "auto.create.topics.enable": "true",
        # the controller's no-op metadata record, which only shows the quorum alive: every 5 s, not 0.5 s,
        # so an idle node does not append and replay ten records a second
        "metadata.max.idle.interval.ms": "5000",
        # one thread for the sockets and two for the requests (Kafka's 3 and 8 are sized for a broker with
        # cores of its own): an embedded node shares a small machine with the agents
        "num.network.threads": "1",
        "num.io.threads": "2",
    }
    return {**props, **cluster.properties}


def _write_properties(path: Path, props: dict[str, str]) -> None:
    path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))


def _java(main: str, args: list[str]) -> list[str]:
    log4j = KAFKA_DIR / "log4j2.properties"
    return [java_binary(), *jvm_opts(), f"-Dlog4j2.configurationFile={log4j}", "-cp", f"{kafka_libs()}/*", main, *args]


def _format(cluster: Cluster, node: Node, data_dir: Path, config: Path) -> None:
    """Format the node's storage once (it keeps a meta.properties); later starts find it."""
    if (data_dir / f"node-{node.node_id}" / "meta.properties").exists():
        return
    scram = [arg for user in cluster.scram_users for arg in ("--add-scram", user)]
    done = subprocess.run(_java("kafka.tools.StorageTool", ["format", "-t", cluster.cluster_id, "-c", str(config),
                                                            "--ignore-formatted", *scram]),
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise KafkaError(f"formatting Kafka's storage for node {node.node_id} failed:\n{done.stdout}{done.stderr}")


def start_node(cluster: Cluster, node_id: int, data_dir: Path, log_dir: Path) -> Child:
    """Start node ``node_id`` of ``cluster`` (formatting its storage the first time); returns at once."""
    node = cluster.node(node_id)
    config = data_dir / f"node-{node_id}.properties"
    _write_properties(config, server_properties(cluster, node, data_dir))
    _format(cluster, node, data_dir, config)
    return spawn(f"kafka-{node_id}", _java("kafka.Kafka", [str(config)]), log_dir)


def tool(main: str, args: list[str], timeout_s: float = 60.0) -> subprocess.CompletedProcess:
    """Run one of Kafka's own command-line tools by its class, e.g.
    ``org.apache.kafka.tools.consumer.group.ConsumerGroupCommand`` (kafka-consumer-groups.sh)."""
    return subprocess.run(_java(main, args), capture_output=True, text=True, timeout=timeout_s)
