"""Client-side access to the bus with confluent-kafka: topics, publishing, awaiting results.

Used by the CLI, the tests and the benchmarks; agents use Faust (``mesh.runtime.faust_app``).
Every broker failure is translated into ``TransientError`` with a message that says what
to start or check.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, NewTopic

from mesh.errors import BrokerUnavailable, TransientError
from mesh.io.tls import confluent_tls
from mesh.settings import Settings
from mesh.wire.topics import Topics

__all__ = ["broker_ready", "require_broker", "ensure_topics", "Publisher", "Tail", "read_all"]


def _base(settings: Settings) -> dict:
    """What every confluent-kafka client here shares: the brokers, their TLS, a quiet logger."""
    return {"bootstrap.servers": settings.bootstrap_servers, "socket.connection.setup.timeout.ms": 3000,
            "log_level": 0, "logger": _quiet, **confluent_tls(settings)}


class _Quiet:
    def log(self, *args, **kwargs) -> None:
        pass

    def __getattr__(self, name):  # librdkafka calls .log / .info etc. on the logger it is given
        return lambda *a, **k: None


_quiet = _Quiet()


def broker_ready(settings: Settings, timeout_s: float = 5.0) -> bool:
    """True if the broker answers a metadata request within ``timeout_s``."""
    try:
        AdminClient(_base(settings)).list_topics(timeout=timeout_s)
        return True
    except KafkaException:
        return False


def require_broker(settings: Settings, timeout_s: float) -> None:
    """Raise a ``TransientError`` saying what to start if the broker does not answer."""
    if not broker_ready(settings, timeout_s):
        raise BrokerUnavailable(
            f"no Kafka broker answered at {settings.bootstrap_servers} within {timeout_s:.0f}s: "
            "start the stack with `switchboard up` (or `make demo`), or set SWITCHBOARD_BOOTSTRAP_SERVERS "
            "to a running cluster")


def ensure_topics(settings: Settings, timeout_s: float = 10.0) -> list[str]:
    """Create every topic of the mesh (dead-letter topics included) that does not exist yet, with its retention."""
    admin = AdminClient(_base(settings))
    wanted = Topics(settings.topic_prefix).all()
    existing = set(admin.list_topics(timeout=timeout_s).topics)
    retention = {"retention.ms": str(int(settings.retention_hours * 3600 * 1000))}
    new = [NewTopic(t, num_partitions=settings.partitions, replication_factor=settings.replication_factor,
                    config=retention) for t in wanted if t not in existing]
    for topic, fut in (admin.create_topics(new, operation_timeout=timeout_s).items() if new else []):
        try:
            fut.result(timeout=timeout_s)
        except KafkaException as err:
            if err.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise TransientError(f"could not create topic {topic}: {err}", code="topic_create_failed") from err
    _wait_for_metadata(admin, wanted, timeout_s)
    return [n.topic for n in new]


def _wait_for_metadata(admin: AdminClient, topics: list[str], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        known = admin.list_topics(timeout=timeout_s).topics
        if all(t in known and known[t].partitions for t in topics):
            return
        time.sleep(0.05)
    raise TransientError(f"topics not visible after {timeout_s:.0f}s", code="topic_create_failed")


class Publisher:
    """A producer that confirms every message; idempotent where the agents' producers are.

    On the embedded tansu an idempotent confluent producer waits 0.5-1 s for its producer id
    before the first send, which every `switchboard ask` would pay; duplicates a
    retry could cause are caught by the consumers' idempotency ledger either way.
    """

    def __init__(self, settings: Settings) -> None:
        self._producer = Producer({**_base(settings), "enable.idempotence": settings.idempotent_producers,
                                   "acks": "all", "linger.ms": 1})

    def send(self, topic: str, key: bytes | None, value: bytes | None, headers: dict[str, bytes] | None = None) -> None:
        self._producer.produce(topic, key=key, value=value, headers=list((headers or {}).items()))
        self._producer.poll(0)

    def flush(self, timeout_s: float = 10.0) -> None:
        left = self._producer.flush(timeout_s)
        if left:
            raise BrokerUnavailable(f"{left} messages not acknowledged by the broker within {timeout_s:.0f}s")


class Tail:
    """Reads topics from their current end, without joining a consumer group (no rebalance wait).

    Create it before publishing the request whose answer you wait for: it pins the end
    offsets at creation, so nothing produced afterwards is missed. ``topics`` is one name or
    several; with ``missing_ok`` topics that do not exist are left out instead of refused.
    """

    def __init__(self, settings: Settings, topics: str | Sequence[str], from_beginning: bool = False,
                 missing_ok: bool = False) -> None:
        names = [topics] if isinstance(topics, str) else list(topics)
        self._consumer = Consumer({**_base(settings), "group.id": "switchboard-tail", "enable.auto.commit": False,
                                   "fetch.wait.max.ms": settings.fetch_max_wait_ms, "auto.offset.reset": "earliest"})
        known = self._consumer.list_topics(timeout=settings.connect_timeout_s).topics if len(names) > 1 else \
            self._consumer.list_topics(names[0], timeout=settings.connect_timeout_s).topics
        parts = []
        for topic in names:
            meta = known.get(topic)
            if meta is None or meta.error is not None or not meta.partitions:
                if missing_ok:
                    continue
                raise TransientError(f"topic {topic} does not exist: start the mesh with `switchboard up`",
                                     code="topic_missing")
            for p in meta.partitions:
                low, high = self._consumer.get_watermark_offsets(TopicPartition(topic, p),
                                                                 timeout=settings.connect_timeout_s)
                parts.append(TopicPartition(topic, p, OFFSET_BEGINNING if from_beginning else high))
        self._consumer.assign(parts)

    def messages(self, timeout_s: float) -> Iterator:
        """Yield messages until ``timeout_s`` passes (``messages(idle)`` in a loop reads until idle)."""
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            msg = self._consumer.poll(min(left, 0.2))
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    continue
                raise BrokerUnavailable(f"consuming failed: {msg.error()}")
            yield msg

    def first(self, match: Callable, timeout_s: float):
        """The first message for which ``match(msg)`` is truthy, or None after ``timeout_s``."""
        for msg in self.messages(timeout_s):
            if match(msg):
                return msg
        return None

    def close(self) -> None:
        self._consumer.close()


def read_all(settings: Settings, topic: str | Sequence[str], idle_s: float = 1.0, timeout_s: float = 60.0,
             missing_ok: bool = False) -> list:
    """Every message on ``topic`` (or on several), in partition order: read until ``idle_s`` passes without one.

    Not bounded by the high watermark: tansu 0.6 reports a batch's base offset + 1 there, which
    undercounts a partition written in multi-record batches.
    """
    tail = Tail(settings, topic, from_beginning=True, missing_ok=missing_ok)
    out = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            batch = list(tail.messages(idle_s))
            if not batch:
                break
            out += batch
        return out
    finally:
        tail.close()
