"""Renaming the keys a release without hash tags wrote to the names they have now (``Keys.retagged``).

Run with the agents stopped, on the Redis the mesh used (one node, or Sentinel's primary): each old
key is renamed with ``RENAMENX``, so a key that exists under its new name already (written since)
is kept and reported, never overwritten. Tenant ids that hold ``:`` are read by the tenants that
have data keys. The planner's deadlines name tasks by their keys: those names are rewritten too. A
cluster is refused: a rename there cannot cross slots, and the old names are in
other slots than the new ones; retag on the node first, then move the keys into the cluster.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from redis.exceptions import ResponseError

from mesh.errors import InvalidInput
from mesh.io.keys import Keys
from mesh.io.redis_clients import sync_redis
from mesh.settings import Settings

__all__ = ["Retagged", "retag"]


@dataclass
class Retagged:
    """What a run renamed (would rename, on a dry run), kept because the new name was taken, and could not name
    (a tenant id with a brace); and how many deadlines it pointed at their tasks' new keys."""

    renamed: list[tuple[str, str]] = field(default_factory=list)
    taken: list[tuple[str, str]] = field(default_factory=list)
    unnamed: list[str] = field(default_factory=list)
    deadlines: int = 0


def retag(settings: Settings, *, dry_run: bool = False, progress: Callable[[int], None] = lambda n: None) -> Retagged:
    """Rename every old-form key under the settings' prefix; ``progress`` is told how many keys were looked at."""
    if settings.redis_target.mode == "cluster":
        raise InvalidInput("retag runs on the node the mesh used before (a rename cannot cross a cluster's slots): "
                           "point SWITCHBOARD_REDIS_URL at it, retag, then import the keys into the cluster")
    r, keys = sync_redis(settings, socket_timeout=settings.connect_timeout_s), Keys(settings.key_prefix)
    tenants = [t.decode() for t in r.hkeys(keys.shared(settings.cache_prefix).deks())]
    out = Retagged()
    for seen, raw in enumerate(r.scan_iter(f"{_glob(settings.key_prefix)}*", count=1000), 1):
        _rename(r, raw.decode(), keys, tenants, dry_run, out)
        progress(seen)
    out.deadlines = _retag_members(r, keys.deadlines("planner"), keys, tenants, dry_run)
    return out


def _rename(r, old: str, keys: Keys, tenants: list[str], dry_run: bool, out: Retagged) -> None:
    try:
        new = keys.retagged(old, tenants)
    except InvalidInput:
        out.unnamed.append(old)
        return
    if new is None or new == old:
        return
    try:
        done = not r.exists(new) if dry_run else r.renamenx(old, new)
    except ResponseError:  # gone since the scan found it (expired, or found twice)
        return
    (out.renamed if done else out.taken).append((old, new))


def _retag_members(r, deadlines: str, keys: Keys, tenants: list[str], dry_run: bool) -> int:
    """Point the deadlines in ``deadlines`` (scored members naming task keys) at the tasks' new keys."""
    moved = 0
    for member, score in r.zscan_iter(deadlines):
        try:
            new = keys.retagged(member.decode(), tenants)
        except InvalidInput:
            continue
        if new is not None:
            if not dry_run:
                r.zadd(deadlines, {new: score})
                r.zrem(deadlines, member)
            moved += 1
    return moved


def _glob(text: str) -> str:
    """``text`` matched literally by a SCAN pattern."""
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in text)
