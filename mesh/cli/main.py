"""The `switchboard` command line. `switchboard --help` lists every command.

Exit codes: 0 success; 1 the work failed (no answer, a refused task, a service down);
2 bad usage or bad input (wrong flags, invalid documents).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path

from mesh.settings import Settings

__all__ = ["main"]

SAMPLE_CORPUS = Path(__file__).resolve().parents[2] / "infra" / "sample" / "corpus.jsonl"
DEMO_QUESTIONS = [
    ("How long are audit logs retained?", "acme", "dana", ["eng"]),
    ("What happens when a circuit breaker opens?", "acme", "dana", ["eng"]),
    ("What is the audit log retention and how long is the vacation allowance?", "acme", "dana", ["eng"]),
    ("Which regions does the payments service run in?", "acme", "sam", ["sales"]),
    ("What is the salary band for a staff engineer?", "acme", "sam", ["sales"]),
]


def _say(msg: str) -> None:
    from mesh.text import for_terminal

    print(for_terminal(msg), file=sys.stderr, flush=True)  # it may quote a file's or a document's text


def positive(kind):
    """An argparse type: a number of ``kind`` above zero (a usage error, exit 2, otherwise)."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text} is not above zero")
        return value
    parse.__name__ = kind.__name__
    return parse


def _principal(args):
    from schemas.models import Classification, Principal

    return Principal(tenant_id=args.tenant, user_id=args.user, groups=args.group or [],
                     clearance=Classification(args.clearance))


def cmd_agent(args, settings: Settings) -> int:
    from mesh.runtime.registry import agent_names
    from mesh.runtime.worker import run_agent

    if args.name not in agent_names():
        _say(f"error: unknown agent {args.name!r}: choose one of {', '.join(agent_names())}")
        return 2
    run_agent(args.name, settings)
    return 0


def _serve(mesh, detach: bool) -> int:
    if detach:
        _say(f"mesh up (pids in {mesh.pidfile}); stop it with `switchboard down`")
        return 0
    # Ctrl-C and SIGTERM both ask for a clean stop. SIGINT is set explicitly: a shell without job control
    # starts background commands with it ignored, and Python then never raises KeyboardInterrupt.
    stopping = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.append(1))
    try:
        _say("mesh up: Ctrl-C stops everything")
        while not stopping:
            dead = mesh.dead_workers()
            if dead:
                _say(f"agent {dead[0]} exited; stopping the mesh (logs in {mesh.log_dir})")
                return 1
            time.sleep(0.5)
    finally:
        _say("stopping...")
        mesh.stop()
        _say("stopped")
    return 0


def cmd_up(args, settings: Settings) -> int:
    from mesh.ops.stack import Mesh

    mesh = Mesh(settings)
    mesh.start(_say)
    return _serve(mesh, args.detach)


def cmd_down(args, settings: Settings) -> int:
    from mesh.ops.stack import stop_recorded

    stopped = stop_recorded(settings)
    _say(f"stopped {', '.join(stopped)}" if stopped else "nothing was running")
    return 0


def cmd_topics(args, settings: Settings) -> int:
    from mesh.io.bus import ensure_topics, require_broker

    require_broker(settings, settings.connect_timeout_s)
    created = ensure_topics(settings, timeout_s=30.0)
    if args.json:
        print(json.dumps({"created": created}))
    else:
        _say(f"created {len(created)} topics" if created else "every topic exists")
    return 0


def _load_documents(path: Path, tenant: str):
    from mesh.cli_input import read_input
    from mesh.client import parse_documents

    return parse_documents(read_input(path, "JSON lines").splitlines(), tenant)


def cmd_ingest(args, settings: Settings) -> int:
    from mesh.client import Client

    docs, bad = _load_documents(Path(args.path), args.tenant)
    for b in bad[:20]:
        _say(f"{args.path}:{b.line}: {b.reason}")
    if len(bad) > 20:
        _say(f"... and {len(bad) - 20} more invalid line(s)")
    if bad and not args.skip_invalid:
        _say(f"{len(bad)} invalid line(s); nothing was published. Fix them, or pass --skip-invalid to publish "
             f"the {len(docs)} valid document(s).")
        if args.json:
            print(json.dumps({"published": 0, "invalid": len(bad),
                              "errors": [{"line": b.line, "reason": b.reason} for b in bad]}))
        return 2
    client = Client(settings)
    bar = _progress(len(docs), "ingest") if not args.json else None
    n = client.ingest(docs, progress=bar.update_to if bar else None)
    if bar:
        bar.close()
    if args.wait:
        indexed = _progress(len(docs), "indexed") if not args.json else None  # documents stored, and per second
        try:
            client.wait_stored(docs, timeout_s=max(60.0, len(docs) / 20),
                               progress=indexed.update_to if indexed else None)
        finally:
            if indexed:
                indexed.close()
    if args.json:
        print(json.dumps({"published": n, "invalid": len(bad),
                          "skipped": [{"line": b.line, "reason": b.reason} for b in bad]}))
    else:
        skipped = f"; skipped {len(bad)} invalid line(s), listed above" if bad else ""
        _say(f"published {n} document(s) to {client.topics.name('docs.ingest')}{skipped}")
    return 0


def _read_schema(path: str | None) -> str | None:
    if path is None:
        return None
    from mesh.cli_input import read_input

    text = read_input(path, "a JSON Schema")
    from mesh.llm.output_format import schema_error

    problem = schema_error(text)
    if problem:
        _say(f"{path}: {problem}")
        raise SystemExit(2)
    return text


def cmd_ask(args, settings: Settings) -> int:
    from mesh.client import Client

    schema = _read_schema(args.schema)
    if args.token and not settings.token_secrets:
        _say("warning: --token is checked by a planner that has SWITCHBOARD_TOKEN_SECRET; this shell has none, and "
             "where the agents have none either the token is ignored and --tenant and --user say who asks")
    from mesh.cli.results import print_result, result_json

    result = Client(settings).ask(args.question, _principal(args), timeout_s=args.timeout, top_k=args.top_k,
                                  output_schema=schema, deadline_s=args.deadline, token=args.token)
    if args.json:
        print(json.dumps(result_json(result)))
    else:
        print_result(result)
    return 0 if result.status.value in ("answered", "no_answer", "degraded") else 1


def cmd_cancel(args, settings: Settings) -> int:
    from mesh.client import Client

    client = Client(settings)
    seen = client.task_status(args.task_id, args.tenant) is not None
    status = client.cancel(args.task_id, _principal(args), reason=args.reason or "")
    if args.json:
        print(json.dumps({"task_id": args.task_id, "status": status, "seen": seen}))
    if status is None:
        _say(f"no task {args.task_id} of tenant {args.tenant} (it never ran, or expired)")
        return 1
    if status == "cancelled" and not seen:  # cancelled ahead: a submission racing its cancel is covered
        _say(f"no task {args.task_id} of tenant {args.tenant} has run: it is marked cancelled, so it is cancelled if "
             "it is submitted. If you meant a running task, check the id and --tenant")
        return 0
    if status == "cancelled":
        _say(f"task {args.task_id} cancelled")
        return 0
    _say(f"task {args.task_id} was not cancelled: it is {status}")
    return 1


def cmd_demo(args, settings: Settings) -> int:
    from mesh.cli.results import print_result, result_json
    from mesh.client import Client
    from mesh.ops.stack import Mesh
    from schemas.models import Principal

    mesh = Mesh(settings)
    mesh.start(_say)
    try:
        docs, bad = _load_documents(SAMPLE_CORPUS, "acme")
        client = Client(settings)
        client.ingest(docs)
        client.wait_stored(docs)
        _say(f"ingested {len(docs)} sample documents from {SAMPLE_CORPUS.name}")
        failures = 0
        for question, tenant, user, groups in DEMO_QUESTIONS:
            result = client.ask(question, Principal(tenant_id=tenant, user_id=user, groups=groups))
            failures += result.status.value not in ("answered", "no_answer")
            if args.json:
                print(json.dumps({"question": question, "user": user, **result_json(result)}), flush=True)
            else:
                print_result(result, f"{question}  (as {user}, groups {', '.join(groups)})")
                print()
        return 1 if failures else 0
    finally:
        mesh.stop()
        _say("demo done: everything stopped")


def _progress(total: int, desc: str):
    from tqdm import tqdm

    bar = tqdm(total=total, desc=desc, unit="doc", file=sys.stderr, disable=not sys.stderr.isatty())
    bar.update_to = lambda n: bar.update(n - bar.n)
    return bar


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="switchboard", description="Switchboard: an agent mesh over Kafka for "
                                "grounded, policy-checked LLM answers. Settings come from SWITCHBOARD_* variables.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = sub.add_parser("up", help="start the embedded stack and every agent as its own process")
    up.add_argument("--detach", action="store_true", help="return once ready; stop later with `switchboard down`")
    up.set_defaults(fn=cmd_up)

    sub.add_parser("down", help="stop everything a detached `up` started").set_defaults(fn=cmd_down)

    topics = sub.add_parser("topics", help="create every topic of the mesh that is missing (a cluster's first step)")
    topics.add_argument("--json", action="store_true", help="print one JSON object: the topics created")
    topics.set_defaults(fn=cmd_topics)

    agent = sub.add_parser("agent", help="run one agent as a worker in its consumer group")
    agent.add_argument("name", help="planner, retriever, executor, validator, auditor or index")
    agent.set_defaults(fn=cmd_agent)

    ingest = sub.add_parser("ingest", help="publish documents (JSON lines) to docs.ingest")
    ingest.add_argument("path", help="JSON lines: id, title, text, and tenant/groups/classification (or access{})")
    ingest.add_argument("--tenant", default="default", help="tenant for lines that name none (default: default)")
    ingest.add_argument("--skip-invalid", action="store_true", help="publish the valid lines even if some are not")
    ingest.add_argument("--wait", action="store_true", help="return once the index agent has stored every document")
    ingest.add_argument("--json", action="store_true", help="print one JSON object")
    ingest.set_defaults(fn=cmd_ingest)

    ask = sub.add_parser("ask", help="ask a question and print the answer with its citations")
    ask.add_argument("question")
    ask.add_argument("--tenant", default="default")
    ask.add_argument("--user", default="cli")
    ask.add_argument("--group", action="append", help="a group of the user (repeatable)")
    ask.add_argument("--clearance", default="internal", choices=["public", "internal", "confidential", "restricted"])
    ask.add_argument("--top-k", type=positive(int), default=None, help="passages to retrieve")
    ask.add_argument("--timeout", type=positive(float), default=None,
                     help="seconds to wait (default SWITCHBOARD_ASK_TIMEOUT_S)")
    ask.add_argument("--deadline", type=positive(float), default=None,
                     help="seconds the task may take (default: --timeout)")
    ask.add_argument("--schema", metavar="FILE", help="a JSON Schema the answer must follow (the answer is JSON)")
    ask.add_argument("--token", help="a signed principal token (`switchboard token issue`); its principal is used")
    ask.add_argument("--json", action="store_true", help="print one JSON object: task_id, status, answer, citations, "
                     "usage, and why (rejection, degraded, unfinished) where it applies")
    ask.set_defaults(fn=cmd_ask)

    cancel = sub.add_parser("cancel", help="cancel a running task; it completes as cancelled")
    cancel.add_argument("task_id")
    cancel.add_argument("--tenant", default="default")
    cancel.add_argument("--user", default="cli")
    cancel.add_argument("--reason", help="recorded with the request")
    cancel.add_argument("--json", action="store_true", help="print one JSON object: task_id, status")
    cancel.set_defaults(fn=cmd_cancel, group=None, clearance="internal")

    demo = sub.add_parser("demo", help="start everything, ingest a sample corpus, ask questions, stop")
    demo.add_argument("--json", action="store_true", help="print one JSON object per answer")
    demo.set_defaults(fn=cmd_demo)

    from mesh import settings_doc
    from mesh.cli import asyncapi, dlq, observe, redis_cmd

    dlq.register(sub)
    redis_cmd.register(sub)
    observe.register(sub)
    settings_doc.register(sub)
    asyncapi.register(sub)

    from importlib.metadata import entry_points

    for ep in entry_points(group="switchboard.commands"):  # commands that packages above mesh/ contribute
        ep.load()(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings()
    except Exception as err:  # pydantic's ValidationError, pydantic-settings' SettingsError
        from mesh.cli.errors import settings_error

        _say(settings_error(err))
        return 2
    if args.command != "agent":
        from mesh.observe.logs import configure_logging

        configure_logging("warning", settings.log_json)
    try:
        return args.fn(args, settings)
    except (Exception, KeyboardInterrupt) as err:
        from mesh.cli.errors import explain

        known = explain(err, settings)
        if known is None:
            raise  # a bug: its traceback is what a report needs
        if known[0]:
            _say(known[0])
        return known[1]


if __name__ == "__main__":
    sys.exit(main())
