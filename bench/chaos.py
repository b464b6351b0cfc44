"""The chaos suite: the mesh with several replicas of every agent, under faults.

    python -m bench.chaos [--tasks 1000] [--replicas 2] [--scenarios kill,endpoint,redis,malformed,index] [--json]
    python -m bench.chaos --broker kafka --scenarios broker,controller [--replicas 1]
    python -m bench.chaos --scenarios primary --model-delay 1 --rate 20

Starts the embedded stack (Redis with its append-only file on), every agent ``--replicas``
times, and a test model endpoint over HTTP, ingests the sample corpus, then for each scenario
submits a load of tasks while a fault is injected:

- ``kill``: SIGKILL of a random agent replica (any kind, the index agent too) every few seconds,
  each restarted after a delay, for the whole run;
- ``endpoint``: the model endpoint answers 30% of calls with HTTP 500, lets 10% time out,
  truncates 5% at the length limit and stalls 2% for seconds;
- ``redis``: redis-server restarted mid-run (append-only file on);
- ``malformed``: ``--malformed`` malformed messages (random bytes, truncated Avro, a record of
  the wrong schema, huge payloads) mixed into the agents' input topics;
- ``index``: both index agents stopped for a while, then started again;
- ``broker`` (Apache Kafka, three nodes): SIGKILL of the node leading the most partitions of the
  mesh's topics, restarted on its storage after a few seconds;
- ``controller`` (the same): SIGKILL of the active KRaft controller, restarted the same way;
- ``primary`` (Redis under Sentinel): SIGKILL of the Redis primary; the sentinels promote its
  replica, and the killed node comes back a few seconds later as the new primary's replica.

``broker`` and ``controller`` run the mesh on a three-node Kafka cluster (``--broker kafka``), its
topics replicated three times with min.insync.replicas=2 (``bench.broker_faults``). With
``primary`` the mesh's state is on the embedded Sentinel set (a primary, a replica, three
sentinels), critical writes waiting for the replica (``bench.redis_faults``).

Each fault starts after a warm-up (a baseline rate) and ends when the dependency is whole again:
killed replicas all restarted and ready, the endpoint healthy, Redis answering, the index agents
ready, the last malformed message dead-lettered, or the Kafka node back with every partition's
replicas in sync.

Each row says: tasks submitted and completed, lost (no result), duplicated results on
``tasks.completed`` (a second result with another event id; a replayed identical record is
counted apart, as consumers drop it by event id), model calls generated twice for one step
(counted by the endpoint, by the ``Idempotency-Key`` each call carries), calls the endpoint
answered from its idempotency cache instead (a replica killed after the call went out, before it
recorded the answer: the endpoint is a gateway honouring ``Idempotency-Key``, the only place that
case can be caught), answers marked degraded (and how many of those outside the fault and a
grace of breaker reset + index timeout + 5 s), malformed messages that reached a dead-letter
topic with their reason, the seconds from the end of the fault until completions were back to
80% of their rate before it, and the longest wait for a completion during the fault (``stall_s``).
A cluster fault adds the node it killed, the seconds until that node was fenced and its partitions
led by the others (``failover_s``), and from its restart until its replicas were in sync again
(``rejoin_s``); a Redis primary struck adds the same for its node (``redis_node``). ``overspend_tokens``:
tokens the endpoint billed (each answered Idempotency-Key once) beyond what the mesh charged the
tenant's budget, which a lost reservation or settlement would show.
"""

from __future__ import annotations

import os
import random
import signal
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path

from bench import broker_faults, redis_faults
from bench.common import machine, machine_line, main_of, table
from infra.ports import free_port
from mesh.client import Client, parse_documents
from mesh.endpoints import Endpoint
from mesh.errors import BrokerUnavailable
from mesh.io.bus import Publisher, Tail, read_all
from mesh.ops.stack import Mesh
from mesh.retry import RetryPolicy
from mesh.security.sealing import codec_for
from mesh.settings import Settings
from mesh.wire.envelope import new_envelope
from mesh.wire.topics import Topics, dlq_of
from schemas.models import Principal, TaskCompleted, TaskStatus, TokenUsage, Usage
from tests.integration.model_server import ModelServer

SCENARIOS = ("kill", "endpoint", "redis", "malformed", "index", "broker", "controller", "primary")
#: the scenarios that strike a node of a three-node Kafka cluster
CLUSTER_SCENARIOS = ("broker", "controller")
QUESTIONS = ["How long are audit logs retained?", "What happens when a circuit breaker opens?",
             "Which regions does the payments service run in?", "How do I rotate an API key?",
             "What is the on-call escalation policy?", "How long are audit logs kept in cold storage?"]
INPUTS = ["tasks.submitted", "tasks.cancel", "steps.retrieve", "steps.execute", "steps.validate", "steps.done",
          "index.queries", "index.results", "docs.ingest", "audit.events"]
SAMPLE = Path(__file__).resolve().parent.parent / "infra" / "sample" / "corpus.jsonl"


class Results(threading.Thread):
    """Every result on tasks.completed, as it arrives: task id -> [(event id, status, degraded, time)]."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(daemon=True)
        self._tail = Tail(settings, Topics(settings.topic_prefix).name("tasks.completed"))
        self._codec, self.seen, self._halt = codec_for(settings), defaultdict(list), threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                for msg in self._tail.messages(0.5):
                    r = self._codec.decode(msg.value())
                    if isinstance(r, TaskCompleted):
                        self.seen[r.envelope.task_id].append((r.envelope.event_id, r.status, r.degraded or "",
                                                              time.time()))
            except BrokerUnavailable:  # a Kafka node down: the consumer reports it, and goes on reading
                time.sleep(0.2)

    def close(self) -> None:
        self._halt.set()
        self.join(5)
        self._tail.close()


def _malformed(n: int, settings: Settings, tag: str, rng: random.Random) -> dict[bytes, str]:
    """Publish ``n`` bad messages across the input topics; returns their keys (and topics)."""
    codec, topics, pub, sent = codec_for(settings), Topics(settings.topic_prefix), Publisher(settings), {}
    wrong = codec.encode(TokenUsage(envelope=new_envelope("chaos", "usage"), user_id="u", endpoint="e",
                                    usage=Usage(model="m")))
    for i in range(n):
        kind = ("random", "truncated", "wrong_schema", "huge")[i % 4 if i % 100 else 3]
        body = {"random": lambda: rng.randbytes(rng.randint(1, 400)), "truncated": lambda: wrong[: rng.randint(1, 20)],
                "wrong_schema": lambda: wrong, "huge": lambda: b"\x00" + rng.randbytes(256 * 1024)}[kind]()
        topic = topics.name(INPUTS[i % len(INPUTS)])
        key = f"chaos-{tag}-{kind}-{i}".encode()
        pub.send(topic, key, body)
        sent[key] = topic
        if i % 500 == 499:
            pub.flush()
    pub.flush()
    return sent


class Chaos:
    """``broker``: kafka or tansu (None: as the settings resolve it); ``kafka_nodes``: 3 for the cluster
    scenarios, the mesh's topics then replicated three times."""

    def __init__(self, replicas: int, run_dir: Path, broker: str | None = None, kafka_nodes: int = 1,
                 sentinel: bool = False, model_delay_s: float = 0.0, redis_wait: int = 1) -> None:
        self.llm = ModelServer(idempotent=True).start()  # a gateway honouring Idempotency-Key
        endpoint = Endpoint(name="chaos", base_url=self.llm.base_url, model="chaos-model", capabilities=("answer",),
                            timeout_s=1.0 + model_delay_s, concurrency=32)
        run = uuid.uuid4().hex[:6]
        cluster = {"broker": broker} if broker else {}
        if kafka_nodes > 1:
            cluster.update(broker="kafka", kafka_nodes=kafka_nodes, replication_factor=min(3, kafka_nodes))
        state = dict(redis_url=redis_faults.sentinel_url([free_port() for _ in range(3)]), redis_wait_replicas=redis_wait) \
            if sentinel else dict(redis_url=f"redis://127.0.0.1:{free_port()}/0")
        self.settings = Settings(bootstrap_servers=",".join(f"127.0.0.1:{free_port()}" for _ in range(kafka_nodes)),
                                 **state, run_dir=run_dir,
                                 topic_prefix=f"chaos{run}.", key_prefix=f"chaos{run}:", partitions=4,
                                 redis_appendonly=True, endpoints=(endpoint,), breaker_failures=5,
                                 breaker_reset_s=3.0, index_timeout_ms=1500, task_deadline_s=600,
                                 retry={"default": RetryPolicy(attempts=8, initial_s=0.1, multiplier=2.0, cap_s=3.0)},
                                 log_level="warning", **cluster)
        self.mesh = Mesh(self.settings)
        self.replicas = replicas
        self.struck: dict = {}  # the Kafka node the last cluster fault killed, and its failover's phases
        self.node_down_s = 5.0  # how long a killed Kafka node stays down once fenced

    def start(self) -> None:
        self.mesh.start(timeout_s=240)
        for name in self.mesh.agents:
            for r in range(1, self.replicas):
                self.mesh.start_agent(name, r)
        self.mesh.wait_ready(self.mesh.agents, 240)
        docs, _ = parse_documents(SAMPLE.read_text().splitlines(), "acme")
        client = Client(self.settings)
        client.ingest(docs)
        client.wait_stored(docs, 240)

    def stop(self) -> None:
        self.mesh.stop()
        self.llm.stop()

    # --- faults --------------------------------------------------------------------------------

    def _restart(self, label: str) -> None:
        name, _, replica = label.partition("-")
        self.mesh.start_agent(name, int(replica or 0))

    def kill(self, running: threading.Event, rng: random.Random) -> None:
        while running.is_set():
            time.sleep(rng.uniform(2.0, 4.0))
            label = rng.choice(sorted(self.mesh.workers))
            self.mesh.workers[label].process.send_signal(signal.SIGKILL)
            self.mesh.workers[label].process.wait(10)
            time.sleep(rng.uniform(1.0, 3.0))
            self._restart(label)
        self.mesh.wait_ready(self.mesh.agents, 240)  # the fault lasts until every replica is back

    def endpoint(self, running: threading.Event, rng: random.Random) -> None:
        self.llm.faults(error=0.30, timeout=0.10, truncate=0.05, stall=0.02, timeout_s=2.0, stall_s=3.0,
                        seed=rng.randint(0, 1 << 30))
        running.wait_done()  # type: ignore[attr-defined]
        self.llm.faults()

    def redis(self, running: threading.Event, rng: random.Random) -> None:
        from mesh.ops.stack import start_redis

        child = next(c for c in self.mesh.stack if c.name == "redis")
        child.process.send_signal(signal.SIGTERM)  # a restart: it writes its append-only file and exits
        child.process.wait(30)
        time.sleep(2.0)
        self.mesh.stack = [c for c in self.mesh.stack if c is not child] + [start_redis(self.settings,
                                                                                       self.mesh.log_dir)]

    def index(self, running: threading.Event, rng: random.Random) -> None:
        down = [label for label in self.mesh.workers if label.split("-")[0] == "index"]
        for label in down:
            self.mesh.workers[label].process.send_signal(signal.SIGTERM)
        for label in down:
            self.mesh.workers[label].process.wait(30)
        time.sleep(8.0)
        for label in down:
            self._restart(label)
        self.mesh.wait_ready(["index"], 240)

    def broker(self, running: threading.Event, rng: random.Random) -> None:
        self._bounce(broker_faults.busiest_leader(self.settings))

    def controller(self, running: threading.Event, rng: random.Random) -> None:
        self._bounce(broker_faults.active_controller(self.settings))

    def primary(self, running: threading.Event, rng: random.Random) -> None:
        self.struck = redis_faults.kill_primary(self.mesh)

    def _bounce(self, node_id: int) -> None:
        """A Kafka node SIGKILLed, down until fenced and ``node_down_s`` more, restarted; the fault lasts until its
        replicas are in sync again."""
        self.struck = {"kafka_node": node_id}
        self.struck.update(broker_faults.bounce(self.mesh, node_id, down_s=self.node_down_s))

    # --- one scenario ----------------------------------------------------------------------------

    def scenario(self, name: str, tasks: int, malformed: int, rate: float, seed: int,
                 model_delay_s: float = 0.0) -> dict:
        """Tasks at ``rate`` while fault ``name`` strikes; ``model_delay_s``: every model call takes that long,
        so each executor holds a full window of steps in flight when the fault strikes."""
        if model_delay_s:
            self.llm.faults(stall=1.0, stall_s=model_delay_s)
        try:
            return self._scenario(name, tasks, malformed, rate, seed)
        finally:
            if model_delay_s:
                self.llm.faults()

    def _scenario(self, name: str, tasks: int, malformed: int, rate: float, seed: int) -> dict:
        rng = random.Random(seed)
        self.struck = {}
        results = Results(self.settings)
        results.start()
        client = Client(self.settings)
        calls_before, charged_before = len(self.llm.calls), redis_faults.charged_tokens(self.settings, "acme")
        running = _Phase()
        fault_window: list[float] = []

        warmup = min(10.0, tasks / rate * 0.2)  # a baseline rate first, to measure recovery against

        def fault() -> None:
            time.sleep(warmup)
            fault_window.append(time.time())
            if name == "malformed":
                bad.update(_malformed(malformed, self.settings, f"{name}{seed}", rng))
            else:
                getattr(self, name)(running, rng)
            fault_window.append(time.time())

        bad: dict[bytes, str] = {}
        injector = threading.Thread(target=fault, daemon=True)
        submitted: dict[str, float] = {}
        started = time.time()
        injector.start()
        for i in range(tasks):
            q = QUESTIONS[i % len(QUESTIONS)]
            task = client.submit(q, Principal(tenant_id="acme", user_id=f"u{i % 7}", groups=["eng"]))
            submitted[task.envelope.task_id] = time.time()
            pause = started + (i + 1) / rate - time.time()
            if pause > 0:
                time.sleep(pause)
        running.finish()
        injector.join(600)
        deadline = time.time() + 300
        while time.time() < deadline and any(t not in results.seen for t in submitted):
            time.sleep(0.5)
        time.sleep(2.0)  # late duplicates, if any
        results.close()
        mine = {t: results.seen.get(t, []) for t in submitted}
        firsts = [v[0] for v in mine.values() if v]
        dup_results = sum(len({e for e, *_ in v}) - 1 for v in mine.values() if v)
        replays = sum(len(v) - len({e for e, *_ in v}) for v in mine.values() if v)
        degraded = [f for f in firsts if f[1] is TaskStatus.degraded or f[2]]
        dead, drained = self._dead_lettered(bad) if bad else (0, None)
        fault_start, fault_end = (fault_window + [time.time(), time.time()])[:2]
        fault_end = max(fault_end, drained or 0.0)  # a flood lasts until the agents have dead-lettered all of it
        grace = self.settings.breaker_reset_s + self.settings.index_timeout_ms / 1000 + 5
        degraded_outside = [f for f in degraded if not (fault_start - 1 <= f[3] <= fault_end + grace)]
        calls = self.llm.calls[calls_before:]
        answered = Counter(c.idempotency_key for c in calls
                           if c.behaviour in ("ok", "slow") and c.status == 200 and c.idempotency_key)
        billed = _billed(calls)
        charged = redis_faults.charged_tokens(self.settings, "acme") - charged_before
        return {"scenario": name, "submitted": len(submitted), "completed": len(firsts),
                "lost": len(submitted) - len(firsts), "duplicate_results": dup_results, "replayed_records": replays,
                "duplicate_model_calls": sum(n - 1 for n in answered.values() if n > 1),
                "model_calls": len(calls), "endpoint_replays": sum(c.behaviour == "replayed" for c in calls),
                "billed_tokens": billed, "charged_tokens": charged, "overspend_tokens": max(0, billed - charged),
                "overcharged_tokens": max(0, charged - billed),
                "degraded": len(degraded),
                "degraded_without_fault": len(degraded_outside), "malformed": len(bad), "dead_lettered": dead,
                "recover_s": _recovery(sorted(f[3] for f in firsts), fault_start, fault_end),
                "statuses": dict(Counter(f[1].value for f in firsts)), "seconds": round(time.time() - started, 1),
                "fault_s": round(fault_end - fault_start, 1), **self.struck,
                "stall_s": _stall(sorted(f[3] for f in firsts), fault_start, fault_end),
                "lost_task_ids": sorted(t for t, v in mine.items() if not v)[:20],
                "degraded_reasons": dict(Counter(f[2][:80] for f in degraded).most_common(5))}

    def _dead_lettered(self, bad: dict[bytes, str]) -> tuple[int, float | None]:
        """How many of ``bad`` are on a dead-letter topic with a reason, and when the last one got there."""
        codec, found, last = codec_for(self.settings), set(), None
        for topic in sorted(set(bad.values())):
            for msg in read_all(self.settings, dlq_of(topic), idle_s=1.0, timeout_s=120):
                if msg.key() in bad:
                    letter = codec.decode(msg.value())
                    if letter.reason:
                        found.add(msg.key())
                        last = max(last or 0.0, letter.failed_at.timestamp())
        return len(found), last


class _Phase(threading.Event):
    """Set while tasks are being submitted; ``wait_done`` blocks until they all are."""

    def __init__(self) -> None:
        super().__init__()
        self.set()
        self._done = threading.Event()

    def finish(self) -> None:
        self.clear()
        self._done.set()

    def wait_done(self) -> None:
        self._done.wait()


def _billed(calls: list) -> int:
    """Tokens the endpoint billed: each answered call once (a gateway bills a replayed Idempotency-Key once)."""
    first: dict[str, int] = {}
    for c in calls:
        if c.status == 200 and c.behaviour in ("ok", "slow") and c.idempotency_key and c.prompt_tokens is not None:
            first.setdefault(c.idempotency_key, c.prompt_tokens + (c.completion_tokens or 0))
    return sum(first.values())


def _recovery(times: list[float], fault_start: float, fault_end: float) -> float | None:
    """Seconds after the fault's end until completions per second were back to 80% of the rate before it."""
    before = [t for t in times if t < fault_start]
    if len(before) < 5 or not times:
        return None
    rate = len(before) / max(1.0, fault_start - before[0])
    t = fault_end
    while t < times[-1]:
        if sum(1 for x in times if t <= x < t + 2.0) / 2.0 >= 0.8 * rate:
            return round(max(0.0, t - fault_end), 1)
        t += 0.5
    return round(max(0.0, times[-1] - fault_end), 1)  # the load ended before the rate was measurable again


def _stall(times: list[float], fault_start: float, fault_end: float) -> float:
    """The longest wait for the next completion that began while the fault lasted (at its start, or at a
    completion before its end): how long the fault held the mesh up at worst."""
    after = [t for t in times if t > fault_start]
    gaps = [b - a for a, b in zip([fault_start] + after, after) if a <= fault_end]
    return round(max(gaps, default=0.0), 1)


def _cluster_nodes(wanted: list[str], broker: str | None) -> int:
    """Kafka nodes the scenarios need: 3 for a cluster fault (refused unless the broker is Kafka), else 1."""
    if not set(wanted) & set(CLUSTER_SCENARIOS):
        return 1
    resolved = Settings(**({"broker": broker} if broker else {})).broker
    if resolved != "kafka":
        raise SystemExit(f"scenarios {', '.join(CLUSTER_SCENARIOS)} strike a node of a three-node Apache Kafka "
                         f"cluster; the broker here is {resolved} (one node): run them with --broker kafka")
    return 3


def run(args) -> dict:
    wanted = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = set(wanted) - set(SCENARIOS)
    if unknown:
        raise SystemExit(f"unknown scenarios {sorted(unknown)}; choose from {', '.join(SCENARIOS)}")
    nodes = _cluster_nodes(wanted, args.broker)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with tempfile.TemporaryDirectory(prefix="chaos-") as tmp:
        run_dir = Path(args.keep) if args.keep else Path(tmp)
        chaos = Chaos(args.replicas, run_dir, broker=args.broker, kafka_nodes=nodes, sentinel="primary" in wanted,
                      model_delay_s=args.model_delay, redis_wait=args.redis_wait)
        try:
            chaos.start()
            rows = [chaos.scenario(name, args.tasks if name == "kill" else args.tasks_per_fault, args.malformed,
                                   args.rate, seed=i, model_delay_s=args.model_delay) for i, name in enumerate(wanted)]
        finally:
            chaos.stop()
    return {"machine": machine(), "replicas": args.replicas, "rate_per_s": args.rate, "broker": chaos.settings.broker,
            "redis": chaos.settings.redis_target.mode, "redis_wait_replicas": chaos.settings.redis_wait_replicas,
            "model_delay_s": args.model_delay,
            "kafka_nodes": len(chaos.settings.broker_ports), "scenarios": rows}


def render(report: dict) -> str:
    cols = ["scenario", "submitted", "completed", "lost", "duplicate_results", "duplicate_model_calls",
            "endpoint_replays", "overspend_tokens", "overcharged_tokens", "degraded",
            "degraded_without_fault", "malformed", "dead_lettered", "recover_s", "seconds"]
    if any("kafka_node" in row for row in report["scenarios"]):  # a node struck: which, and its failover
        cols += ["kafka_node", "failover_s", "rejoin_s", "stall_s"]
    if any("redis_node" in row for row in report["scenarios"]):  # the Redis primary struck
        cols += ["redis_node", "failover_s", "rejoin_s", "stall_s"]
    broker, nodes = report.get("broker"), report.get("kafka_nodes", 1)
    if broker == "kafka":
        broker = f"kafka ({nodes} node{'s' if nodes != 1 else ''})"
    broker = f"{broker}, " if broker else ""
    replicas = f"{report['replicas']} replica{'s' if report['replicas'] != 1 else ''}"
    if report.get("redis") == "sentinel":
        broker += f"Redis under Sentinel (critical writes wait for {report['redis_wait_replicas']} replica), "
    if report.get("model_delay_s"):
        replicas += f" of every agent, a {report['model_delay_s']:g} s model"
    else:
        replicas += " of every agent"
    return (f"chaos: {broker}{replicas}, {report['rate_per_s']} tasks/s offered; "
            f"{machine_line(report['machine'])}\n" + table(report["scenarios"], cols))


def _arguments(p) -> None:
    p.add_argument("--tasks", type=int, default=1000, help="tasks in the kill scenario (default 1000)")
    p.add_argument("--tasks-per-fault", type=int, default=300, help="tasks in each other scenario (default 300)")
    p.add_argument("--replicas", type=int, default=2, help="replicas of every agent (default 2)")
    p.add_argument("--rate", type=float, default=10.0, help="tasks submitted per second (default 10)")
    p.add_argument("--malformed", type=int, default=10_000, help="malformed messages in that scenario")
    p.add_argument("--keep", metavar="DIR", help="run in DIR and keep it (agent logs), instead of a temporary one")
    p.add_argument("--scenarios", default=",".join(s for s in SCENARIOS if s not in CLUSTER_SCENARIOS),
                   help=f"comma-separated, of {', '.join(SCENARIOS)} (the last two need --broker kafka)")
    p.add_argument("--redis-wait", type=int, default=1, metavar="N", help="with primary: replicas a critical "
                   "write waits for (default 1; 0 shows what the wait guards against)")
    p.add_argument("--model-delay", type=float, default=0.0, metavar="S",
                   help="every model call takes S seconds, so executors hold full windows when a fault strikes")
    p.add_argument("--broker", choices=("kafka", "tansu"), help="the broker the mesh runs on (default: as the "
                   "settings resolve it); broker and controller run on three Kafka nodes")


main = main_of("bench.chaos", __doc__, _arguments, run, render)

if __name__ == "__main__":
    raise SystemExit(main())
