"""Where the mesh's state lives, read from ``SWITCHBOARD_REDIS_URL``: one node, a primary that
Sentinel watches, or a Redis Cluster.

- ``redis://[user:password@]host:port/db`` (``rediss://`` over TLS): one node, or a managed
  endpoint that follows its own failover behind one name (ElastiCache's primary endpoint,
  Memorystore, Azure Cache for Redis).
- ``redis+sentinel://[user:password@]host:port,host:port,.../service[/db]`` (``rediss+sentinel://``
  over TLS, to the sentinels and the data nodes alike): the sentinels, and the name of the primary
  they watch. Clients ask the sentinels where the primary is, and ask again when it stops
  answering or turns out to be a replica: every client follows a failover.
- ``redis+cluster://[user:password@]host:port[,host:port...]`` (``rediss+cluster://`` over TLS): any
  nodes of a Redis Cluster (or a managed cluster's configuration endpoint); clients learn the rest
  from them, and follow slots as they move or fail over. A cluster has database 0 only.

User and password are the data nodes'; sentinels that want a password of their own get
``SWITCHBOARD_REDIS_SENTINEL_PASSWORD``.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

__all__ = ["RedisTarget", "parse_redis_url"]

_SCHEMES = {"redis": ("node", False), "rediss": ("node", True),
            "redis+sentinel": ("sentinel", False), "rediss+sentinel": ("sentinel", True),
            "redis+cluster": ("cluster", False), "rediss+cluster": ("cluster", True)}
_FORMS = ("redis://host:port/db, rediss://host:port/db, redis+sentinel://host:port,host:port/service/db or "
          "redis+cluster://host:port,host:port (rediss+ over TLS)")


@dataclass(frozen=True)
class RedisTarget:
    """What a ``SWITCHBOARD_REDIS_URL`` names."""

    mode: str  # "node", "sentinel" or "cluster"
    tls: bool
    hosts: tuple[tuple[str, int], ...]  # the node, the sentinels, or nodes of the cluster
    service: str | None  # the primary's name at the sentinels
    db: int
    username: str | None
    password: str | None

    @property
    def where(self) -> str:
        """Where it is, for messages: hosts and service, never the password."""
        hosts = ",".join(f"{h}:{p}" for h, p in self.hosts)
        if self.mode == "sentinel":
            return f"{self.service} at sentinels {hosts}"
        return f"the cluster at {hosts}" if self.mode == "cluster" else f"{hosts}/{self.db}"


def parse_redis_url(url: str) -> RedisTarget:
    """The target ``url`` names; ``ValueError`` saying what is wrong and which forms are accepted."""
    scheme, _, rest = url.partition("://")
    if scheme not in _SCHEMES or not rest:
        raise ValueError(f"SWITCHBOARD_REDIS_URL must look like {_FORMS}; its scheme is {scheme!r}")
    mode, tls = _SCHEMES[scheme]
    parts = urlsplit(f"redis://{rest}")
    credentials, _, hostlist = parts.netloc.rpartition("@")
    username, _, password = credentials.partition(":")
    hosts = tuple(_host(h, mode) for h in hostlist.split(","))
    path = [p for p in parts.path.split("/") if p]
    service, db = _service_and_db(path, mode)
    if mode == "node" and len(hosts) != 1:
        raise ValueError(f"SWITCHBOARD_REDIS_URL names {len(hosts)} hosts: a redis:// URL names one node; list "
                         "several sentinels as redis+sentinel://host:port,host:port/service")
    return RedisTarget(mode, tls, hosts, service, db, unquote(username) or None, unquote(password) or None)


def _host(text: str, mode: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":") if ":" in text else (text, "", "")
    host = host.strip("[]")
    if not host:
        raise ValueError(f"SWITCHBOARD_REDIS_URL has an empty host in {text!r}: give host:port")
    if port and not port.isdigit():
        raise ValueError(f"SWITCHBOARD_REDIS_URL has port {port!r} for {host}: a port is a number")
    return host, int(port) if port else (26379 if mode == "sentinel" else 6379)


def _service_and_db(path: list[str], mode: str) -> tuple[str | None, int]:
    if mode == "sentinel":
        if not path:
            raise ValueError("SWITCHBOARD_REDIS_URL names sentinels but not the primary they watch: add its name, "
                             "redis+sentinel://host:port,host:port/<service>[/db] (sentinel.conf's `sentinel "
                             "monitor <service> ...`)")
        service, path = path[0], path[1:]
    else:
        service = None
    if mode == "cluster" and path and path != ["0"]:
        raise ValueError(f"SWITCHBOARD_REDIS_URL names database {'/'.join(path)!r} of a cluster: Redis Cluster has "
                         "database 0 only; drop the path (redis+cluster://host:port,host:port)")
    if len(path) > 1 or (path and not path[0].isdigit()):
        raise ValueError(f"SWITCHBOARD_REDIS_URL ends in {'/'.join(path)!r} where a database number belongs "
                         f"(e.g. /0): it must look like {_FORMS}")
    return service, int(path[0]) if path else 0
