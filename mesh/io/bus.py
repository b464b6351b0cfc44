"""Client-side access to the bus with confluent-kafka: topics, publishing, awaiting results.

Used by the CLI, the tests and the benchmarks; agents use Faust (``mesh.runtime.faust_app``).
Every broker failure is translated into ``TransientError`` with a message that says what
to start or check, and a refused SASL login into ``InvalidInput`` naming the settings; a
message over ``max_message_bytes`` is refused before it is sent (``MessageTooLarge``), and
one the broker refuses after all is reported by ``flush``.
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

from mesh.errors import (
    BrokerUnavailable,
    DeterministicError,
    InvalidInput,
    MessageTooLarge,
    SwitchboardError,
    TransientError,
)
from mesh.io.kafka_security import confluent_security
from mesh.settings import Settings
from mesh.wire.topics import Topics

__all__ = ["broker_ready", "broker_ids", "require_broker", "ensure_topics", "Publisher", "Tail", "read_all",
           "message_size", "FLUSH_TIMEOUT_S",
           "kafka_error"]

#: what librdkafka adds to a record's key, value and headers when it weighs it against message.max.bytes
RECORD_OVERHEAD = 36
#: a header's length prefixes, at most (librdkafka counts two varints)
HEADER_OVERHEAD = 10
#: librdkafka's TLS and SASL properties, and the settings that give them (mesh.io.tls, mesh.io.kafka_security)
_SETTING_OF = {"ssl.ca.location": "KAFKA_SSL_CAFILE", "ssl.certificate.location": "KAFKA_SSL_CERTFILE",
               "ssl.key.location": "KAFKA_SSL_KEYFILE", "ssl_key": "KAFKA_SSL_KEYFILE",
               "sasl.mechanism": "KAFKA_SASL_MECHANISM", "SASL mechanism": "KAFKA_SASL_MECHANISM",
               "sasl.username": "KAFKA_SASL_USERNAME", "sasl.password": "KAFKA_SASL_PASSWORD",
               "security.protocol": "KAFKA_SECURITY_PROTOCOL"}
#: what a setting of each kind must be, said when librdkafka refuses it
_WHAT_IT_MUST_BE = {"KAFKA_SSL_": "a readable PEM file; the key unencrypted",
                    "KAFKA_SASL_": "both credentials, with a SASL_* SWITCHBOARD_KAFKA_SECURITY_PROTOCOL",
                    "KAFKA_SECURITY_PROTOCOL": "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"}
#: errors that say the broker refused the SASL login: the username, the password or the mechanism
_LOGIN_REFUSED = {KafkaError._AUTHENTICATION, KafkaError.SASL_AUTHENTICATION_FAILED,
                  KafkaError.UNSUPPORTED_SASL_MECHANISM}
#: errors that say the broker could not be reached or did not answer in time
_OUTAGES = {KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN, KafkaError._MSG_TIMED_OUT, KafkaError._TIMED_OUT,
            KafkaError._RESOLVE, KafkaError._SSL, KafkaError.REQUEST_TIMED_OUT}
#: errors while a partition's leader is still taking over (a topic just created, a broker just gone)
_LEADER_MOVING = {KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE,
                  KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError.NOT_COORDINATOR}
#: how long ``Publisher.flush`` waits for acknowledgements by default: longer than a partition leader's failover
#: on Apache Kafka, where the controller fences a dead broker only after broker.session.timeout.ms (9 s by
#: default) and clients then refresh their metadata, so a routine failover is waited out, not reported as an
#: outage while the message is still queued (and then delivered after all)
FLUSH_TIMEOUT_S = 30.0


def _base(settings: Settings) -> dict:
    """What every confluent-kafka client here shares: the brokers, their TLS and SASL, a quiet logger."""
    return {"bootstrap.servers": settings.bootstrap_servers, "socket.connection.setup.timeout.ms": 3000,
            "log_level": 0, "logger": _quiet, **confluent_security(settings)}


class _Quiet:
    def log(self, *args, **kwargs) -> None:
        pass

    def __getattr__(self, name):  # librdkafka calls .log / .info etc. on the logger it is given
        return lambda *a, **k: None


_quiet = _Quiet()


class _Refusals:
    """librdkafka's ``error_cb``, keeping the last refused SASL login.

    A wrong password fails a metadata request only as "broker transport failure"; the refusal
    itself is said only to ``error_cb``, served when the client is polled.
    """

    def __init__(self) -> None:
        self.login: KafkaError | None = None

    def __call__(self, error: KafkaError) -> None:
        if error.code() in _LOGIN_REFUSED:
            self.login = error


def message_size(key: bytes | None, value: bytes | None, headers: dict[str, bytes] | None = None) -> int:
    """Bytes of a record as the producer weighs it against its message.max.bytes (an upper bound)."""
    return RECORD_OVERHEAD + len(key or b"") + len(value or b"") + \
        sum(len(k.encode()) + len(v) + HEADER_OVERHEAD for k, v in (headers or {}).items())


def kafka_error(err: KafkaException, settings: Settings, doing: str) -> SwitchboardError:
    """The project's error for a confluent-kafka exception raised while ``doing`` something."""
    error = err.args[0] if err.args and isinstance(err.args[0], KafkaError) else None
    code = error.code() if error is not None else None
    text = _without_password(error.str() if error is not None else str(err), settings)
    if code in _LOGIN_REFUSED:
        return InvalidInput(f"{doing}: the broker at {settings.bootstrap_servers} refused the SASL login ({text}): "
                            "check SWITCHBOARD_KAFKA_SASL_USERNAME, SWITCHBOARD_KAFKA_SASL_PASSWORD and "
                            f"SWITCHBOARD_KAFKA_SASL_MECHANISM={settings.kafka_sasl_mechanism} (a mechanism the "
                            "listener enables, with credentials made for it)", code="kafka_login_refused")
    if code == KafkaError.MSG_SIZE_TOO_LARGE:
        return MessageTooLarge(f"{doing}: the broker refused the message as too large ({text}): lower "
                               "SWITCHBOARD_MAX_MESSAGE_BYTES to the broker's message.max.bytes and send less")
    if code == KafkaError._INVALID_ARG:  # librdkafka refused its configuration: a setting, not the broker
        return InvalidInput(f"{doing}: {text}: {_config_fix(text)}", code="kafka_config")
    if error is not None and not error.retriable() and code not in _OUTAGES:
        return DeterministicError(f"{doing}: the broker refused it ({text})", code="kafka_refused")
    return BrokerUnavailable(f"{doing}: the Kafka broker at {settings.bootstrap_servers} did not answer ({text}): "
                             "start the stack with `switchboard up` (or `make demo`), or point "
                             "SWITCHBOARD_BOOTSTRAP_SERVERS at a running cluster")


def _config_fix(text: str) -> str:
    """What to correct when librdkafka refused its configuration with ``text``: the settings it names."""
    named = list(dict.fromkeys(name for prop, name in _SETTING_OF.items() if prop in text))
    if not named:
        return "correct the SWITCHBOARD_KAFKA_* settings"
    musts = dict.fromkeys(must for name in named for kind, must in _WHAT_IT_MUST_BE.items() if name.startswith(kind))
    return f"correct {' or '.join(f'SWITCHBOARD_{n}' for n in named)} ({'; '.join(musts)})"


def _without_password(text: str, settings: Settings) -> str:
    """``text`` with the SASL password masked, should a library ever repeat it in an error."""
    password = settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password else ""
    return text.replace(password, "**********") if password else text


def broker_ready(settings: Settings, timeout_s: float = 5.0) -> bool:
    """True if the broker answers a metadata request within ``timeout_s``.

    Settings librdkafka cannot use (a CA file that is not PEM) and a SASL login the broker refuses
    raise ``InvalidInput`` instead of looking like a broker that does not answer."""
    refusals = _Refusals()
    try:
        admin = AdminClient({**_base(settings), "error_cb": refusals})
    except KafkaException as err:
        raise kafka_error(err, settings, "the Kafka client cannot start") from err
    try:
        admin.list_topics(timeout=timeout_s)
        return True
    except KafkaException:
        admin.poll(0)  # serves the errors queued for error_cb
        if refusals.login is not None:
            raise kafka_error(KafkaException(refusals.login), settings, "connecting to the Kafka broker") from None
        return False


def broker_ids(settings: Settings, timeout_s: float = 5.0) -> set[int]:
    """The ids of the brokers the cluster's metadata lists now; empty when none answers."""
    try:
        return set(AdminClient(_base(settings)).list_topics(timeout=timeout_s).brokers)
    except KafkaException:
        return set()


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
    """Until every topic is listed with a leader for each partition (Kafka elects them a moment after creating)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        known = admin.list_topics(timeout=timeout_s).topics
        if all(t in known and known[t].partitions and all(p.leader >= 0 for p in known[t].partitions.values())
               for t in topics):
            return
        time.sleep(0.05)
    raise TransientError(f"topics not visible with a leader for every partition after {timeout_s:.0f}s",
                         code="topic_create_failed")


class Publisher:
    """A producer that confirms every message; idempotent where the agents' producers are.

    On the embedded tansu an idempotent confluent producer waits 0.5-1 s for its producer id
    before the first send, which every `switchboard ask` would pay; duplicates a
    retry could cause are caught by the consumers' idempotency ledger either way.
    """

    def __init__(self, settings: Settings, linger_ms: int = 1) -> None:
        """``linger_ms``: how long a send waits for others to share its produce request."""
        self._settings = settings
        self.max_bytes = settings.max_message_bytes
        self._refused: list[tuple[str, KafkaError]] = []  # deliveries the broker refused, reported by flush
        try:
            self._producer = Producer({**_base(settings), "enable.idempotence": settings.idempotent_producers,
                                       "acks": "all", "linger.ms": linger_ms, "message.max.bytes": self.max_bytes})
        except KafkaException as err:
            raise kafka_error(err, settings, "the Kafka producer cannot start") from err

    def too_large(self, what: str, size: int, fix: str) -> MessageTooLarge | None:
        """The error for ``what`` of ``size`` bytes if it is over the limit (``fix``: what to do), else None."""
        if size <= self.max_bytes:
            return None
        return MessageTooLarge(f"{what} is {size:,} bytes as a message, over the limit of {self.max_bytes:,} "
                               f"(SWITCHBOARD_MAX_MESSAGE_BYTES, at most the broker's message.max.bytes); nothing was "
                               f"sent: {fix}")

    def send(self, topic: str, key: bytes | None, value: bytes | None, headers: dict[str, bytes] | None = None) -> None:
        """Queue one message; ``MessageTooLarge`` before anything is queued if it is over ``max_bytes``."""
        refused = self.too_large(f"a message to {topic}", message_size(key, value, headers), "send less in it")
        if refused is not None:
            raise refused
        for wait in (0.0, 1.0, 5.0):  # a full local queue drains as the broker acknowledges
            try:
                self._producer.produce(topic, key=key, value=value, headers=list((headers or {}).items()),
                                       on_delivery=self._delivered)
                break
            except BufferError:
                self._producer.poll(wait or 0.1)
            except KafkaException as err:
                raise kafka_error(err, self._settings, f"publishing to {topic}") from err
        else:
            raise BrokerUnavailable(f"the producer's queue stayed full publishing to {topic}: the broker at "
                                    f"{self._settings.bootstrap_servers} is not acknowledging; is it running?")
        self._producer.poll(0)

    def _delivered(self, err: KafkaError | None, msg) -> None:
        if err is not None:
            self._refused.append((msg.topic(), err))

    def flush(self, timeout_s: float = FLUSH_TIMEOUT_S) -> None:
        """Wait until every message queued is acknowledged; raise if one was not, or was refused."""
        left = self._producer.flush(timeout_s)
        if self._refused:
            (topic, err), n = self._refused[0], len(self._refused)
            self._refused.clear()
            raise kafka_error(KafkaException(err), self._settings,
                              f"the broker refused {n} message(s), the first to {topic}")
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
        self.ends: dict[tuple[str, int], tuple[int, int]] = {}  # each partition's (low, high) watermarks at start
        for topic in names:
            meta = known.get(topic)
            if meta is None or meta.error is not None or not meta.partitions:
                if missing_ok:
                    continue
                raise TransientError(f"topic {topic} does not exist: start the mesh with `switchboard up`",
                                     code="topic_missing")
            for p in meta.partitions:
                low, high = self._watermarks(TopicPartition(topic, p), settings.connect_timeout_s)
                parts.append(TopicPartition(topic, p, OFFSET_BEGINNING if from_beginning else high))
                self.ends[(topic, p)] = (low, high)
        self._consumer.assign(parts)

    def _watermarks(self, partition: TopicPartition, timeout_s: float) -> tuple[int, int]:
        """(low, high) of a partition, asked again while its leader is still taking over (a topic just
        created, a leader just moved: retriable errors) until ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                return self._consumer.get_watermark_offsets(partition, timeout=timeout_s)
            except KafkaException as err:
                if err.args[0].code() not in _LEADER_MOVING or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

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

    def caught_up(self) -> bool:
        """Whether the tail has read every partition up to its high watermark of the start (the consumer's
        position, which steps over transaction markers, not the last record's offset)."""
        behind = [TopicPartition(t, p) for (t, p), (low, high) in self.ends.items() if high > low]
        return all(tp.offset >= self.ends[(tp.topic, tp.partition)][1] for tp in self._consumer.position(behind)) \
            if behind else True

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
    """Every message on ``topic`` (or on several), in partition order: read at least up to each partition's
    high watermark of the start, then until ``idle_s`` passes without a message.

    The watermark alone does not bound it: tansu 0.6 reports a batch's base offset + 1 there, which
    undercounts a partition written in multi-record batches. Idleness alone does not either: a first
    fetch can take longer than ``idle_s`` on a busy machine (connections, leader lookups).
    """
    tail = Tail(settings, topic, from_beginning=True, missing_ok=missing_ok)
    out = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            batch = list(tail.messages(idle_s))
            out += batch
            if not batch and tail.caught_up():
                break
        return out
    finally:
        tail.close()
