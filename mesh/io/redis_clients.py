"""Every Redis client of the project is made here, so each one gets the configured TLS.

A client made with a bare ``from_url(settings.redis_url)`` would reach a rediss:// server
without the CA and client certificate of the settings, and fail only where Redis demands
them (``tls-auth-clients yes``): these two functions add them. Timeouts stay the caller's
choice (a CLI waits longer than a readiness probe), passed through as redis-py options.

A plain URL instead of settings is accepted for tools and tests that start their own Redis;
it gets no client certificate.

Redis failures are translated into ``TransientError`` at this boundary (``redis_errors``), so
callers retry them.
"""

from __future__ import annotations

import redis
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from mesh.errors import RedisUnavailable
from mesh.io.tls import redis_tls
from mesh.settings import Settings

__all__ = ["async_redis", "connect", "redis_errors", "sync_redis"]


def sync_redis(source: Settings | str, **options) -> redis.Redis:
    """A blocking client for ``source.redis_url`` (or the URL ``source``), connecting lazily."""
    url, tls = _url_and_tls(source)
    return redis.Redis.from_url(url, **tls, **options)


def async_redis(source: Settings | str, **options) -> aioredis.Redis:
    """An asyncio client for ``source.redis_url`` (or the URL ``source``), connecting lazily."""
    url, tls = _url_and_tls(source)
    return aioredis.from_url(url, **tls, **options)


def _url_and_tls(source: Settings | str) -> tuple[str, dict[str, str]]:
    return (source, {}) if isinstance(source, str) else (source.redis_url, redis_tls(source))


def connect(settings: Settings) -> aioredis.Redis:
    """An asyncio Redis client for ``settings.redis_url`` (connects lazily)."""
    return async_redis(settings, socket_connect_timeout=settings.connect_timeout_s,
                       socket_timeout=settings.connect_timeout_s, health_check_interval=30)


class redis_errors:
    """Context manager translating Redis errors into ``TransientError`` at the boundary."""

    def __init__(self, what: str) -> None:
        self.what = what

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, exc_type, exc, tb) -> bool:
        if exc is not None and isinstance(exc, RedisError):
            raise RedisUnavailable(f"redis unavailable while {self.what}: {exc}") from exc
        return False
