"""`switchboard redis retag`: give the keys a release without hash tags wrote the names they have now."""

from __future__ import annotations

import json
import sys

from mesh.ops.retag import retag
from mesh.settings import Settings

__all__ = ["register"]


def _retag(args, settings: Settings) -> int:
    from tqdm import tqdm

    with tqdm(unit=" keys", disable=args.json or not sys.stderr.isatty(), file=sys.stderr) as bar:
        done = retag(settings, dry_run=args.dry_run, progress=lambda n: bar.update(n - bar.n))
    if args.json:
        print(json.dumps({"dry_run": args.dry_run, "renamed": len(done.renamed), "deadlines": done.deadlines,
                          "taken": [{"old": o, "new": n} for o, n in done.taken], "unnamed": done.unnamed}))
    else:
        verb = "would rename" if args.dry_run else "renamed"
        for old, new in done.renamed if args.dry_run else []:
            print(f"{old} -> {new}")
        print(f"{verb} {len(done.renamed)} keys; {done.deadlines} deadlines pointed at their tasks' new keys")
        for old, new in done.taken:
            print(f"kept {old}: {new} exists already (written since the upgrade); compare and delete one",
                  file=sys.stderr)
        for old in done.unnamed:
            print(f"kept {old}: its tenant id holds a brace, which a key can no longer carry", file=sys.stderr)
    return 1 if done.taken or done.unnamed else 0


def register(sub) -> None:
    """Add `switchboard redis` to the CLI."""
    redis = sub.add_parser("redis", help="the mesh's state in Redis")
    cmds = redis.add_subparsers(dest="redis_command", required=True, metavar="ACTION")
    tag = cmds.add_parser("retag", help="rename keys written before keys had Redis Cluster hash tags (agents "
                                        "stopped); exit 1 if a key was kept under its old name")
    tag.add_argument("--dry-run", action="store_true", help="list what would be renamed, rename nothing")
    tag.add_argument("--json", action="store_true", help="print one JSON object: dry_run, renamed, deadlines, taken, "
                                                         "unnamed")
    tag.set_defaults(fn=_retag)
