"""TLS and mutual TLS to Redis and Kafka, with the project's own client helpers and real servers.

Redis: Debian's redis-server (built with TLS) listening only on a TLS port and demanding client
certificates (``--tls-auth-clients yes``).

Kafka: tansu 0.6 has no TLS listener (its ``--cert``/``--key`` flags leave the listener plain
TCP: a TLS ClientHello gets "early eof"), so a small TLS-terminating proxy in this test stands
in front of it. The proxy requires a client certificate signed by the test CA and relays bytes
to tansu, which advertises the proxy's address; every broker connection a client makes (the
bootstrap one and the ones metadata points it to) is therefore TLS end to end from the client's
side. Certificates are made fresh for the module (tests/pki.py).
"""

from __future__ import annotations

import asyncio
import ssl
import threading
import uuid

import pytest
import redis

from infra.embedded import redis_binary, tansu_binary, wait_for_port
from infra.ports import free_port
from infra.processes import spawn, stop_all
from mesh.io.bus import Publisher, broker_ready, ensure_topics, read_all
from mesh.io.redis_clients import async_redis, connect, sync_redis
from mesh.settings import Settings
from mesh.wire.topics import Topics
from tests.pki import make_pki

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


# ---- Redis

@pytest.fixture(scope="module")
def tls_redis_port(pki, tmp_path_factory):
    port = free_port()
    child = spawn("redis-tls", [redis_binary(), "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
                                "--save", "", "--tls-cert-file", str(pki.server_cert),
                                "--tls-key-file", str(pki.server_key), "--tls-ca-cert-file", str(pki.ca),
                                "--tls-auth-clients", "yes"], tmp_path_factory.mktemp("redis-tls"))
    assert wait_for_port("127.0.0.1", port, 10), f"redis-server with TLS did not start:\n{child.log_tail()}"
    yield port
    stop_all([child.pid])


def redis_settings(port: int, pki, **files) -> Settings:
    return Settings(redis_url=f"rediss://127.0.0.1:{port}/0", key_prefix=f"tls{uuid.uuid4().hex[:8]}:", **files)


def test_sync_and_async_redis_helpers_speak_mutual_tls(tls_redis_port, pki):
    s = redis_settings(tls_redis_port, pki, redis_ssl_ca_certs=pki.ca, redis_ssl_certfile=pki.client_cert,
                       redis_ssl_keyfile=pki.client_key)
    r = sync_redis(s, socket_timeout=5)
    r.set(f"{s.key_prefix}sync", b"over tls")
    assert r.get(f"{s.key_prefix}sync") == b"over tls"
    r.close()

    async def both_async_paths() -> tuple[bytes, bytes]:
        agents_client, helper = connect(s), async_redis(s, socket_timeout=5)  # mesh.io.ledger.connect: what agents use
        try:
            await agents_client.set(f"{s.key_prefix}async", b"also over tls")
            return await helper.get(f"{s.key_prefix}async"), await agents_client.get(f"{s.key_prefix}sync")
        finally:
            await agents_client.aclose()
            await helper.aclose()

    assert asyncio.run(both_async_paths()) == (b"also over tls", b"over tls")


def test_redis_refuses_a_client_without_a_certificate(tls_redis_port, pki):
    r = sync_redis(redis_settings(tls_redis_port, pki, redis_ssl_ca_certs=pki.ca), socket_timeout=5)
    with pytest.raises(redis.ConnectionError):
        r.set("tls:no-cert", b"x")


def test_redis_client_refuses_a_server_its_ca_did_not_sign(tls_redis_port, pki):
    r = sync_redis(redis_settings(tls_redis_port, pki, redis_ssl_ca_certs=pki.other_ca,
                                  redis_ssl_certfile=pki.client_cert, redis_ssl_keyfile=pki.client_key),
                   socket_timeout=5)
    with pytest.raises(redis.ConnectionError, match="certificate verify failed"):
        r.ping()


def test_a_plain_redis_client_cannot_talk_to_the_tls_port(tls_redis_port):
    r = sync_redis(f"redis://127.0.0.1:{tls_redis_port}/0", socket_timeout=3, socket_connect_timeout=3)
    with pytest.raises(redis.ConnectionError):
        r.ping()


# ---- Kafka, through a TLS-terminating proxy in front of tansu

class TlsProxy:
    """Accepts TLS on ``port`` (client certificate required), relays plaintext to ``upstream_port``.

    Runs its own event loop in a thread, so the blocking confluent-kafka clients can use it.
    ``clients`` collects the common name of every client certificate that completed a handshake.
    """

    def __init__(self, context: ssl.SSLContext, port: int, upstream_port: int) -> None:
        self.context, self.port, self.upstream_port = context, port, upstream_port
        self.clients: list[str] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(asyncio.start_server(
            self._relay, "127.0.0.1", self.port, ssl=self.context, ssl_handshake_timeout=5), self._loop).result(5)

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._server.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        cert = writer.get_extra_info("peercert") or {}
        self.clients.append(dict(x[0] for x in cert.get("subject", ())).get("commonName", "?"))
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, ssl.SSLError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


@pytest.fixture(scope="module")
def tls_broker(pki, tmp_path_factory):
    """(proxy, tansu): tansu on a loopback port, advertising the TLS proxy's address."""
    broker_port, proxy_port = free_port(), free_port()
    tansu = spawn("tansu-behind-tls", [tansu_binary(), "broker", "--listener-url", f"tcp://127.0.0.1:{broker_port}",
                                       "--advertised-listener-url", f"tcp://127.0.0.1:{proxy_port}",
                                       "--storage-engine", "memory://tansu/"], tmp_path_factory.mktemp("tansu-tls"))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.server_cert, pki.server_key)
    context.load_verify_locations(pki.ca)
    context.verify_mode = ssl.CERT_REQUIRED
    proxy = TlsProxy(context, proxy_port, broker_port)
    try:
        assert wait_for_port("127.0.0.1", broker_port, 10), f"tansu did not start:\n{tansu.log_tail()}"
        proxy.start()
        yield proxy
    finally:
        proxy.stop()
        stop_all([tansu.pid])


def kafka_settings(proxy: TlsProxy, pki, **tls) -> Settings:
    return Settings(bootstrap_servers=f"127.0.0.1:{proxy.port}", topic_prefix=f"tls{uuid.uuid4().hex[:8]}.",
                    partitions=1, connect_timeout_s=5, broker="tansu", **tls)


def mutual(pki) -> dict:
    return dict(kafka_security_protocol="SSL", kafka_ssl_cafile=pki.ca, kafka_ssl_certfile=pki.client_cert,
                kafka_ssl_keyfile=pki.client_key)


def test_bus_admin_producer_and_consumer_round_trip_over_mutual_tls(tls_broker, pki):
    s = kafka_settings(tls_broker, pki, **mutual(pki))
    assert broker_ready(s, timeout_s=10)
    ensure_topics(s)  # the AdminClient
    topic = Topics(s.topic_prefix).name("tasks.submitted")
    pub = Publisher(s)
    pub.send(topic, b"k", b"sealed in transit", {"h": b"v"})
    pub.flush(10)
    got = read_all(s, topic, idle_s=1.0, timeout_s=15)  # Tail: a Consumer
    assert [(m.key(), m.value()) for m in got] == [(b"k", b"sealed in transit")]
    assert "switchboard test client" in tls_broker.clients  # the client certificate was presented


def test_faust_side_aiokafka_client_produces_over_mutual_tls(tls_broker, pki):
    """What build_app gives Faust (SSLCredentials), as Faust hands it to aiokafka, against the TLS listener."""
    from aiokafka import AIOKafkaProducer
    from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

    from mesh.io.kafka_security import faust_credentials

    s = kafka_settings(tls_broker, pki, **mutual(pki))
    ensure_topics(s)
    topic = Topics(s.topic_prefix).name("tasks.submitted")

    async def produce() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=s.bootstrap_servers, request_timeout_ms=10000,
                                    **credentials_to_aiokafka_auth(faust_credentials(s)))
        await producer.start()
        try:
            await producer.send_and_wait(topic, b"from aiokafka", key=b"a")
        finally:
            await producer.stop()

    asyncio.run(asyncio.wait_for(produce(), 20))
    assert [m.value() for m in read_all(s, topic, idle_s=1.0, timeout_s=15)] == [b"from aiokafka"]


def test_clients_that_do_not_speak_mutual_tls_are_refused(tls_broker, pki):
    assert broker_ready(kafka_settings(tls_broker, pki, **mutual(pki)), timeout_s=10)  # the control: it is up
    plaintext = kafka_settings(tls_broker, pki)
    no_cert = kafka_settings(tls_broker, pki, kafka_security_protocol="SSL", kafka_ssl_cafile=pki.ca)
    wrong_ca = kafka_settings(tls_broker, pki, **{**mutual(pki), "kafka_ssl_cafile": pki.other_ca})
    for s in (plaintext, no_cert, wrong_ca):
        assert not broker_ready(s, timeout_s=3), s.kafka_security_protocol
