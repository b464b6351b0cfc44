"""`switchboard keys create|show|rewrap`: the key-encryption key of a mesh, and its tenants' data keys.

``create`` makes the KEK file (32 random bytes, 0600) where ``SWITCHBOARD_KEK_FILE`` points, or
says that one is there; agents of a cluster (``SWITCHBOARD_EMBEDDED=false``) never make one
themselves, so every replica reads the same key. ``rewrap --new-file F`` rotates the KEK: every
tenant's data key is unwrapped with the current KEK and stored wrapped with the new one, so no
payload is re-encrypted; point ``SWITCHBOARD_KEK_FILE`` at F afterwards and restart the agents.
``export --tenant T`` gives a tenant's data key (base64), made now if the tenant has none yet, to a
client of another language that seals and opens that tenant's fields itself.
"""

from __future__ import annotations

import base64
import json
import os
import sys
from pathlib import Path

from mesh.io.keys import Keys
from mesh.io.redis_clients import sync_redis
from mesh.security.crypto import LocalKeyFile
from mesh.security.sealing import sealer_for
from mesh.settings import Settings

__all__ = ["register", "rewrap"]


def _deks_key(settings: Settings) -> str:
    return Keys(settings.key_prefix).shared(settings.cache_prefix).deks()


def rewrap(settings: Settings, old: LocalKeyFile, new: LocalKeyFile) -> int:
    """Re-wrap every tenant's data key from ``old`` to ``new``; returns how many. All or nothing per run."""
    r = sync_redis(settings, socket_timeout=settings.connect_timeout_s)
    stored = r.hgetall(_deks_key(settings))
    fresh = {t: new.wrap(old.unwrap(blob, t.decode()), t.decode()) for t, blob in stored.items()}
    if fresh:
        r.hset(_deks_key(settings), mapping=fresh)
    return len(fresh)


def _create(args, settings: Settings) -> int:
    path = Path(args.file) if args.file else settings.kek_path
    existed = path.exists()
    try:
        kek = LocalKeyFile(path, create=True)
    except (OSError, ValueError) as err:
        print(f"cannot make a key at {path}: {err}", file=sys.stderr)
        return 1
    report = {"file": str(path), "key_id": kek.key_id, "created": not existed}
    print(json.dumps(report) if args.json else
          f"{'created' if not existed else 'kept the existing'} key-encryption key {kek.key_id} at {path}"
          + ("" if existed else ": back it up; without it no sealed payload can be read"))
    return 0


def _show(args, settings: Settings) -> int:
    try:
        kek = LocalKeyFile(settings.kek_path, create=False)
    except (OSError, ValueError) as err:
        print(err, file=sys.stderr)
        return 1
    tenants = sorted(t.decode() for t in sync_redis(settings, socket_timeout=settings.connect_timeout_s)
                     .hkeys(_deks_key(settings)))
    report = {"file": str(settings.kek_path), "key_id": kek.key_id, "tenants_with_data_keys": tenants}
    print(json.dumps(report) if args.json else
          f"key-encryption key {kek.key_id} at {settings.kek_path}; data keys for {len(tenants)} tenants")
    return 0


def _rewrap(args, settings: Settings) -> int:
    try:
        old, new = LocalKeyFile(settings.kek_path, create=False), LocalKeyFile(Path(args.new_file), create=False)
        n = rewrap(settings, old, new)
    except (OSError, ValueError) as err:
        print(err, file=sys.stderr)
        return 1
    print(json.dumps({"rewrapped": n, "key_id": new.key_id}) if args.json else
          f"re-wrapped {n} data keys under {new.key_id}: set SWITCHBOARD_KEK_FILE={args.new_file} and restart")
    return 0


def _export(args, settings: Settings) -> int:
    try:
        LocalKeyFile(settings.kek_path, create=False)  # never made here: a new KEK would orphan every data key
    except (OSError, ValueError) as err:
        print(err, file=sys.stderr)
        return 1
    r = sync_redis(settings, socket_timeout=settings.connect_timeout_s)
    created = not r.hexists(_deks_key(settings), args.tenant)
    key = base64.b64encode(sealer_for(settings).keyring.dek(args.tenant)).decode()
    if args.output:
        try:  # never through a link, and 0600 even for a file that was there with other modes
            fd = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        except OSError as err:
            print(f"cannot write {args.output}: {err.strerror}", file=sys.stderr)
            return 1
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(key + "\n")
    shown = {"tenant": args.tenant, "created": created, **({"file": args.output} if args.output else {"data_key": key})}
    print(json.dumps(shown) if args.json else (f"wrote {args.tenant}'s data key to {args.output}" if args.output
                                                else key))
    print(f"{args.tenant}'s data key opens every sealed field of that tenant: hand it over as a secret",
          file=sys.stderr)
    return 0


def register(sub) -> None:
    """Add `switchboard keys` to the CLI (entry point switchboard.commands)."""
    keys = sub.add_parser("keys", help="the key-encryption key that protects payloads at rest")
    cmds = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    make = cmds.add_parser("create", help="make the key file (SWITCHBOARD_KEK_FILE) unless it exists")
    make.add_argument("--file", help="where (default: SWITCHBOARD_KEK_FILE, else <run_dir>/kek.key)")
    show = cmds.add_parser("show", help="the key's id and the tenants that have data keys")
    turn = cmds.add_parser("rewrap", help="rotate the KEK: re-wrap every data key under the key in --new-file")
    turn.add_argument("--new-file", required=True, help="the new key file (make it with `keys create --file`)")
    out = cmds.add_parser("export", help="a tenant's data key (base64), for a client that seals its fields itself")
    out.add_argument("--tenant", required=True, help="whose key (made now if the tenant has none yet)")
    out.add_argument("--output", metavar="FILE", help="write it to FILE (mode 0600) instead of standard output")
    for p, fn in ((make, _create), (show, _show), (turn, _rewrap), (out, _export)):
        p.add_argument("--json", action="store_true", help="print one JSON object")
        p.set_defaults(fn=fn)
