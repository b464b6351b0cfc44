"""`switchboard budget show|set TENANT`: read and change a tenant's token budgets and rate limits."""

from __future__ import annotations

import asyncio
import json
import sys

from mesh.io.redis_clients import connect
from mesh.settings import Settings
from policy.budgets import LIMIT_FIELDS, Budgets

__all__ = ["register"]


def _run(settings: Settings, fn):
    async def go():
        redis = connect(settings)
        try:
            return await fn(Budgets.from_settings(settings, redis))
        finally:
            await redis.aclose()
    return asyncio.run(go())


def _show(args, settings: Settings) -> int:
    view = _run(settings, lambda b: b.show(args.tenant))
    if args.json:
        print(json.dumps(view))
        return 0
    lim = view["limits"]
    print(f"tenant {view['tenant']}, this {view['period']} (resets {view['resets_at']}):")
    print(f"  tokens  {view['used_tokens']:>12,}  soft {lim['soft_tokens'] or '-':>12}  hard {lim['hard_tokens'] or '-':>12}")
    print(f"  USD     {view['used_usd']:>12.6f}  soft {lim['soft_usd'] or '-':>12}  hard {lim['hard_usd'] or '-':>12}")
    print(f"  calls {view['calls']}, reservations open {view['reserved']}; this minute "
          f"{view['this_minute']['requests']} requests (limit {lim['rpm'] or '-'}), "
          f"{view['this_minute']['tokens']} tokens (limit {lim['tpm'] or '-'})")
    return 0


def _set(args, settings: Settings) -> int:
    values = {f: getattr(args, f) for f in (*LIMIT_FIELDS, "period") if getattr(args, f) is not None}
    if not values:
        print("nothing to set: give at least one of --soft-tokens, --hard-tokens, --soft-usd, --hard-usd, --rpm, "
              "--tpm, --period", file=sys.stderr)
        return 2
    try:
        _run(settings, lambda b: b.set(args.tenant, **values))
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return _show(args, settings)


def register(sub) -> None:
    """Add `switchboard budget` to the CLI (entry point switchboard.commands)."""
    budget = sub.add_parser("budget", help="show or set a tenant's token budgets and rate limits")
    cmds = budget.add_subparsers(dest="budget_command", required=True, metavar="ACTION")
    show = cmds.add_parser("show", help="limits, and what this period and minute have used")
    show.add_argument("tenant")
    show.add_argument("--json", action="store_true", help="print one JSON object")
    show.set_defaults(fn=_show)
    put = cmds.add_parser("set", help="change limits (0 removes one); unchanged limits keep their values")
    put.add_argument("tenant")
    for name, kind in (("soft_tokens", int), ("hard_tokens", int), ("soft_usd", float), ("hard_usd", float),
                       ("rpm", int), ("tpm", int)):
        put.add_argument(f"--{name.replace('_', '-')}", dest=name, type=kind, metavar="N")
    put.add_argument("--period", choices=["day", "month"])
    put.add_argument("--json", action="store_true", help="print the budget afterwards as one JSON object")
    put.set_defaults(fn=_set)
