"""`switchboard trace`, `usage` and `agents`: what happened to a task, what it cost, who is running."""

from __future__ import annotations

import json
import sys

from mesh.settings import Settings
from mesh.text import for_terminal

__all__ = ["register"]


def _trace(args, settings: Settings) -> int:
    from mesh.ops.task_log import as_json, read_task, render

    events = read_task(settings, args.task_id)
    if args.json:
        print(json.dumps(as_json(args.task_id, events)))
    else:
        # questions, answers, reasons and titles are others' text: no escape sequence reaches the terminal
        print(for_terminal(render(args.task_id, events)), file=sys.stdout if events else sys.stderr)
    return 0 if events else 1


def _usage(args, settings: Settings) -> int:
    from mesh.ops.usage import parse_since, read_usage, rollup

    try:
        since = parse_since(args.since) if args.since else None
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    rows, total = rollup(read_usage(settings, args.tenant, since), args.by)
    if args.json:
        print(json.dumps({"by": args.by, "tenant": args.tenant, "since": args.since,
                          "rows": [r.to_json() for r in rows], "total": total.to_json()}))
        return 0
    scope = f"tenant {args.tenant}" if args.tenant else "all tenants"
    print(f"usage by {args.by}, {scope}" + (f", last {args.since}" if args.since else "") + ":")
    width = max([len(args.by), *(len(r.key) for r in rows)]) if rows else len(args.by)
    print(f"  {args.by:<{width}}  {'calls':>7}  {'prompt':>10}  {'completion':>10}  {'tokens':>10}  {'USD':>12}")
    for r in [*rows, total]:
        print(f"  {r.key:<{width}}  {r.calls:>7,}  {r.prompt_tokens:>10,}  {r.completion_tokens:>10,}  "
              f"{r.tokens:>10,}  {r.cost_usd:>12.6f}")
    return 0


def _agents(args, settings: Settings) -> int:
    from mesh.io.keys import Keys
    from mesh.io.redis_clients import sync_redis

    # Redis down: `mesh.cli_input` says so (without the URL's password)
    r = sync_redis(settings, socket_timeout=settings.connect_timeout_s, socket_connect_timeout=settings.connect_timeout_s)
    keys, out = Keys(settings.key_prefix), []
    for key in sorted(r.scan_iter(keys.heartbeats(), count=500)):
        raw = r.get(key)
        if raw is None:
            continue
        beat = json.loads(raw)
        agent = keys.agent_of_heartbeat(key.decode())
        port = beat.get("metrics_port")
        out.append({"agent": agent, **beat, "metrics": f"http://{beat['host']}:{port}/metrics" if port else None})
    if args.file_sd:  # Prometheus file_sd_configs: one target group per worker that serves /metrics
        print(json.dumps([{"targets": [f"{a['host']}:{a['metrics_port']}"],
                           "labels": {"agent": a["agent"], "pid": str(a["pid"])}} for a in out if a["metrics"]]))
    elif args.json:
        print(json.dumps(out))
    else:
        for a in out:
            said = "".join(f"  {k} {v}" for k, v in sorted(a.get("info", {}).items()))
            print(f"{a['agent']:<10} pid {a['pid']:<8} partitions {a['partitions']:<3} metrics {a['metrics'] or '-'}"
                  + said)
    return 0 if out else 1


def _replay(args, settings: Settings) -> int:
    from datetime import datetime
    from pathlib import Path

    from mesh.ops.replay import Replay, submission, submissions_between
    from mesh.ops.task_log import read_task

    if bool(args.task_id) == bool(args.start):
        print("error: name a TASK_ID, or a window with --from TIME [--to TIME] (ISO 8601)", file=sys.stderr)
        return 2
    policies = Path(args.policy_dir) if args.policy_dir else None
    if policies is not None and not (policies / "policies.cedar").is_file():
        print(f"error: --policy-dir {policies} holds no policies.cedar: name a folder like policy/cedar, with "
              "policies.cedar and schema.cedarschema", file=sys.stderr)
        return 2
    recorded = read_task(settings, args.task_id) if args.task_id else None
    if recorded is not None:
        submission(settings, args.task_id, recorded)  # before starting a namespace: an unknown id fails at once
    try:
        window = [int(datetime.fromisoformat(t).timestamp() * 1000) for t in (args.start, args.end) if t]
    except ValueError as err:
        print(f"error: {err}: give times as ISO 8601, e.g. 2026-11-24T14:00:00+00:00", file=sys.stderr)
        return 2
    tasks = [args.task_id] if args.task_id else submissions_between(
        settings, window[0], window[1] if len(window) > 1 else 2**62)
    if not tasks:
        print("error: no task was submitted in that window", file=sys.stderr)
        return 1
    say = (lambda s: None) if args.json else (lambda s: print(s, file=sys.stderr))
    reports = []
    with Replay(settings, live=args.live, policy_dir=policies, say=say) as replay:
        for task_id in tasks:
            reports.append(replay.run(task_id, args.timeout, recorded if task_id == args.task_id else None))
            if not args.json:
                _print_replay(reports[-1])
    if args.json:
        print(json.dumps(reports[0] if args.task_id else {"tasks": reports}))
    return 0


def _print_replay(report: dict) -> None:
    rec, rep = report["recorded"], report["replayed"]
    lines = [f"task {report['task_id']} replayed in {report['namespace']} ({report['mode']} model outputs, "
             f"{report['recorded_outputs']} recorded): {rec['status']} -> {rep['status']}, "
             f"{len(rec['events'])} -> {len(rep['events'])} events"]
    if not report["differences"]:
        lines.append("  the two runs agree: same steps, routes, decisions, retrieval and result")
    for d in report["differences"]:
        lines.append(f"  {d['aspect']} {d['where']}:\n    recorded: {str(d['recorded'])[:160]}\n"
                     f"    replayed: {str(d['replayed'])[:160]}")
    print(for_terminal("\n".join(lines)))  # the differences quote recorded questions and answers


def register(sub) -> None:
    replay = sub.add_parser("replay", help="re-drive a recorded task in an isolated namespace, and diff the runs")
    replay.add_argument("task_id", nargs="?", help="the task to replay")
    replay.add_argument("--from", dest="start", metavar="TIME", help="replay every task submitted since TIME")
    replay.add_argument("--to", dest="end", metavar="TIME", help="... and until TIME (default: now)")
    replay.add_argument("--live", action="store_true", help="call the models again instead of reusing the "
                        "recorded outputs")
    replay.add_argument("--policy-dir", metavar="DIR", help="replay under these policies (policies.cedar)")
    replay.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for each replayed result")
    replay.add_argument("--json", action="store_true", help="print one JSON object: both runs and the differences")
    replay.set_defaults(fn=_replay)

    trace = sub.add_parser("trace", help="the life of a task rebuilt from the topics: every event, as a tree")
    trace.add_argument("task_id")
    trace.add_argument("--json", action="store_true", help="print one JSON object: events in order, result")
    trace.set_defaults(fn=_trace)

    from mesh.ops.usage import DIMENSIONS

    usage = sub.add_parser("usage", help="tokens and cost from usage.tokens, rolled up")
    usage.add_argument("--tenant", help="only this tenant")
    usage.add_argument("--since", help="only the last DURATION, e.g. 30m, 1h, 7d")
    usage.add_argument("--by", choices=list(DIMENSIONS), default="tenant", help="group by (default: tenant)")
    usage.add_argument("--json", action="store_true", help="print one JSON object")
    usage.set_defaults(fn=_usage)

    agents = sub.add_parser("agents", help="the running workers: partitions owned, where their /metrics are")
    form = agents.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="print a JSON list of the workers")
    form.add_argument("--file-sd", action="store_true", help="print the workers' /metrics as Prometheus file_sd "
                      "targets (write it to the file a file_sd_configs entry watches)")
    agents.set_defaults(fn=_agents)
