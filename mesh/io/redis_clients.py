"""Every Redis client of the project is made here, so each one gets the configured TLS.

A client made with a bare ``from_url(settings.redis_url)`` would reach a rediss:// server
without the CA and client certificate of the settings, and fail only where Redis demands
them (``tls-auth-clients yes``): these two functions add them. Timeouts stay the caller's
choice (a CLI waits longer than a readiness probe), passed through as redis-py options.

A plain URL instead of settings is accepted for tools and tests that start their own Redis;
it gets no client certificate. Either may name one node, Sentinel's primary or a cluster
(``mesh.redis_url``); a Sentinel client asks the sentinels for the primary again whenever
it stops answering or answers as a replica, and a cluster client reloads the slot map when a
node answers MOVED or stops answering, so every client follows a failover.

Redis failures are translated into ``TransientError`` at this boundary (``redis_errors``), so
callers retry them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import redis
import redis.asyncio as aioredis
import redis.asyncio.cluster as aiocluster
import redis.asyncio.sentinel as aiosentinel
import redis.cluster
import redis.sentinel
from redis.exceptions import (
    CrossSlotTransactionError,
    RedisClusterException,
    RedisError,
)

from mesh.errors import KeysInTwoSlots, RedisUnavailable
from mesh.io.keys import Keys
from mesh.io.tls import redis_tls
from mesh.redis_url import RedisTarget, parse_redis_url
from mesh.settings import Settings

__all__ = ["Durability", "REDIS_ERRORS", "async_redis", "connect", "durability_of", "is_cluster", "redis_errors",
           "sync_redis"]


def sync_redis(source: Settings | str, **options) -> redis.Redis:
    """A blocking client for ``source.redis_url`` (or the URL ``source``), connecting lazily."""
    url, settings = _url_and_settings(source)
    target, tls = parse_redis_url(url), _tls(settings)
    if target.mode == "sentinel":
        return _sentinel(redis.sentinel.Sentinel, target, settings, tls, options).master_for(
            target.service, redis_class=redis.Redis, **_auth(target), db=target.db, **tls, **options)
    if target.mode == "cluster":
        return redis.cluster.RedisCluster(startup_nodes=[redis.cluster.ClusterNode(h, p) for h, p in target.hosts],
                                          **_auth(target), **_ssl(target, tls), **options)
    return redis.Redis.from_url(url, **tls, **options)


def async_redis(source: Settings | str, **options) -> aioredis.Redis:
    """An asyncio client for ``source.redis_url`` (or the URL ``source``), connecting lazily."""
    url, settings = _url_and_settings(source)
    target, tls = parse_redis_url(url), _tls(settings)
    if target.mode == "sentinel":
        return _sentinel(aiosentinel.Sentinel, target, settings, tls, options).master_for(
            target.service, redis_class=aioredis.Redis, **_auth(target), db=target.db, **tls, **options)
    if target.mode == "cluster":
        return aiocluster.RedisCluster(startup_nodes=[aiocluster.ClusterNode(h, p) for h, p in target.hosts],
                                       **_auth(target), **_ssl(target, tls), **options)
    return aioredis.from_url(url, **tls, **options)


def _url_and_settings(source: Settings | str) -> tuple[str, Settings | None]:
    return (source, None) if isinstance(source, str) else (source.redis_url, source)


def _tls(settings: Settings | None) -> dict[str, str]:
    return redis_tls(settings) if settings is not None else {}


def _auth(target: RedisTarget) -> dict[str, str]:
    return {k: v for k, v in (("username", target.username), ("password", target.password)) if v}


def _ssl(target: RedisTarget, tls: dict) -> dict:
    return {"ssl": True, **tls} if target.tls else {}


def _sentinel(kind, target: RedisTarget, settings: Settings | None, tls: dict, options: dict):
    """Sentinels of ``target``: reached like the data nodes (TLS, timeouts), with their own password if any."""
    password = settings.redis_sentinel_password if settings is not None else None
    own = {"password": password.get_secret_value()} if password else {}
    timeouts = {k: v for k, v in options.items() if k in ("socket_timeout", "socket_connect_timeout")}
    ssl = _ssl(target, tls)
    return kind(list(target.hosts), sentinel_kwargs={**timeouts, **ssl, **own}, **ssl)


def connect(settings: Settings) -> aioredis.Redis:
    """An asyncio Redis client for ``settings.redis_url`` (connects lazily), its critical writes waiting for
    ``settings.redis_wait_replicas`` replicas (``mesh.io.pipelined.Batch.critical``)."""
    # a reply may take the replica wait on top: the socket waits longer, so a slow WAIT is ReplicasBehind, not
    # a timeout that would make redis-py send the whole pipeline again
    waits_s = settings.redis_wait_timeout_ms / 1000 + 1 if settings.redis_wait_replicas else 0
    client = async_redis(settings, socket_connect_timeout=settings.connect_timeout_s,
                         socket_timeout=max(settings.connect_timeout_s, waits_s), health_check_interval=30)
    client.durability = Durability(settings.redis_wait_replicas, settings.redis_wait_timeout_ms,
                                   Keys(settings.key_prefix).replicated)
    return client


@dataclass(frozen=True)
class Durability:
    """How many replicas a critical write waits for (Redis ``WAIT``), and for how long."""

    replicas: int = 0
    timeout_ms: int = 1000
    #: the key written just before each WAIT, by the hash tag it shares with what it follows (``Keys.replicated``)
    mark: Callable[[str], str] = Keys("").replicated


def durability_of(client: aioredis.Redis) -> Durability:
    """What ``connect`` asked of ``client``; a client made otherwise waits for no replica."""
    return getattr(client, "durability", _NO_WAIT)


_NO_WAIT = Durability()


#: what redis-py raises when Redis does not answer: a cluster client's own errors (no node reachable, a slot
#: not covered during a failover) are not ``RedisError``\ s
REDIS_ERRORS = (RedisError, RedisClusterException)


def is_cluster(client) -> bool:
    return isinstance(client, (aiocluster.RedisCluster, redis.cluster.RedisCluster))


class redis_errors:
    """Context manager translating Redis errors into ``TransientError`` at the boundary."""

    def __init__(self, what: str) -> None:
        self.what = what

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, exc_type, exc, tb) -> bool:
        if isinstance(exc, CrossSlotTransactionError):
            raise KeysInTwoSlots(f"a transaction while {self.what} touched two slots: {exc}") from exc
        if isinstance(exc, REDIS_ERRORS):
            raise RedisUnavailable(f"redis unavailable while {self.what}: {exc}") from exc
        return False
