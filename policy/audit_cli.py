"""`switchboard audit verify|export`: check the hash-chained audit trail, or copy it out to check later."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

from mesh.cli_input import read_input, refuse
from mesh.io.bus import read_all
from mesh.io.keys import Keys
from mesh.io.redis_clients import sync_redis
from mesh.settings import Settings
from mesh.wire.codec import default_codec
from mesh.wire.topics import Topics
from policy.audit_chain import verify

__all__ = ["register", "heads"]


def heads(settings: Settings) -> dict[str, tuple[int, str]]:
    """Each tenant chain's head as the auditor recorded it: (last seq, its hash)."""
    r, keys = sync_redis(settings, socket_timeout=settings.connect_timeout_s), Keys(settings.key_prefix)
    out = {}
    for key in r.scan_iter(keys.audit_heads(), count=500):
        tenant = keys.tenant_of_audit_head(key.decode())
        seq, digest = r.hmget(key, "seq", "hash")
        out[tenant] = (int(seq), digest.decode())
    return out


def _live(settings: Settings) -> list[tuple[int, int, bytes]]:
    msgs = read_all(settings, Topics(settings.topic_prefix).name("audit.log"), idle_s=1.0)
    return [(m.partition(), m.offset(), m.value()) for m in msgs]


def _from_file(path: str) -> list[tuple[int, int, bytes]]:
    """The records of an export; a one-line error (exit 2) naming the first line that is not one."""
    lines, out = read_input(path, "an audit export").splitlines(), []
    for n, line in enumerate(lines, 1):
        if line.strip():
            try:
                row = json.loads(line)
                out.append((int(row["partition"]), int(row["offset"]), base64.b64decode(row["value"], validate=True)))
            except (ValueError, KeyError, TypeError) as err:
                refuse(f"{path}:{n}: not a line of `switchboard audit export` ({type(err).__name__}: {err})")
    return out


def _verify(args, settings: Settings) -> int:
    messages = _from_file(args.file) if args.file else _live(settings)
    known = None if args.no_heads else heads(settings)
    report = verify(messages, default_codec(), known, {args.tenant} if args.tenant else None)
    if args.json:
        print(json.dumps({"ok": report.ok, "records": report.records, "replays": report.replays,
                          "problems": [str(p) for p in report.problems]}))
    else:
        for p in report.problems:
            print(p)
        total = sum(report.records.values())
        print(f"{'ok' if report.ok else 'TAMPERED'}: {total} records in {len(report.records)} chains checked"
              f"{f', {report.replays} replays' if report.replays else ''}"
              f"{f', {len(report.problems)} problems' if report.problems else ''}", file=sys.stderr)
    return 0 if report.ok else 1


def _export(args, settings: Settings) -> int:
    if not Path(args.file).resolve().parent.is_dir():
        refuse(f"cannot write {args.file}: its folder does not exist")
    messages = _live(settings)
    with open(args.file, "w", encoding="utf-8") as out:
        for partition, offset, value in messages:
            out.write(json.dumps({"partition": partition, "offset": offset,
                                  "value": base64.b64encode(value).decode()}) + "\n")
    print(f"exported {len(messages)} audit records to {args.file}", file=sys.stderr)
    return 0


def register(sub) -> None:
    """Add `switchboard audit` to the CLI (entry point switchboard.commands)."""
    audit = sub.add_parser("audit", help="verify or export the hash-chained audit trail")
    cmds = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    check = cmds.add_parser("verify", help="check every chain: exit 0 intact, 1 altered, removed or reordered")
    check.add_argument("--tenant", help="only this tenant's chain")
    check.add_argument("--file", help="check an export (`audit export`) instead of the live topic")
    check.add_argument("--no-heads", action="store_true", help="do not compare chain ends with the heads in Redis")
    check.add_argument("--json", action="store_true", help="print one JSON object: ok, records, problems")
    check.set_defaults(fn=_verify)
    export = cmds.add_parser("export", help="write audit.log to a file (JSON lines) to keep or check later")
    export.add_argument("file")
    export.set_defaults(fn=_export)
