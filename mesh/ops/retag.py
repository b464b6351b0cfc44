"""Renaming the keys a release without hash tags wrote to the names they have now (``Keys.retagged``).

Run with the agents stopped, on the Redis the mesh used (one node, or Sentinel's primary): each old
key is renamed with ``RENAMENX``, so a key that exists under its new name already (written since)
is kept and reported, never overwritten. Tenant ids that hold ``:`` are read by the tenants that
have data keys. A cluster is refused: a rename there cannot cross slots, and the old names are in
other slots than the new ones; retag on the node first, then move the keys into the cluster.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from mesh.errors import InvalidInput
from mesh.io.keys import Keys
from mesh.io.redis_clients import sync_redis
from mesh.settings import Settings

__all__ = ["Retagged", "retag"]


@dataclass
class Retagged:
    """What a run renamed, would rename (a dry run), and kept because the new name was taken."""

    renamed: list[tuple[str, str]] = field(default_factory=list)
    taken: list[tuple[str, str]] = field(default_factory=list)


def retag(settings: Settings, *, dry_run: bool = False, progress: Callable[[int], None] = lambda n: None) -> Retagged:
    """Rename every old-form key under the settings' prefix; ``progress`` is told how many keys were looked at."""
    if settings.redis_target.mode == "cluster":
        raise InvalidInput("retag runs on the node the mesh used before (a rename cannot cross a cluster's slots): "
                           "point SWITCHBOARD_REDIS_URL at it, retag, then import the keys into the cluster")
    r, keys = sync_redis(settings, socket_timeout=settings.connect_timeout_s), Keys(settings.key_prefix)
    tenants = [t.decode() for t in r.hkeys(keys.deks())]
    out = Retagged()
    for seen, raw in enumerate(r.scan_iter(f"{_glob(settings.key_prefix)}*", count=1000), 1):
        old = raw.decode()
        new = keys.retagged(old, tenants)
        if new is not None and new != old:
            done = dry_run or r.renamenx(old, new)
            (out.renamed if done else out.taken).append((old, new))
        progress(seen)
    return out


def _glob(text: str) -> str:
    """``text`` matched literally by a SCAN pattern."""
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in text)
