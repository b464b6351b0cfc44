"""The whole mesh under load: throughput, latency, where the time goes, and scaling with replicas.

    python -m bench.mesh [--replicas 1,2,4] [--rate 20] [--seconds 15] [--burst 300] [--json]

For each replica count it starts the embedded stack and every agent that many times, with the
built-in (extractive) model, ingests the sample corpus, warms up, then measures:

- steady: ``--rate`` tasks per second for ``--seconds`` (open loop): throughput and end-to-end
  latency (p50, p95, p99, submission to result);
- burst: ``--burst`` tasks submitted at once: throughput until the last result, and latency;
- idle, before those: the CPU of the whole mesh doing nothing for ``--idle`` seconds, the latency
  of the first task after that idle spell, and of one task right after the warm-up (the price of
  fetch waits that back off while idle, ``mesh.runtime.fetch_wait``).

Where the time goes comes from every worker's ``/metrics``: the mean time each agent spends
handling each message (``switchboard_step_seconds``, by agent and topic) along a task's path. The
rest of a task's end-to-end time is spent between stages (queueing, the broker, fetch waits).
The orchestration overhead of a task is its end-to-end time less the retrieval compute (the
retriever's and the index agent's handling) and the model call (the executor's handling), so
its percentiles are the end-to-end percentiles shifted by that compute. CPU seconds and resident
memory of each worker (and of the broker, Redis and the benchmark's own client) come from /proc,
with the CPU milliseconds each spends per task: on a machine that runs out of cores, their sum
is what bounds throughput. Scaling efficiency is burst throughput with N replicas
over N times the throughput with one.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from pathlib import Path

from bench.common import machine, machine_line, main_of, percentile_ms, table
from bench.workers import cpu_rss, handling, since
from mesh.client import Client, parse_documents
from mesh.io.bus import Tail
from mesh.ops.stack import Mesh
from mesh.settings import Settings
from mesh.wire.topics import Topics
from schemas.models import Principal
from tests.integration.conftest import free_port

SAMPLE = Path(__file__).resolve().parent.parent / "infra" / "sample" / "corpus.jsonl"
QUESTIONS = ["How long are audit logs retained?", "What happens when a circuit breaker opens?",
             "Which regions does the payments service run in?", "How do I rotate an API key?"]
#: a simple question's path: (agent, topic) of each hop, in order
PATH = [("planner", "tasks.submitted"), ("retriever", "steps.retrieve"), ("index", "index.queries"),
        ("retriever", "index.results"), ("executor", "steps.execute"), ("validator", "steps.validate"),
        ("planner", "steps.done")]
COMPUTE = {("retriever", "steps.retrieve"), ("index", "index.queries"), ("retriever", "index.results"),
           ("executor", "steps.execute")}


class Results(threading.Thread):
    """When each task's result arrived (by task id)."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(daemon=True)
        self._tail = Tail(settings, Topics(settings.topic_prefix).name("tasks.completed"))
        self.at: dict[bytes, float] = {}
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            for msg in self._tail.messages(0.2):
                self.at.setdefault(msg.key(), time.perf_counter())

    def close(self) -> None:
        self._halt.set()
        self.join(5)
        self._tail.close()


def _phase(client: Client, results: Results, tasks: int, rate: float | None) -> dict:
    who = Principal(tenant_id="acme", user_id="bench", groups=["eng"])
    sent: dict[bytes, float] = {}
    started = time.perf_counter()
    for i in range(tasks):
        task = client.submit(QUESTIONS[i % len(QUESTIONS)], who, flush=rate is not None)
        sent[task.envelope.task_id.encode()] = time.perf_counter()
        if rate:
            pause = started + (i + 1) / rate - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
    client.flush()
    deadline = time.perf_counter() + 120 + tasks / 5
    while any(k not in results.at for k in sent) and time.perf_counter() < deadline:
        time.sleep(0.05)
    done = {k: results.at[k] - t for k, t in sent.items() if k in results.at}
    last = max((results.at[k] for k in done), default=time.perf_counter())
    lat = list(done.values())
    return {"tasks": tasks, "completed": len(done), "tasks_per_s": round(len(done) / (last - started), 1),
            "p50_ms": percentile_ms(lat, 50), "p95_ms": percentile_ms(lat, 95), "p99_ms": percentile_ms(lat, 99),
            "_latencies": lat}


def _idle(client: Client, results: Results, procs: dict[str, int], settle_s: float, seconds: float) -> dict:
    """CPU of the whole mesh doing nothing for ``seconds`` (after ``settle_s`` of quiet), then one task's latency."""
    time.sleep(settle_s)
    before = sum(cpu_rss(pid)[0] for pid in procs.values())
    time.sleep(seconds)
    used = sum(cpu_rss(pid)[0] for pid in procs.values()) - before
    return {"idle_cpu_pct": round(100 * used / seconds, 1),
            "first_task_after_idle_ms": _phase(client, results, 1, rate=None)["p50_ms"]}


def _replicas(n: int, args, run_dir: Path) -> dict:
    run = os.urandom(3).hex()
    settings = Settings(bootstrap_servers=f"127.0.0.1:{free_port()}", redis_url=f"redis://127.0.0.1:{free_port()}/0",
                        run_dir=run_dir / run, topic_prefix=f"bm{run}.", key_prefix=f"bm{run}:", log_level="warning",
                        partitions=max(4, n))
    mesh = Mesh(settings)
    mesh.start(timeout_s=300)
    try:
        for name in mesh.agents:
            for r in range(1, n):
                mesh.start_agent(name, r)
        mesh.wait_ready(mesh.agents, 300)
        docs, _ = parse_documents(SAMPLE.read_text().splitlines(), "acme")
        client = Client(settings)
        client.ingest(docs)
        client.wait_stored(docs, 240)
        results = Results(settings)
        results.start()
        procs = {**{label: w.pid for label, w in mesh.workers.items()}, **{c.name: c.pid for c in mesh.stack},
                 "bench client": os.getpid()}
        mesh_procs = {label: pid for label, pid in procs.items() if label != "bench client"}
        idle = _idle(client, results, mesh_procs, settings.fetch_idle_after_s + 1, args.idle)
        _phase(client, results, args.warmup, rate=10.0)
        idle["hot_task_ms"] = _phase(client, results, 1, rate=None)["p50_ms"]  # consumers busy a moment ago
        handled_before = handling(settings)
        usage_before = {label: cpu_rss(pid) for label, pid in procs.items()}
        t0 = time.perf_counter()
        steady = _phase(client, results, int(args.rate * args.seconds), rate=args.rate)
        handled_after = handling(settings)  # the stage breakdown is the steady load's, as its latencies are
        burst = _phase(client, results, args.burst, rate=None)
        wall = time.perf_counter() - t0
        results.close()
        handled = since(handled_before, handled_after)
        workers, tasks = [], steady["completed"] + burst["completed"]
        for label, pid in sorted(procs.items()):
            cpu, rss = cpu_rss(pid)
            used = cpu - usage_before[label][0]
            workers.append({"worker": label, "cpu_s": round(used, 1), "cpu_pct": round(100 * used / wall, 1),
                            "cpu_ms_per_task": round(1000 * used / max(1, tasks), 2), "rss_mib": round(rss)})
        workers.append({"worker": "total", "cpu_s": round(sum(w["cpu_s"] for w in workers), 1),
                        "cpu_pct": round(sum(w["cpu_pct"] for w in workers), 1),
                        "cpu_ms_per_task": round(sum(w["cpu_ms_per_task"] for w in workers), 2),
                        "rss_mib": sum(w["rss_mib"] for w in workers)})
    finally:
        mesh.stop()
    def stage(a: str, t: str) -> dict:
        secs, n, trips = handled.get((a, t), (0.0, 0, 0.0))
        return {"stage": f"{a} {t}", "messages": n, "mean_ms": round(1000 * secs / n, 2) if n else None,
                "redis_trips": round(trips / n, 2) if n else None}
    stages = [stage(a, t) for a, t in PATH]
    in_stages = sum(s["mean_ms"] or 0.0 for s in stages)
    compute = sum(s["mean_ms"] or 0.0 for s, hop in zip(stages, PATH) if hop in COMPUTE)
    lat = steady.pop("_latencies")
    burst.pop("_latencies")
    overhead = [max(0.0, x - compute / 1000) for x in lat]
    return {"replicas": n, "idle": idle, "steady": steady, "burst": burst, "stages": stages,
            "in_stages_ms": round(in_stages, 2), "between_stages_ms": round(steady["p50_ms"] - in_stages, 2),
            "compute_ms": round(compute, 2), "redis_trips_per_task": round(sum(s["redis_trips"] or 0 for s in stages), 1),
            "overhead_p50_ms": percentile_ms(overhead, 50), "overhead_p99_ms": percentile_ms(overhead, 99),
            "workers": workers}


def run(args) -> dict:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    counts = [int(x) for x in args.replicas.split(",")]
    with tempfile.TemporaryDirectory(prefix="bench-mesh-") as tmp:
        rows = [_replicas(n, args, Path(tmp)) for n in counts]
    base = rows[0]["burst"]["tasks_per_s"] / rows[0]["replicas"]
    for r in rows:
        r["scaling_efficiency"] = round(r["burst"]["tasks_per_s"] / (r["replicas"] * base), 2) if base else None
    s = Settings()
    return {"machine": machine(), "rate": args.rate, "seconds": args.seconds, "burst": args.burst,
            "fetch_max_wait_ms": s.fetch_max_wait_ms, "fetch_idle_wait_ms": s.fetch_idle_wait_ms,
            "fetch_idle_after_s": s.fetch_idle_after_s, "runs": rows}


def render(report: dict) -> str:
    runs = report["runs"]
    load = [{"replicas": r["replicas"], "load": phase, **{k: r[phase][k] for k in
             ("tasks", "completed", "tasks_per_s", "p50_ms", "p95_ms", "p99_ms")},
             "overhead_p50_ms": r["overhead_p50_ms"] if phase == "steady" else "",
             "overhead_p99_ms": r["overhead_p99_ms"] if phase == "steady" else "",
             "scaling": r["scaling_efficiency"] if phase == "burst" else ""}
            for r in runs for phase in ("steady", "burst")]
    out = [f"mesh: built-in model, steady {report['rate']} tasks/s for {report['seconds']} s, burst of "
           f"{report['burst']}; {machine_line(report['machine'])}",
           table(load, ["replicas", "load", "tasks", "completed", "tasks_per_s", "p50_ms", "p95_ms", "p99_ms",
                        "overhead_p50_ms", "overhead_p99_ms", "scaling"])]
    out += ["\nidle (fetch waits back off after %s s without records, up to %s ms):" % (
                report.get("fetch_idle_after_s"), report.get("fetch_idle_wait_ms")),
            table([{"replicas": r["replicas"], **r["idle"]} for r in runs],
                  ["replicas", "idle_cpu_pct", "first_task_after_idle_ms", "hot_task_ms"])]
    first = runs[0]
    out += [f"\nwhere a task's time goes ({first['replicas']} replica(s); mean handling per message):",
            table(first["stages"], ["stage", "messages", "mean_ms", "redis_trips"]),
            f"in stages {first['in_stages_ms']} ms (retrieval and model compute {first['compute_ms']} ms); between "
            f"stages (queueing, broker, fetch waits) {first['between_stages_ms']} ms at the steady p50; "
            f"{first['redis_trips_per_task']} Redis round trips along the path",
            "\nworkers:"]
    for r in runs:
        out.append(f"{r['replicas']} replica(s):\n" + table(r["workers"], ["worker", "cpu_s", "cpu_pct", "cpu_ms_per_task", "rss_mib"]))
    return "\n".join(out)


def _arguments(p) -> None:
    p.add_argument("--replicas", default="1,2,4", help="replica counts of every agent, comma-separated")
    p.add_argument("--rate", type=float, default=20.0, help="steady load, tasks per second (default 20)")
    p.add_argument("--seconds", type=float, default=15.0, help="steady load duration (default 15)")
    p.add_argument("--burst", type=int, default=300, help="tasks submitted at once (default 300)")
    p.add_argument("--warmup", type=int, default=30, help="tasks before measuring (default 30)")
    p.add_argument("--idle", type=float, default=5.0, help="seconds the idle mesh's CPU is measured (default 5)")


main = main_of("bench.mesh", __doc__, _arguments, run, render)

if __name__ == "__main__":
    raise SystemExit(main())
