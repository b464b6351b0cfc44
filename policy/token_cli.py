"""`switchboard token issue`: a signed principal token for local use (mesh/security/principal_tokens.py)."""

from __future__ import annotations

import json
import sys
import time

from mesh.security.principal_tokens import issue, parse_ttl
from mesh.settings import Settings
from schemas.models import Classification, Principal

__all__ = ["register"]


def _issue(args, settings: Settings) -> int:
    if not settings.token_secrets:
        print("no token secret: set SWITCHBOARD_TOKEN_SECRET (the key the planner checks tokens with)",
              file=sys.stderr)
        return 2
    try:
        ttl = parse_ttl(args.ttl)
    except ValueError as err:
        print(err, file=sys.stderr)
        return 2
    principal = Principal(tenant_id=args.tenant, user_id=args.user, roles=args.role or [], groups=args.group or [],
                          clearance=Classification(args.clearance))
    now = time.time()
    token = issue(settings.token_secrets[0], principal, now_s=now, ttl_s=ttl)
    if args.json:
        print(json.dumps({"token": token, "expires_at": int(now + ttl), "principal": principal.model_dump(mode="json")}))
    else:
        print(token)
    return 0


def register(sub) -> None:
    """Add `switchboard token issue` to the CLI (entry point switchboard.commands)."""
    token = sub.add_parser("token", help="issue signed principal tokens")
    cmds = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    make = cmds.add_parser("issue", help="print a token for a principal, signed with SWITCHBOARD_TOKEN_SECRET")
    make.add_argument("--user", required=True)
    make.add_argument("--tenant", required=True)
    make.add_argument("--role", action="append", help="a role (repeatable)")
    make.add_argument("--group", action="append", help="a group (repeatable)")
    make.add_argument("--clearance", default="internal", choices=[c.value for c in Classification])
    make.add_argument("--ttl", default="15m", help="lifetime: 90s, 15m, 2h, 1d (default 15m)")
    make.add_argument("--json", action="store_true", help="print one JSON object: token, expires_at, principal")
    make.set_defaults(fn=_issue)
