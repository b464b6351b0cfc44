"""The whole mesh under load: throughput, latency, where the time goes, and scaling with replicas.

    python -m bench.mesh [--replicas 1,2,4] [--rate 20] [--seconds 15] [--burst 300] [--json]
    python -m bench.mesh --model-delay 1 [--replicas 1,2] [--burst 32,256] [--endpoint-concurrency 512]
    python -m bench.mesh --broker kafka,tansu ...
    python -m bench.mesh --redis-wait 0,1 --replicas 1 ...

For each broker (``--broker``: Apache Kafka, tansu, or both side by side in one run), each Redis
(``--redis-wait``: a list of replica counts, each a run on the embedded Sentinel set, a primary
and a replica, with critical writes waiting for that many replicas; a run is labelled
``<broker>+wait<N>``) and each replica count it starts the embedded stack and every agent that many times, with the built-in
(extractive) model, ingests the sample corpus, warms up, then measures:

- steady: ``--rate`` tasks per second for ``--seconds`` (open loop): throughput and end-to-end
  latency (p50, p95, p99, submission to result);
- burst: ``--burst`` tasks submitted at once (a comma list runs one burst of each size, one after
  the other): throughput until the last result, and latency;
- idle, before those: the CPU of the whole mesh doing nothing for ``--idle`` seconds, once every
  consumer has backed off as far as it goes (``fetch_deep_idle_after_s``), the latency of the first
  task after that idle spell, the p99 of the warm-up that follows it (``--warmup`` tasks at 10 per
  second: the seconds after an idle spell, when Apache Kafka's log appends can stall in the
  filesystem), and of one task right after the warm-up (the price of fetch waits that back off
  while idle, ``mesh.runtime.fetch_wait``). The steady load starts after the warm-up, so it
  measures a mesh in steady state.

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

With ``--model-delay S`` the mesh's only endpoint is a model server (``tests/integration/
model_server.py``, run inside this process) that answers every call after S seconds, with
``--endpoint-concurrency`` calls allowed at once (default 512: the endpoint is not the limit
unless asked), instead of the built-in model: what the mesh does while it waits on a slow
model. There is no steady phase; for each burst size (default 32 and 256), submitted at once,
it reports the time until the last answer, throughput, latency, how many tasks were answered,
the model calls made and how many were open at once (most and time-weighted mean, counted by
the server), CPU per task of every process and Redis round trips per task, each measured over
that burst alone; and the idle mesh as above. The model server's CPU is the bench client's.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from bench.common import machine, machine_line, main_of, percentile_ms, table
from bench.redis_faults import sentinel_url
from bench.workers import cpu_rss, handling, since
from infra.ports import free_port
from mesh.client import Client, parse_documents
from mesh.endpoints import Endpoint
from mesh.io.bus import Tail
from mesh.ops.stack import Mesh
from mesh.security.sealing import codec_for
from mesh.settings import Settings
from mesh.wire.topics import Topics
from schemas.models import Principal, TaskCompleted, TaskStatus

IDLE_COLUMNS = ["broker", "replicas", "idle_cpu_pct", "first_task_after_idle_ms", "after_idle_p99_ms", "hot_task_ms"]
SAMPLE = Path(__file__).resolve().parent.parent / "infra" / "sample" / "corpus.jsonl"
QUESTIONS = ["How long are audit logs retained?", "What happens when a circuit breaker opens?",
             "Which regions does the payments service run in?", "How do I rotate an API key?"]
#: a simple question's path: (agent, topic) of each hop, in order
PATH = [("planner", "tasks.submitted"), ("retriever", "steps.retrieve"), ("index", "index.queries"),
        ("retriever", "index.results"), ("executor", "steps.execute"), ("validator", "steps.validate"),
        ("planner", "steps.done")]
COMPUTE = {("retriever", "steps.retrieve"), ("index", "index.queries"), ("retriever", "index.results"),
           ("executor", "steps.execute")}
#: the settings that say how consumers wait on the broker, reported with each run
FETCH_WAITS = ("fetch_max_wait_ms", "fetch_idle_wait_ms", "fetch_idle_after_s", "fetch_deep_idle_wait_ms",
               "fetch_deep_idle_after_s")
#: the executor's window when Settings.windows does not set one (agents/executor.py)
EXECUTOR_WINDOW = 64


class Results(threading.Thread):
    """When each task's result arrived, and its status (by task id)."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(daemon=True)
        self._tail = Tail(settings, Topics(settings.topic_prefix).name("tasks.completed"))
        self._codec = codec_for(settings, need_key=False)
        self.at: dict[bytes, float] = {}
        self.status: dict[bytes, str] = {}
        self.why: dict[bytes, str] = {}  # of a result not plainly answered: its degraded note or rejection code
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            for msg in self._tail.messages(0.2):
                key = msg.key()
                if key in self.at:
                    continue
                at = time.perf_counter()
                try:
                    record = self._codec.decode(msg.value())
                except Exception as err:  # noqa: BLE001 - counted, not fatal: the task still came back
                    record, status = None, f"undecodable ({type(err).__name__})"
                else:
                    status = (str(getattr(record.status, "value", record.status))
                              if isinstance(record, TaskCompleted) else None)
                if record is None or status is not None:
                    self.status[key] = status
                    if record is not None and (record.degraded or record.rejection):
                        self.why[key] = record.degraded or f"{record.rejection.code}: {record.rejection.message}"
                    self.at[key] = at

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
    statuses = Counter(results.status[k] for k in done)
    why = Counter(results.why[k] for k in done if k in results.why)
    lat = list(done.values())
    return {"tasks": tasks, "completed": len(done), "answered": statuses.get(TaskStatus.answered.value, 0),
            "not_answered": {s: n for s, n in statuses.items() if s != TaskStatus.answered.value},
            "why": dict(why.most_common(5)),
            "last_answer_s": round(last - started, 2), "tasks_per_s": round(len(done) / (last - started), 1),
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


def _stages(handled) -> list[dict]:
    def stage(a: str, t: str) -> dict:
        secs, n, trips = handled.get((a, t), (0.0, 0, 0.0))
        return {"stage": f"{a} {t}", "messages": n, "mean_ms": round(1000 * secs / n, 2) if n else None,
                "redis_trips": round(trips / n, 2) if n else None}
    return [stage(a, t) for a, t in PATH]


def _workers(procs: dict[str, int], before: dict[str, tuple[float, float]], wall: float, tasks: int) -> list[dict]:
    """CPU each process used since ``before`` (per task of ``tasks``) and its memory now, plus a total row."""
    workers = []
    for label, pid in sorted(procs.items()):
        cpu, rss = cpu_rss(pid)
        used = cpu - before[label][0]
        workers.append({"worker": label, "cpu_s": round(used, 1), "cpu_pct": round(100 * used / wall, 1),
                        "cpu_ms_per_task": round(1000 * used / max(1, tasks), 2), "rss_mib": round(rss)})
    workers.append({"worker": "total", "cpu_s": round(sum(w["cpu_s"] for w in workers), 1),
                    "cpu_pct": round(sum(w["cpu_pct"] for w in workers), 1),
                    "cpu_ms_per_task": round(sum(w["cpu_ms_per_task"] for w in workers), 2),
                    "rss_mib": sum(w["rss_mib"] for w in workers)})
    return workers


def _slow_burst(size: int, client: Client, results: Results, settings: Settings, procs: dict[str, int],
                llm, delay: float, idle_pct: float) -> dict:
    """One burst of ``size`` tasks against the slow model, everything measured over it alone."""
    llm.reset()  # clears the open-call record (and the faults: set again)
    llm.faults(stall=1.0, stall_s=delay)
    calls_before = len(llm.calls)
    handled_before = handling(settings)
    usage_before = {label: cpu_rss(pid) for label, pid in procs.items()}
    t0 = time.perf_counter()
    burst = _phase(client, results, size, rate=None)
    time.sleep(0.5)  # what a task sets off after its answer (audit events, usage) belongs to it
    wall = time.perf_counter() - t0
    workers = _workers(procs, usage_before, wall, burst["completed"])
    handled = since(handled_before, handling(settings))
    most, mean = llm.open_calls()
    total = next(w for w in workers if w["worker"] == "total")
    burst.pop("_latencies")
    stages = _stages(handled)
    all_trips = sum(trips for _, _, trips in handled.values())
    return {"burst": size, **burst, "model_calls": len(llm.calls) - calls_before, "open_calls_max": most,
            "open_calls_mean": round(mean, 1),
            "cpu_ms_per_task": total["cpu_ms_per_task"],
            # less what the idle mesh would have spent over the same wall time (fetch polling)
            "cpu_ms_per_task_over_idle": round(total["cpu_ms_per_task"]
                                               - 10 * idle_pct * wall / max(1, burst["completed"]), 2),
            "redis_trips_per_task": round(sum(s["redis_trips"] or 0 for s in stages), 1),
            "redis_trips_all_per_task": round(all_trips / max(1, burst["completed"]), 1),
            "stages": stages, "workers": workers}


def _replicas(n: int, args, run_dir: Path, llm, broker: str, wait: int | None = None) -> dict:
    run = os.urandom(3).hex()
    extra = {"redis_url": f"redis://127.0.0.1:{free_port()}/0"}
    if wait is not None:  # the embedded Sentinel set; the run is labelled by its wait
        extra = {"redis_url": sentinel_url([free_port() for _ in range(3)]), "redis_wait_replicas": wait}
    if llm is not None:
        extra["endpoints"] = (Endpoint(name="slow", base_url=llm.base_url, model="slow-model", capabilities=("answer",),
                                       timeout_s=args.model_delay + 30, concurrency=args.endpoint_concurrency),)
        if args.executor_window:
            extra["windows"] = {"executor": args.executor_window}
    settings = Settings(bootstrap_servers=f"127.0.0.1:{free_port()}",
                        run_dir=run_dir / run, topic_prefix=f"bm{run}.", key_prefix=f"bm{run}:", log_level="warning",
                        partitions=max(4, n), broker=broker, **extra)
    waits = {k: getattr(settings, k) for k in FETCH_WAITS}
    broker = broker if wait is None else f"{broker}+wait{wait}"
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
        if llm is not None:
            llm.reset()
            llm.faults(stall=1.0, stall_s=args.model_delay)
        idle = _idle(client, results, mesh_procs, settings.fetch_deep_idle_after_s + 2, args.idle)
        warm = _phase(client, results, args.warmup, rate=10.0)
        idle["after_idle_p99_ms"] = warm["p99_ms"]  # the warm-up's own tail: the seconds after an idle spell
        idle["hot_task_ms"] = _phase(client, results, 1, rate=None)["p50_ms"]  # consumers busy a moment ago
        if llm is not None:
            bursts = [_slow_burst(size, client, results, settings, procs, llm, args.model_delay,
                                  idle["idle_cpu_pct"])
                      for size in args.bursts]
            results.close()
            return {"broker": broker, "replicas": n, "fetch": waits, "idle": idle, "bursts": bursts}
        handled_before = handling(settings)
        usage_before = {label: cpu_rss(pid) for label, pid in procs.items()}
        t0 = time.perf_counter()
        steady = _phase(client, results, int(args.rate * args.seconds), rate=args.rate)
        handled_after = handling(settings)  # the stage breakdown is the steady load's, as its latencies are
        bursts = [{"burst": size, **_phase(client, results, size, rate=None)} for size in args.bursts]
        wall = time.perf_counter() - t0
        results.close()
        handled = since(handled_before, handled_after)
        workers = _workers(procs, usage_before, wall, steady["completed"] + sum(b["completed"] for b in bursts))
    finally:
        mesh.stop()
    stages = _stages(handled)
    in_stages = sum(s["mean_ms"] or 0.0 for s in stages)
    compute = sum(s["mean_ms"] or 0.0 for s, hop in zip(stages, PATH) if hop in COMPUTE)
    lat = steady.pop("_latencies")
    for b in bursts:
        b.pop("_latencies")
    overhead = [max(0.0, x - compute / 1000) for x in lat]
    return {"broker": broker, "replicas": n, "fetch": waits, "idle": idle, "steady": steady, "bursts": bursts,
            "burst": bursts[-1], "stages": stages,
            "in_stages_ms": round(in_stages, 2), "between_stages_ms": round(steady["p50_ms"] - in_stages, 2),
            "compute_ms": round(compute, 2),
            "redis_trips_per_task": round(sum(s["redis_trips"] or 0 for s in stages), 1),
            "overhead_p50_ms": percentile_ms(overhead, 50), "overhead_p99_ms": percentile_ms(overhead, 99),
            "workers": workers}


def run(args) -> dict:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    counts = [int(x) for x in args.replicas.split(",")]
    slow = bool(args.model_delay)
    args.bursts = [int(x) for x in (args.burst or ("32,256" if slow else "300")).split(",")]
    llm = None
    if slow:
        from tests.integration.model_server import ModelServer

        llm = ModelServer().start()
        # ThreadingHTTPServer listens with a backlog of 5: a burst's connections, opened at once, would
        # overflow it and wait out SYN retransmits (a second or more), which no real model server does
        llm._httpd.socket.listen(1024)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-mesh-") as tmp:
            rows = [_replicas(n, args, Path(tmp), llm, broker, wait)
                    for broker in _brokers(args) for wait in _redis_waits(args) for n in counts]
    finally:
        if llm is not None:
            llm.stop()
    common = {"machine": machine(), "bursts": args.bursts}
    if slow:
        for i, size in enumerate(args.bursts):
            for r in rows:
                base_run = _first_of(rows, r["broker"])
                base = base_run["bursts"][i]["tasks_per_s"]
                b = r["bursts"][i]
                b["speedup"] = round(b["tasks_per_s"] / base, 2) if base else None
                b["scaling_efficiency"] = round(b["tasks_per_s"] / (r["replicas"] / base_run["replicas"] * base), 2) \
                    if base else None
        return {**common, "model": "model server", "model_delay_s": args.model_delay,
                "endpoint_concurrency": args.endpoint_concurrency,
                "executor_window": args.executor_window or EXECUTOR_WINDOW, "runs": rows}
    for r in rows:
        base_run = _first_of(rows, r["broker"])
        base = base_run["burst"]["tasks_per_s"] / base_run["replicas"]
        r["scaling_efficiency"] = round(r["burst"]["tasks_per_s"] / (r["replicas"] * base), 2) if base else None
    return {**common, "model": "built-in", "rate": args.rate, "seconds": args.seconds, "burst": args.bursts[-1],
            "runs": rows}


def _brokers(args) -> list[str]:
    return [b.strip() for b in args.broker.split(",") if b.strip()] if args.broker else [Settings().broker]


def _redis_waits(args) -> list[int | None]:
    """None: one Redis node; else each replica count a Sentinel-set run waits for."""
    return [int(w) for w in args.redis_wait.split(",")] if args.redis_wait else [None]


def _first_of(rows: list[dict], broker: str) -> dict:
    """The run of ``broker`` with the fewest replicas: what scaling is measured against."""
    return next(r for r in rows if r["broker"] == broker)


def _idle_heading(report: dict) -> str:
    waits = "; ".join(f"{r['broker']}: {r['fetch']['fetch_max_wait_ms']} ms, backing off after "
                      f"{r['fetch']['fetch_idle_after_s']} s without records up to {r['fetch']['fetch_idle_wait_ms']} "
                      f"ms, after {r['fetch']['fetch_deep_idle_after_s']} s up to "
                      f"{r['fetch']['fetch_deep_idle_wait_ms']} ms"
                      for r in {r["broker"]: r for r in report["runs"]}.values())
    return f"\nidle, measured after the longer back-off (fetch waits {waits}):"


def _label(run: dict) -> str:
    return f"{run['broker']}, {run['replicas']} replica(s)"


def _why_lines(phases: list[tuple[str, str, dict]]) -> list[str]:
    """Why results were not plainly answered (degraded notes, rejections), most common first, per phase."""
    notes = [f"  {n}, {name}: {count} x {why}" for n, name, p in phases for why, count in p["why"].items()]
    return ["not plainly answered, why (most common):", *notes] if notes else []


def _done(phase: dict) -> str:
    return f"{phase['completed']}/{phase['tasks']}"


def _others(phase: dict) -> str:
    """The completed tasks not answered, by status: ``no_answer:2``."""
    return " ".join(f"{k}:{v}" for k, v in sorted(phase["not_answered"].items())) or "-"


def _render_slow(report: dict) -> str:
    runs = report["runs"]
    several = len(runs) > 1
    rows = [{"broker": r["broker"], "replicas": r["replicas"], "burst": b["burst"], "completed": _done(b),
             "answered": b["answered"],
             "others": _others(b), "last_answer_s": b["last_answer_s"], "tasks_per_s": b["tasks_per_s"],
             "p50_ms": b["p50_ms"], "p99_ms": b["p99_ms"], "model_calls": b["model_calls"],
             "open_max": b["open_calls_max"], "open_mean": b["open_calls_mean"],
             "cpu_ms_per_task": b["cpu_ms_per_task"],
             "over_idle": b["cpu_ms_per_task_over_idle"], "redis_trips": b["redis_trips_per_task"],
             "redis_trips_all": b["redis_trips_all_per_task"],
             "speedup": b["speedup"] if several else ""}
            for r in runs for b in r["bursts"]]
    columns = ["broker", "replicas", "burst", "completed", "answered", "others", "last_answer_s", "tasks_per_s",
               "p50_ms", "p99_ms", "model_calls", "open_max", "open_mean", "cpu_ms_per_task", "over_idle",
               "redis_trips", "redis_trips_all"]
    out = [(f"mesh: model answering after {report['model_delay_s']} s (endpoint concurrency "
            f"{report['endpoint_concurrency']}, executor window {report['executor_window']}), bursts of "
            f"{','.join(map(str, report['bursts']))} tasks at once; {machine_line(report['machine'])}"),
           table(rows, columns + (["speedup"] if several else []))]
    trouble = [f"{_label(r)}, burst {b['burst']}: {b['completed']}/{b['tasks']} completed, "
               f"{b['model_calls']} model calls"
               for r in runs for b in r["bursts"] if b["completed"] != b["tasks"] or b["model_calls"] != b["tasks"]]
    if trouble:
        out += ["NOT every task completed with one model call:", *trouble]
    out += _why_lines([(_label(r), f"burst {b['burst']}", b) for r in runs for b in r["bursts"]])
    out += [("(open_max/open_mean: model calls open at once, most and time-weighted mean; cpu_ms_per_task: every "
             "process, over_idle: less the idle mesh's CPU over the same time; redis_trips: along a task's path, "
             "redis_trips_all: every agent's, per task)"),
            _idle_heading(report),
            table([{"broker": r["broker"], "replicas": r["replicas"], **r["idle"]} for r in runs],
                  IDLE_COLUMNS),
            "\nCPU ms per task, by process and burst (the bench client runs the model server):"]
    for r in runs:
        per = {}
        for b in r["bursts"]:
            for w in b["workers"]:
                row = per.setdefault(w["worker"], {"worker": w["worker"]})
                row[f"burst {b['burst']}"] = w["cpu_ms_per_task"]
                row["rss_mib"] = w["rss_mib"]
        cols = ["worker", *(f"burst {b['burst']}" for b in r["bursts"]), "rss_mib"]
        out.append(f"{_label(r)}:\n" + table(list(per.values()), cols))
    return "\n".join(out)


def render(report: dict) -> str:
    if report.get("model_delay_s"):
        return _render_slow(report)
    runs = report["runs"]
    load = [{"broker": r["broker"], "replicas": r["replicas"], "load": name, **{k: phase[k] for k in
             ("tasks", "tasks_per_s", "p50_ms", "p95_ms", "p99_ms")}, "completed": _done(phase),
             "answered": phase["answered"], "others": _others(phase),
             "overhead_p50_ms": r["overhead_p50_ms"] if name == "steady" else "",
             "overhead_p99_ms": r["overhead_p99_ms"] if name == "steady" else "",
             "scaling": r["scaling_efficiency"] if phase is r["burst"] else ""}
            for r in runs for name, phase in [("steady", r["steady"]),
                                              *((f"burst {b['burst']}", b) for b in r["bursts"])]]
    out = [(f"mesh: built-in model, steady {report['rate']} tasks/s for {report['seconds']} s, burst of "
            f"{','.join(map(str, report['bursts']))}; {machine_line(report['machine'])}"),
           table(load, ["broker", "replicas", "load", "completed", "answered", "others", "tasks_per_s", "p50_ms",
                        "p95_ms", "p99_ms", "overhead_p50_ms", "overhead_p99_ms", "scaling"])]
    out += _why_lines([(_label(r), name, p) for r in runs
                       for name, p in [("steady", r["steady"]), *((f"burst {b['burst']}", b) for b in r["bursts"])]])
    out += [_idle_heading(report),
            table([{"broker": r["broker"], "replicas": r["replicas"], **r["idle"]} for r in runs],
                  IDLE_COLUMNS)]
    for first in (_first_of(runs, b) for b in dict.fromkeys(r["broker"] for r in runs)):
        out += [f"\nwhere a task's time goes ({_label(first)}; mean handling per message):",
                table(first["stages"], ["stage", "messages", "mean_ms", "redis_trips"]),
                (f"in stages {first['in_stages_ms']} ms (retrieval and model compute {first['compute_ms']} ms); "
                 f"between stages (queueing, broker, fetch waits) {first['between_stages_ms']} ms at the steady "
                 f"p50; {first['redis_trips_per_task']} Redis round trips along the path")]
    out.append("\nworkers (steady and bursts together):")
    for r in runs:
        out.append(f"{_label(r)}:\n"
                   + table(r["workers"], ["worker", "cpu_s", "cpu_pct", "cpu_ms_per_task", "rss_mib"]))
    return "\n".join(out)


def _arguments(p) -> None:
    p.add_argument("--broker", default=None, help="kafka, tansu, or both comma-separated (side by side in one "
                   "run); default: the one the settings choose")
    p.add_argument("--redis-wait", default=None, metavar="N,...", help="run on the embedded Sentinel set (a "
                   "primary and a replica) once per count, critical writes waiting for that many replicas (0,1: "
                   "without and with the wait, side by side); default: one Redis node")
    p.add_argument("--replicas", default="1,2,4", help="replica counts of every agent, comma-separated")
    p.add_argument("--rate", type=float, default=20.0, help="steady load, tasks per second (default 20)")
    p.add_argument("--seconds", type=float, default=15.0, help="steady load duration (default 15)")
    p.add_argument("--burst", default=None, help="tasks submitted at once, a comma list for several bursts "
                   "(default 300; 32,256 with --model-delay)")
    p.add_argument("--warmup", type=int, default=100, help="tasks at 10/s after the idle phase, before the "
                   "steady load; their p99 is reported as after_idle_p99_ms (default 100)")
    p.add_argument("--idle", type=float, default=5.0, help="seconds the idle mesh's CPU is measured (default 5)")
    p.add_argument("--model-delay", type=float, default=0.0, metavar="S", help="the only endpoint is a model "
                   "server answering after S seconds instead of the built-in model; no steady phase")
    p.add_argument("--endpoint-concurrency", type=int, default=512, metavar="N",
                   help="calls the model server's endpoint allows at once (with --model-delay; default 512)")
    p.add_argument("--executor-window", type=int, default=0, metavar="N",
                   help="the executor's window (Settings.windows; with --model-delay; default: the agent's own, "
                   f"{EXECUTOR_WINDOW})")


main = main_of("bench.mesh", __doc__, _arguments, run, render)

if __name__ == "__main__":
    raise SystemExit(main())
