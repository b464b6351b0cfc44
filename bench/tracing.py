"""What tracing costs: the same load through the mesh with tracing off and on, side by side.

    python -m bench.tracing [--tasks 300] [--concurrency 8] [--rounds 2] [--json]

Each round starts the embedded stack and every agent twice, once with ``trace_exporter=none``
and once exporting every span (``trace_sample=1``) over OTLP/HTTP to a collector this benchmark
runs (it accepts and counts what it is sent), ingests the sample corpus, warms up, then keeps
``--concurrency`` tasks in flight until ``--tasks`` are answered. Rounds alternate the order
(off/on, then on/off) so drift in the machine does not favour either. Reported per mode:
throughput (tasks/s) and end-to-end latency (p50, p95, p99, submission to result), and the
ratios on/off; the spans the collector received show the tracing was really on.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bench.common import machine, machine_line, main_of, percentile_ms, table
from infra.ports import free_port
from mesh.client import Client, parse_documents
from mesh.io.bus import Tail
from mesh.ops.stack import Mesh
from mesh.settings import Settings
from mesh.wire.topics import Topics
from schemas.models import Principal

SAMPLE = Path(__file__).resolve().parent.parent / "infra" / "sample" / "corpus.jsonl"
QUESTIONS = ["How long are audit logs retained?", "What happens when a circuit breaker opens?",
             "Which regions does the payments service run in?", "How do I rotate an API key?"]


class Collector:
    """An OTLP/HTTP endpoint that accepts every export and counts requests and bytes."""

    def __init__(self) -> None:
        counts = self.counts = {"requests": 0, "bytes": 0}

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                counts["requests"] += 1
                counts["bytes"] += len(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}/v1/traces"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()


def _load(settings: Settings, tasks: int, concurrency: int) -> tuple[float, list[float]]:
    """Keep ``concurrency`` tasks in flight until ``tasks`` are answered; (seconds, latencies)."""
    client = Client(settings.model_copy(update={"trace_exporter": "none"}))  # the agents' tracing is measured
    tail = Tail(settings, Topics(settings.topic_prefix).name("tasks.completed"))
    who = Principal(tenant_id="acme", user_id="bench", groups=["eng"])
    sent: dict[bytes, float] = {}
    latencies: list[float] = []
    started, submitted = time.perf_counter(), 0
    try:
        while len(latencies) < tasks:
            while submitted < tasks and len(sent) < concurrency:
                task = client.submit(QUESTIONS[submitted % len(QUESTIONS)], who)
                sent[task.envelope.task_id.encode()] = time.perf_counter()
                submitted += 1
            for msg in tail.messages(0.05):
                at = sent.pop(msg.key(), None)
                if at is not None:
                    latencies.append(time.perf_counter() - at)
            if time.perf_counter() - started > 60 + tasks:
                raise RuntimeError(f"only {len(latencies)} of {tasks} tasks answered; see the agents' logs")
    finally:
        tail.close()
    return time.perf_counter() - started, latencies


def _mode(traced: bool, args, collector: Collector, run_dir: Path) -> dict:
    run = os.urandom(3).hex()
    settings = Settings(bootstrap_servers=f"127.0.0.1:{free_port()}", redis_url=f"redis://127.0.0.1:{free_port()}/0",
                        run_dir=run_dir / run, topic_prefix=f"tb{run}.", key_prefix=f"tb{run}:", log_level="warning",
                        trace_exporter="otlp" if traced else "none", trace_sample=1.0, otlp_endpoint=collector.url)
    mesh = Mesh(settings)
    mesh.start(timeout_s=240)
    try:
        docs, _ = parse_documents(SAMPLE.read_text().splitlines(), "acme")
        client = Client(settings)
        client.ingest(docs)
        client.wait_stored(docs, 240)
        _load(settings, args.warmup, args.concurrency)
        before = dict(collector.counts)
        seconds, lat = _load(settings, args.tasks, args.concurrency)
        time.sleep(1.5)  # the exporters' last batches
        return {"mode": "on" if traced else "off", "tasks": args.tasks, "seconds": round(seconds, 2),
                "tasks_per_s": round(args.tasks / seconds, 2), "p50_ms": percentile_ms(lat, 50),
                "p95_ms": percentile_ms(lat, 95), "p99_ms": percentile_ms(lat, 99),
                "exports": collector.counts["requests"] - before["requests"],
                "export_kib": round((collector.counts["bytes"] - before["bytes"]) / 1024, 1)}
    finally:
        mesh.stop()


def _merge(rows: list[dict], mode: str) -> dict:
    mine = [r for r in rows if r["mode"] == mode]
    seconds = sum(r["seconds"] for r in mine)
    tasks = sum(r["tasks"] for r in mine)
    avg = lambda k: round(sum(r[k] for r in mine) / len(mine), 2)  # noqa: E731
    return {"mode": mode, "tasks": tasks, "tasks_per_s": round(tasks / seconds, 2), "p50_ms": avg("p50_ms"),
            "p95_ms": avg("p95_ms"), "p99_ms": avg("p99_ms"), "exports": sum(r["exports"] for r in mine),
            "export_kib": round(sum(r["export_kib"] for r in mine), 1)}


def run(args) -> dict:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    collector, rounds = Collector(), []
    try:
        with tempfile.TemporaryDirectory(prefix="bench-tracing-") as tmp:
            for i in range(args.rounds):
                for traced in ((False, True) if i % 2 == 0 else (True, False)):
                    rounds.append(_mode(traced, args, collector, Path(tmp)))
    finally:
        collector.stop()
    off, on = _merge(rounds, "off"), _merge(rounds, "on")
    ratios = {"throughput_on_over_off": round(on["tasks_per_s"] / off["tasks_per_s"], 3),
              "p50_on_over_off": round(on["p50_ms"] / off["p50_ms"], 3),
              "p99_on_over_off": round(on["p99_ms"] / off["p99_ms"], 3)}
    return {"machine": machine(), "concurrency": args.concurrency, "rounds": rounds, "modes": [off, on],
            "ratios": ratios}


def render(report: dict) -> str:
    r = report["ratios"]
    cols = ["mode", "tasks", "tasks_per_s", "p50_ms", "p95_ms", "p99_ms", "exports", "export_kib"]
    return (f"tracing overhead: {report['concurrency']} tasks in flight, every span exported over OTLP/HTTP; "
            f"{machine_line(report['machine'])}\n" + table(report["modes"], cols) +
            f"\nratios on/off: throughput {r['throughput_on_over_off']}, p50 latency {r['p50_on_over_off']}, "
            f"p99 latency {r['p99_on_over_off']}\n\nrounds:\n" + table(report["rounds"], cols))


def _arguments(p) -> None:
    p.add_argument("--tasks", type=int, default=300, help="measured tasks per mode and round (default 300)")
    p.add_argument("--warmup", type=int, default=30, help="tasks before measuring (default 30)")
    p.add_argument("--concurrency", type=int, default=8, help="tasks in flight (default 8)")
    p.add_argument("--rounds", type=int, default=2, help="rounds of off+on, alternating the order (default 2)")


main = main_of("bench.tracing", __doc__, _arguments, run, render)

if __name__ == "__main__":
    raise SystemExit(main())
