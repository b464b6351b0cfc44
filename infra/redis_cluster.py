"""A Redis Cluster of primaries on loopback, from Debian's redis-server.

``start_cluster`` starts a node on each port (cluster mode, each with its own node file beside its
data), and, on a first start, gives each an even share of the 16,384 slots and introduces them to
one another; it returns once every node says the cluster is ``ok``. A node kept across runs (an
append-only file and its node file under ``data_of(port)``) rejoins with the slots it had.
``add_replica`` starts a replica of one primary (the replica-wait tests give one node a replica).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import redis

from infra.embedded import HOST, StackError, _port_free, start_redis
from infra.processes import Child, stop_all

__all__ = ["SLOTS", "add_replica", "slot_ranges", "start_cluster"]

SLOTS = 16384
_NODE_TIMEOUT_MS = 2000


def slot_ranges(nodes: int) -> list[tuple[int, int]]:
    """``nodes`` contiguous, near-equal slot ranges covering every slot (first, last; inclusive)."""
    bounds = [SLOTS * i // nodes for i in range(nodes + 1)]
    return [(bounds[i], bounds[i + 1] - 1) for i in range(nodes)]


def start_cluster(ports: list[int], log_dir: Path, data_of: Callable[[int], Path | None] = lambda port: None, *,
                  bus_ports: list[int] | None = None, password: str | None = None,
                  timeout_s: float = 30.0) -> list[Child]:
    """A primary on each of ``ports``, formed into one cluster; all answer and agree when this returns. The
    nodes talk among themselves on ``bus_ports`` (by default each port + 10000, as Redis does)."""
    bus_ports = bus_ports or [p + 10000 for p in ports]
    taken = [p for p in (*ports, *bus_ports) if not _port_free(HOST, p)]
    if taken:
        raise StackError(f"ports {taken} for the embedded Redis Cluster are taken: is a stack already up "
                         "(`switchboard down` stops it)? Or name other ports in SWITCHBOARD_REDIS_URL.")
    children = [_node(port, bus, log_dir, data_of(port), password) for port, bus in zip(ports, bus_ports, strict=True)]
    try:
        clients = [_client(port, password) for port in ports]
        _wait(lambda: all(c.ping() for c in clients), children, timeout_s, "answer")
        if all(_slots_of(c) == 0 for c in clients):  # a new cluster: nothing kept from a run before
            for client, (first, last) in zip(clients, slot_ranges(len(ports)), strict=True):
                client.execute_command("CLUSTER", "ADDSLOTSRANGE", first, last)
            for client in clients[1:]:
                client.execute_command("CLUSTER", "MEET", HOST, ports[0], bus_ports[0])
        _wait(lambda: all(_formed(c, len(ports)) for c in clients), children, timeout_s, "form one cluster")
    except BaseException:
        stop_all([c.pid for c in children])
        raise
    return children


def add_replica(primary: int, port: int, log_dir: Path, *, bus_port: int | None = None,
                primary_bus: int | None = None, password: str | None = None, timeout_s: float = 30.0) -> Child:
    """A replica of the cluster's primary on ``primary`` (its bus on ``primary_bus``), on ``port``, in sync when
    this returns."""
    child = _node(port, bus_port or port + 10000, log_dir, None, password)
    try:
        client, boss = _client(port, password), _client(primary, password)
        _wait(client.ping, [child], timeout_s, "answer")
        client.execute_command("CLUSTER", "MEET", HOST, primary, primary_bus or primary + 10000)
        boss_id = boss.execute_command("CLUSTER", "MYID")
        boss_id = boss_id.decode() if isinstance(boss_id, bytes) else boss_id
        _wait(lambda: _knows(client, boss_id), [child], timeout_s, "meet its primary")
        client.execute_command("CLUSTER", "REPLICATE", boss_id)
        _wait(lambda: client.info("replication").get("master_link_status") == "up", [child], timeout_s,
              "copy its primary")
    except BaseException:
        stop_all([child.pid])
        raise
    return child


def _node(port: int, bus: int, log_dir: Path, data: Path | None, password: str | None) -> Child:
    home = data if data is not None else log_dir
    nodes_file = home / f"nodes-{port}.conf"
    if data is None:
        nodes_file.unlink(missing_ok=True)  # nothing kept: a node file of a run before would name lost slots
    auth = ["--requirepass", password, "--masterauth", password] if password else []
    return start_redis(port, log_dir, data, name=f"redis-{port}",
                       extra=["--cluster-enabled", "yes", "--cluster-port", str(bus),
                              "--cluster-config-file", nodes_file.name,
                              "--cluster-node-timeout", str(_NODE_TIMEOUT_MS), *auth])


def _client(port: int, password: str | None) -> redis.Redis:
    return redis.Redis(host=HOST, port=port, password=password, socket_timeout=2, decode_responses=True)


def _slots_of(client: redis.Redis) -> int:
    return int(_info(client)["cluster_slots_assigned"])


def _info(client: redis.Redis) -> dict[str, str]:
    info = client.cluster("INFO")
    if not isinstance(info, dict):
        info = dict(line.split(":", 1) for line in str(info).splitlines() if ":" in line)
    return {k: str(v).strip() for k, v in info.items()}


def _formed(client: redis.Redis, nodes: int) -> bool:
    info = _info(client)
    return info["cluster_state"] == "ok" and int(info["cluster_known_nodes"]) >= nodes and \
        int(info["cluster_slots_ok"]) == SLOTS


def _knows(client: redis.Redis, node_id: str) -> bool:
    return node_id in str(client.execute_command("CLUSTER", "NODES"))


def _wait(done: Callable[[], bool], children: list[Child], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        for child in children:
            if not child.running():
                raise StackError(f"{child.name} exited at start (code {child.process.returncode}):\n{child.log_tail()}")
        try:
            if done():
                return
        except redis.RedisError:
            pass
        if time.monotonic() > deadline:
            names = ", ".join(c.name for c in children)
            raise StackError(f"the embedded Redis Cluster ({names}) did not {what} within {timeout_s:.0f}s: "
                             "see their logs")
        time.sleep(0.1)
