"""Every Redis client of the project is made here, so each one gets the configured TLS.

A client made with a bare ``from_url(settings.redis_url)`` would reach a rediss:// server
without the CA and client certificate of the settings, and fail only where Redis demands
them (``tls-auth-clients yes``): these two functions add them. Timeouts stay the caller's
choice (a CLI waits longer than a readiness probe), passed through as redis-py options.

A plain URL instead of settings is accepted for tools and tests that start their own Redis;
it gets no client certificate.
"""

from __future__ import annotations

import redis
import redis.asyncio as aioredis

from mesh.settings import Settings
from mesh.tls import redis_tls

__all__ = ["sync_redis", "async_redis"]


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
