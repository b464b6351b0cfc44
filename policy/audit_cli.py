"""`switchboard audit verify|export|reseal`: check the keyed audit chain, copy it out, or reseal a lost head.

``verify`` reads ``audit.log`` (or an export) from the start and checks every record's tag under the
audit keys, every link, and each chain's end against its signed head in Redis: TAMPERED (exit 1)
with one line per problem otherwise. ``reseal`` is the recovery after an auditor halted a chain
(its head missing or not verifying): it checks the log the same way without the heads, and writes
each chain's head anew, signed, at the last record read; a chain whose records do not verify is
not resealed (keep the log, `audit export`, as the evidence).
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

from redis.exceptions import WatchError

from mesh.cli_input import read_input, refuse
from mesh.io.bus import read_all
from mesh.io.keys import Keys
from mesh.io.redis_clients import sync_redis
from mesh.security.audit_keys import ChainKeys, chain_keys_for
from mesh.settings import Settings
from mesh.wire.codec import default_codec
from mesh.wire.topics import Topics
from policy.audit_chain import Head, Report, head_problem, sign_head, verify

__all__ = ["register", "heads", "reseal"]


def heads(settings: Settings) -> dict[str, Head]:
    """Each tenant chain's head as the auditor recorded it: last seq, its tag, and the head's signature."""
    r, keys = sync_redis(settings, socket_timeout=settings.connect_timeout_s), Keys(settings.key_prefix)
    out = {}
    for key in r.scan_iter(keys.audit_heads(), count=500):
        tenant = keys.tenant_of_audit_head(key.decode())
        seq, tag, sig = r.hmget(key, "seq", "hash", "sig")
        if seq is not None:
            out[tenant] = Head(int(seq), (tag or b"").decode(), sig.decode() if sig else None)
    return out


def _chain_keys(settings: Settings) -> ChainKeys:
    try:
        return chain_keys_for(settings)
    except (OSError, ValueError) as err:
        refuse(f"cannot read the audit keys: {err}")


def reseal(settings: Settings, report: Report, keys: ChainKeys) -> dict[str, str]:
    """Write each chain's head at the end ``report`` read, signed; per chain what was done.

    A head that verifies and is past that end is left alone: the auditor appended meanwhile."""
    r, names, out = sync_redis(settings, socket_timeout=settings.connect_timeout_s), Keys(settings.key_prefix), {}
    for chain, end in sorted(report.ends.items()):
        sig, key = sign_head(keys, chain, end.seq, end.tag), names.audit_head(chain)
        with r.pipeline(transaction=True) as pipe:
            pipe.watch(key)
            seq, tag, old = pipe.hmget(key, "seq", "hash", "sig")
            if (seq, tag, old) == (str(end.seq).encode(), end.tag.encode(), sig.encode()):
                out[chain] = f"kept: its head already ends at seq {end.seq}"
                continue
            head = Head(int(seq), (tag or b"").decode(), old.decode() if old else None) if seq is not None else None
            if head is not None and head.seq > end.seq and head_problem(keys, chain, head) is None:
                out[chain] = (f"not resealed: its head (seq {head.seq}) is past the last record read (seq {end.seq}): "
                              "the auditor appended meanwhile; run `switchboard audit verify`")
                continue
            pipe.multi()
            pipe.hset(key, mapping={"seq": end.seq, "hash": end.tag, "sig": sig})
            try:
                pipe.execute()
            except WatchError:
                out[chain] = "not resealed: the auditor moved its head meanwhile; run `switchboard audit reseal` again"
                continue
        out[chain] = f"resealed at seq {end.seq}"
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
    report = verify(messages, default_codec(), _chain_keys(settings), known, {args.tenant} if args.tenant else None)
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


def _reseal(args, settings: Settings) -> int:
    keys = _chain_keys(settings)
    report = verify(_live(settings), default_codec(), keys, None, {args.tenant} if args.tenant else None)
    if not report.ok:
        for p in report.problems:
            print(p)
        print(f"not resealed: {len(report.problems)} problems in the records themselves; a head is resealed only "
              "over a chain that verifies (keep the log as evidence: `switchboard audit export FILE`)", file=sys.stderr)
        return 1
    done = reseal(settings, report, keys)
    if args.json:
        print(json.dumps(done))
    else:
        for chain, what in done.items():
            print(f"chain {chain}: {what}")
    return 0 if all(not w.startswith("not") for w in done.values()) else 1


def register(sub) -> None:
    """Add `switchboard audit` to the CLI (entry point switchboard.commands)."""
    audit = sub.add_parser("audit", help="verify, export or reseal the keyed audit chain")
    cmds = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    check = cmds.add_parser("verify", help="check every chain: exit 0 intact, 1 TAMPERED (altered, forged, removed, "
                            "reordered, restarted, forked, or a head missing or moved)")
    check.add_argument("--tenant", help="only this tenant's chain")
    check.add_argument("--file", help="check an export (`audit export`) instead of the live topic")
    check.add_argument("--no-heads", action="store_true", help="do not compare chain ends with the heads in Redis")
    check.add_argument("--json", action="store_true", help="print one JSON object: ok, records, problems")
    check.set_defaults(fn=_verify)
    export = cmds.add_parser("export", help="write audit.log to a file (JSON lines) to keep or check later")
    export.add_argument("file")
    export.set_defaults(fn=_export)
    again = cmds.add_parser("reseal", help="after the auditor halted a chain: check audit.log and write each chain's "
                            "head, signed, at its last record (refused for a chain that does not verify)")
    again.add_argument("--tenant", help="only this tenant's chain")
    again.add_argument("--json", action="store_true", help="print one JSON object: chain -> what was done")
    again.set_defaults(fn=_reseal)
