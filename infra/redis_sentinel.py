"""A replica and three sentinels beside the embedded Redis primary, on loopback, from Debian's redis-server.

The embedded stack starts its primary as ever (``infra.embedded.start_redis``); with a
``redis+sentinel://`` URL it then starts these: a replica of the primary and three sentinels
watching it under the URL's service name (a quorum of two), each sentinel with its own config
file, which Sentinel rewrites as it learns the set. A killed primary is judged down after
``DOWN_AFTER_MS`` and the replica promoted; a primary that comes back rejoins as a replica.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import redis

from infra.embedded import HOST, StackError, redis_binary, start_redis
from infra.processes import Child, spawn, stop_all

__all__ = ["DOWN_AFTER_MS", "last_primary", "sentinel_dir", "start_replication", "wait_replicating"]

#: how long a silent primary has before the sentinels agree it is down
DOWN_AFTER_MS = 1000
_FAILOVER_TIMEOUT_MS = 5000


def start_replication(service: str, primary: int, replica: int, sentinels: list[int], log_dir: Path,
                      replica_data: Path | None = None, timeout_s: float = 30.0, *, password: str | None = None,
                      sentinel_password: str | None = None) -> list[Child]:
    """The replica of the primary on ``primary`` and a sentinel on each of ``sentinels``; all answer, the
    replica in sync and every sentinel watching the primary with its replica, when this returns.
    ``password``: the data nodes' (the primary's ``requirepass``), which the replica and the sentinels
    give; ``sentinel_password``: the sentinels' own."""
    taken = [p for p in (replica, *sentinels) if not _free(p)]
    if taken:
        raise StackError(f"ports {taken} for the embedded Redis replica and sentinels are taken: is a stack "
                         "already up (`switchboard down` stops it)? Or name other sentinel ports in the URL.")
    auth = ["--requirepass", password, "--masterauth", password] if password else []
    children = [start_redis(replica, log_dir, replica_data, name="redis-replica",
                            extra=["--replicaof", HOST, str(primary), *auth])]
    conf_dir = sentinel_dir(log_dir.parent)
    conf_dir.mkdir(parents=True, exist_ok=True)
    for i, port in enumerate(sentinels, 1):
        conf = conf_dir / f"sentinel-{port}.conf"
        conf.write_text(_sentinel_conf(service, primary, port, password, sentinel_password))
        children.append(spawn(f"sentinel-{i}", [redis_binary(), str(conf), "--sentinel"], log_dir))
    try:
        wait_replicating(service, primary, replica, sentinels, timeout_s, password, sentinel_password)
    except BaseException:
        stop_all([c.pid for c in children])
        raise
    return children


def sentinel_dir(run_dir: Path) -> Path:
    """Where the sentinels' config files are, which they rewrite as the set changes."""
    return run_dir / "sentinel"


def last_primary(conf_dir: Path, service: str, ports: list[int]) -> list[int]:
    """``ports`` (primary first) with the one the sentinels of the last run named primary first: a node that
    was promoted and took writes must not start as the replica of the one it replaced (its writes would go)."""
    named = []
    for conf in sorted(conf_dir.glob("sentinel-*.conf")):
        for line in conf.read_text().splitlines():
            words = line.split()
            if words[:3] == ["sentinel", "monitor", service] and len(words) >= 5 and words[4].isdigit():
                named.append(int(words[4]))
    primary = max(set(named), key=named.count) if named else None
    return [primary, *(p for p in ports if p != primary)] if primary in ports else list(ports)


def wait_replicating(service: str, primary: int, replica: int, sentinels: list[int], timeout_s: float,
                     password: str | None = None, sentinel_password: str | None = None) -> None:
    """Until the replica's link to the primary is up and each sentinel knows the primary, its replica and the
    other sentinels (a failover needs their quorum)."""
    deadline = time.monotonic() + timeout_s
    while not _replicating(service, primary, replica, sentinels, password, sentinel_password):
        if time.monotonic() > deadline:
            raise StackError(f"the Redis replica on :{replica} and the sentinels on {sentinels} did not settle "
                             f"around the primary on :{primary} within {timeout_s:.0f}s: see their logs")
        time.sleep(0.2)


def _replicating(service: str, primary: int, replica: int, sentinels: list[int], password: str | None,
                 sentinel_password: str | None) -> bool:
    try:
        link = redis.Redis(host=HOST, port=replica, password=password, socket_timeout=1).info("replication")
        if link.get("master_link_status") != "up":
            return False
        for port in sentinels:
            watcher = redis.Redis(host=HOST, port=port, password=sentinel_password, socket_timeout=1,
                                  decode_responses=True)
            if watcher.sentinel_get_master_addr_by_name(service) != (HOST, primary) \
                    or not watcher.sentinel_slaves(service) or len(watcher.sentinel_sentinels(service)) < 2:
                return False  # a sentinel learns the replica and its peers from the primary: seconds
    except redis.RedisError:
        return False
    return True


def _free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex((HOST, port)) != 0


def _sentinel_conf(service: str, primary: int, port: int, password: str | None,
                   sentinel_password: str | None) -> str:
    auth = [f"sentinel auth-pass {service} {password}"] if password else []
    own = [f"requirepass {sentinel_password}", f"sentinel sentinel-pass {sentinel_password}"] \
        if sentinel_password else []
    return "\n".join([
        f"port {port}", f"bind {HOST}", "protected-mode no", "daemonize no",
        f"sentinel monitor {service} {HOST} {primary} 2", *auth, *own,
        f"sentinel down-after-milliseconds {service} {DOWN_AFTER_MS}",
        f"sentinel failover-timeout {service} {_FAILOVER_TIMEOUT_MS}",
        f"sentinel parallel-syncs {service} 1", ""])
