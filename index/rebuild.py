"""Rebuilding the document store by replaying ``docs.ingest`` from the start of the log.

The log is the source of truth: replaying it in order, applying each upsert and delete, gives
the store the live index agent built. ``switchboard index rebuild`` (``index.cli``) replays into a
fresh key prefix and reports what differs from the live store, then (with ``--swap``) makes it live.
"""

from __future__ import annotations

import asyncio
import json

from index.store import DocStore
from mesh.errors import DeterministicError
from mesh.io.bus import read_all
from mesh.io.keys import Keys
from mesh.io.redis_clients import connect
from mesh.security.sealing import codec_for
from mesh.settings import Settings
from mesh.wire.topics import Topics
from schemas.models import DocumentIngest

__all__ = ["replay_into", "diff_stores", "add_rebuild"]


async def replay_into(settings: Settings, key_prefix: str, tenant: str | None = None) -> int:
    """Apply every DocumentIngest on the log, in partition order, to a store under ``key_prefix``."""
    codec = codec_for(settings)
    redis = connect(settings)
    store = DocStore(redis, Keys(key_prefix), getattr(codec, "sealer", None))
    applied = 0
    try:
        for msg in read_all(settings, Topics(settings.topic_prefix).name("docs.ingest")):
            try:
                doc = codec.decode(msg.value())
            except DeterministicError:
                continue  # the live agent dead-lettered it too
            if not isinstance(doc, DocumentIngest) or (tenant and doc.access.tenant_id != tenant):
                continue
            if doc.access.tenant_id != doc.envelope.tenant_id:
                continue
            await store.apply(doc)
            applied += 1
    finally:
        await redis.aclose()
    return applied


async def diff_stores(settings: Settings, prefix_a: str, prefix_b: str, tenant: str) -> list[str]:
    """Document ids whose stored documents differ between two stores (missing counts as different)."""
    redis, sealer = connect(settings), getattr(codec_for(settings), "sealer", None)
    try:
        _, a = await DocStore(redis, Keys(prefix_a), sealer).load(tenant)
        _, b = await DocStore(redis, Keys(prefix_b), sealer).load(tenant)
    finally:
        await redis.aclose()
    by_a, by_b = {d.doc_id: d for d in a}, {d.doc_id: d for d in b}
    return sorted(k for k in set(by_a) | set(by_b) if by_a.get(k) != by_b.get(k))


def _rebuild_command(args, settings: Settings) -> int:
    target = args.prefix or Keys(settings.key_prefix).rebuild_prefix()
    applied = asyncio.run(replay_into(settings, target, args.tenant))
    report = {"applied": applied, "prefix": target}
    if args.tenant:
        report["differs_from_live"] = asyncio.run(diff_stores(settings, settings.key_prefix, target, args.tenant))
    print(json.dumps(report) if args.json else
          f"replayed {applied} document events into {target}" +
          (f"; {len(report['differs_from_live'])} differ from the live store" if args.tenant else ""))
    return 0


def add_rebuild(actions) -> None:
    """Add ``rebuild`` to ``switchboard index``'s actions (``index.cli``)."""
    rebuild = actions.add_parser("rebuild", help="replay docs.ingest from the start into a fresh key prefix")
    rebuild.add_argument("--tenant", help="only this tenant's documents; also report differences from the live store")
    rebuild.add_argument("--prefix", help="Redis key prefix to rebuild into (default: <key prefix>rebuild:)")
    rebuild.add_argument("--json", action="store_true", help="print one JSON object")
    rebuild.set_defaults(fn=_rebuild_command)
