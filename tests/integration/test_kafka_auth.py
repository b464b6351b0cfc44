"""SASL (SCRAM-SHA-512, PLAIN), SASL_SSL and mutual TLS against Apache Kafka's own listeners.

One Kafka node for the module (``infra.kafka_cluster``), with the plain listener the cluster
always has and three that demand proof of who connects:

- ``SASL`` (SASL_PLAINTEXT): SCRAM-SHA-512 (user alice, written at storage-format time) and
  PLAIN (user bob, in the listener's JAAS);
- ``SASLTLS`` (SASL_SSL): SCRAM-SHA-512 only, over TLS with the test CA's server certificate;
- ``MTLS`` (SSL): TLS that requires a client certificate the test CA signed.

Every client of the mesh goes through them: the CLI side's confluent-kafka clients (mesh.io.bus,
also the topics and the tools), the agents' aiokafka clients as Faust builds them, and whole
meshes (agents as processes, the CLI as a process) answering a question over SCRAM and over
mutual TLS. The refusal tests prove each listener really turns away a client without the right
proof, so no test here can pass against a listener that lets anyone in. tansu has neither SASL
nor TLS listeners: the module is skipped there, and fails (never skips) on Kafka if anything is
missing.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from infra.embedded import wait_for_port
from infra.kafka_cluster import Listener, plan_cluster, start_node
from infra.ports import free_port
from infra.processes import Child, stop_all
from mesh.errors import InvalidInput
from mesh.io.bus import Publisher, broker_ready, ensure_topics, read_all, require_broker
from mesh.settings import Settings
from mesh.wire.topics import Topics
from tests.integration.conftest import make_settings
from tests.integration.test_answer_end_to_end import DOCS
from tests.pki import Pki, make_pki

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(make_settings(Path(".run")).broker != "kafka",
                                 reason="needs Apache Kafka's SASL and TLS listeners; tansu has neither")]

SCRAM_USER = ("alice", "alice-secret")
PLAIN_USER = ("bob", "bob-secret")


@dataclass
class AuthKafka:
    """The running node: its port per listener (PLAINTEXT, SASL, SASLTLS, MTLS) and the test PKI."""
    ports: dict[str, int]
    pki: Pki
    child: Child
    log_dir: Path

    def bootstrap(self, listener: str) -> str:
        return f"127.0.0.1:{self.ports[listener]}"


def server_properties(pki: Pki, keystore: Path) -> dict[str, str]:
    """Broker properties for the SASL, SASLTLS and MTLS listeners: mechanisms, JAAS per listener, PEM TLS."""
    scram_jaas = "org.apache.kafka.common.security.scram.ScramLoginModule required;"
    plain_jaas = (f'org.apache.kafka.common.security.plain.PlainLoginModule required '
                  f'user_{PLAIN_USER[0]}="{PLAIN_USER[1]}";')
    return {
        "sasl.enabled.mechanisms": "SCRAM-SHA-512,PLAIN",
        "listener.name.sasl.scram-sha-512.sasl.jaas.config": scram_jaas,
        "listener.name.sasl.plain.sasl.jaas.config": plain_jaas,
        "listener.name.sasltls.sasl.enabled.mechanisms": "SCRAM-SHA-512",
        "listener.name.sasltls.scram-sha-512.sasl.jaas.config": scram_jaas,
        # TLS for SASLTLS and MTLS: the server's key (PKCS#8) and certificate in one PEM file, the test CA
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": str(keystore),
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(pki.ca),
        "listener.name.mtls.ssl.client.auth": "required",
    }


def pem_keystore(pki: Pki, path: Path) -> Path:
    """Kafka's PEM keystore: the private key as unencrypted PKCS#8, then the certificate chain."""
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(pki.server_key.read_bytes(), password=None)
    pkcs8 = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption())
    path.write_bytes(pkcs8 + pki.server_cert.read_bytes() + pki.ca.read_bytes())
    return path


def plaintext(kafka: AuthKafka) -> Settings:
    return client_settings(kafka, "PLAINTEXT")


@pytest.fixture(scope="module")
def kafka(tmp_path_factory) -> AuthKafka:
    root = tmp_path_factory.mktemp("kafka-auth")
    pki = make_pki(root / "pki")
    ports = {name: free_port() for name in ("PLAINTEXT", "SASL", "SASLTLS", "MTLS")}
    listeners = [Listener("SASL", "SASL_PLAINTEXT", ports["SASL"]), Listener("SASLTLS", "SASL_SSL", ports["SASLTLS"]),
                 Listener("MTLS", "SSL", ports["MTLS"])]
    data_dir, log_dir = root / "data", root / "logs"
    cluster = plan_cluster(data_dir, [ports["PLAINTEXT"]], listeners=[listeners],
                           properties=server_properties(pki, pem_keystore(pki, root / "server-keystore.pem")),
                           scram_users=[f"SCRAM-SHA-512=[name={SCRAM_USER[0]},password={SCRAM_USER[1]}]"])
    child = start_node(cluster, 1, data_dir, log_dir)
    node = AuthKafka(ports, pki, child, log_dir)
    try:
        deadline = time.monotonic() + 120  # a JVM start on a busy machine
        for name, port in ports.items():
            assert wait_for_port("127.0.0.1", port, max(1.0, deadline - time.monotonic())), \
                f"Kafka's {name} listener on :{port} did not open:\n{child.log_tail(60)}"
        while not broker_ready(plaintext(node), timeout_s=2.0):
            assert child.running() and time.monotonic() < deadline, \
                f"Kafka did not answer a metadata request over PLAINTEXT:\n{child.log_tail(60)}"
        yield node
    finally:
        stop_all([child.pid])


#: the settings of each way in: listener, security protocol, SASL mechanism and credentials or client certificate
def auth(kind: str, pki: Pki) -> tuple[str, dict]:
    scram = {"kafka_sasl_mechanism": "SCRAM-SHA-512", "kafka_sasl_username": SCRAM_USER[0],
             "kafka_sasl_password": SCRAM_USER[1]}
    return {
        "scram": ("SASL", {"kafka_security_protocol": "SASL_PLAINTEXT", **scram}),
        "plain": ("SASL", {"kafka_security_protocol": "SASL_PLAINTEXT", "kafka_sasl_mechanism": "PLAIN",
                           "kafka_sasl_username": PLAIN_USER[0], "kafka_sasl_password": PLAIN_USER[1]}),
        "sasl_ssl": ("SASLTLS", {"kafka_security_protocol": "SASL_SSL", "kafka_ssl_cafile": pki.ca, **scram}),
        "mtls": ("MTLS", {"kafka_security_protocol": "SSL", "kafka_ssl_cafile": pki.ca,
                          "kafka_ssl_certfile": pki.client_cert, "kafka_ssl_keyfile": pki.client_key}),
    }[kind]


def client_settings(kafka: AuthKafka, listener: str, **security) -> Settings:
    return Settings(bootstrap_servers=kafka.bootstrap(listener), topic_prefix=f"auth{uuid.uuid4().hex[:8]}.",
                    partitions=1, connect_timeout_s=5, broker="kafka", **security)


def settings_for(kafka: AuthKafka, kind: str, **override) -> Settings:
    listener, security = auth(kind, kafka.pki)
    return client_settings(kafka, listener, **{**security, **override})


KINDS = ["scram", "plain", "sasl_ssl", "mtls"]


# ---- the CLI side: confluent-kafka (mesh.io.bus)

@pytest.mark.parametrize("kind", KINDS)
def test_bus_admin_producer_and_consumer_round_trip(kafka, kind):
    s = settings_for(kafka, kind)
    assert broker_ready(s, timeout_s=10)
    require_broker(s, 10)
    created = ensure_topics(s)  # the AdminClient
    assert created
    topic = Topics(s.topic_prefix).name("tasks.submitted")
    pub = Publisher(s)  # idempotent on Kafka: InitProducerId over the authenticated listener too
    pub.send(topic, b"k", kind.encode(), {"h": b"v"})
    pub.flush(15)
    got = read_all(s, topic, idle_s=1.0, timeout_s=20)  # Tail: a Consumer
    assert [(m.key(), m.value(), m.headers()) for m in got] == [(b"k", kind.encode(), [("h", b"v")])]
    # and the messages are Kafka's: the plain listener of the same node sees them
    assert [m.value() for m in read_all(plaintext(kafka), topic, idle_s=1.0, timeout_s=20)] == [kind.encode()]


# ---- the agents' side: aiokafka, as Faust hands it the credentials

@pytest.mark.parametrize("kind", KINDS)
def test_faust_side_aiokafka_client_produces_and_consumes(kafka, kind):
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

    from mesh.io.kafka_security import faust_credentials

    s = settings_for(kafka, kind)
    ensure_topics(s)
    topic = Topics(s.topic_prefix).name("tasks.submitted")
    credentials = credentials_to_aiokafka_auth(faust_credentials(s))

    async def round_trip() -> bytes:
        producer = AIOKafkaProducer(bootstrap_servers=s.bootstrap_servers, request_timeout_ms=10000, **credentials)
        await producer.start()
        try:
            await producer.send_and_wait(topic, b"from aiokafka", key=b"a")
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(topic, bootstrap_servers=s.bootstrap_servers, auto_offset_reset="earliest",
                                    group_id=f"{s.topic_prefix}g", request_timeout_ms=10000, **credentials)
        await consumer.start()
        try:
            return (await consumer.getone()).value
        finally:
            await consumer.stop()

    assert asyncio.run(asyncio.wait_for(round_trip(), 45)) == b"from aiokafka"
    assert [m.value() for m in read_all(s, topic, idle_s=1.0, timeout_s=15)] == [b"from aiokafka"]


# ---- refusals: each listener really demands its proof

@pytest.mark.parametrize("kind, wrong", [
    ("scram", {"kafka_sasl_password": "not-alice-secret"}),
    ("plain", {"kafka_sasl_password": "not-bob-secret"}),
    ("sasl_ssl", {"kafka_sasl_password": "not-alice-secret"}),
    ("plain", {"kafka_sasl_username": SCRAM_USER[0], "kafka_sasl_password": SCRAM_USER[1]}),  # a SCRAM user via PLAIN
    ("sasl_ssl", {"kafka_sasl_mechanism": "PLAIN", "kafka_sasl_username": PLAIN_USER[0],
                  "kafka_sasl_password": PLAIN_USER[1]}),  # PLAIN is not enabled on SASLTLS
])
def test_a_refused_sasl_login_is_an_error_naming_the_sasl_settings(kafka, kind, wrong):
    assert broker_ready(settings_for(kafka, kind), timeout_s=10)  # the control: the right login is let in
    s = settings_for(kafka, kind, **wrong)
    # a refusal is known only once the metadata request has timed out (librdkafka retries the login until then)
    for check in (lambda: broker_ready(s, timeout_s=3), lambda: require_broker(s, 3)):
        with pytest.raises(InvalidInput) as refused:
            check()
        message = str(refused.value)
        assert refused.value.code == "kafka_login_refused"
        assert "refused the SASL login" in message
        for name in ("SWITCHBOARD_KAFKA_SASL_USERNAME", "SWITCHBOARD_KAFKA_SASL_PASSWORD",
                     f"SWITCHBOARD_KAFKA_SASL_MECHANISM={s.kafka_sasl_mechanism}"):
            assert name in message
        assert s.kafka_sasl_password.get_secret_value() not in message


def test_the_cli_says_the_login_was_refused_without_printing_the_password(kafka, tmp_path):
    s = settings_for(kafka, "scram", kafka_sasl_password="wrong-password-123")
    out = subprocess.run([sys.executable, "-m", "mesh.cli.main", "ask", "hello?", "--json"],
                         env={**os.environ, **s.to_env()}, capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 2, out.stderr
    assert out.stderr.startswith("error:") and "refused the SASL login" in out.stderr
    assert "SWITCHBOARD_KAFKA_SASL_PASSWORD" in out.stderr
    assert "wrong-password-123" not in out.stderr + out.stdout


def test_clients_without_the_listeners_proof_are_refused(kafka):
    pki = kafka.pki
    assert broker_ready(plaintext(kafka), timeout_s=10)  # the control: the node is up
    no_proof = {
        "PLAINTEXT client on SASL": client_settings(kafka, "SASL"),
        "PLAINTEXT client on SASLTLS": client_settings(kafka, "SASLTLS"),
        "TLS without SASL on SASLTLS": client_settings(kafka, "SASLTLS", kafka_security_protocol="SSL",
                                                       kafka_ssl_cafile=pki.ca),
        "PLAINTEXT client on MTLS": client_settings(kafka, "MTLS"),
        "TLS without a certificate on MTLS": client_settings(kafka, "MTLS", kafka_security_protocol="SSL",
                                                             kafka_ssl_cafile=pki.ca),
        "a server the CA did not sign": settings_for(kafka, "mtls", kafka_ssl_cafile=pki.other_ca),
    }
    let_in = [what for what, s in no_proof.items() if broker_ready(s, timeout_s=3)]
    assert not let_in, f"listeners let in clients without their proof: {let_in}"


def test_aiokafka_without_a_certificate_is_refused_on_the_mtls_listener(kafka):
    from aiokafka import AIOKafkaProducer
    from aiokafka.errors import KafkaConnectionError
    from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

    from mesh.io.kafka_security import faust_credentials

    s = client_settings(kafka, "MTLS", kafka_security_protocol="SSL", kafka_ssl_cafile=kafka.pki.ca)

    async def start() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=s.bootstrap_servers, request_timeout_ms=5000,
                                    **credentials_to_aiokafka_auth(faust_credentials(s)))
        try:
            await producer.start()
        finally:
            await producer.stop()

    with pytest.raises(KafkaConnectionError):
        asyncio.run(asyncio.wait_for(start(), 30))


# ---- the agents and the CLI as processes: a whole mesh behind SCRAM, then behind mutual TLS

def cli(settings: Settings, *args: str, timeout_s: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mesh.cli.main", *args], env={**os.environ, **settings.to_env()},
                          capture_output=True, text=True, timeout=timeout_s, check=False)


def agent_logs(mesh) -> str:
    return "\n".join(f"--- {label}\n{child.log_tail(15)}" for label, child in mesh.workers.items())


@pytest.mark.parametrize("kind", ["scram", "mtls"])
def test_agents_and_cli_answer_a_question_through_the_listener(kafka, redis_url, tmp_path, kind):
    from mesh.ops.stack import Mesh
    from mesh.security.crypto import LocalKeyFile

    listener, security = auth(kind, kafka.pki)
    settings = make_settings(tmp_path / "run", embedded=False, broker="kafka",
                             bootstrap_servers=kafka.bootstrap(listener), redis_url=redis_url, ask_timeout_s=60.0,
                             **security)
    tenant = f"t{uuid.uuid4().hex[:8]}"
    docs = tmp_path / "docs.jsonl"
    docs.write_text("".join(json.dumps({**d, "tenant": tenant}) + "\n" for d in DOCS))
    LocalKeyFile(settings.kek_path, create=True)  # an external mesh is given its key file; `up` makes none
    mesh = Mesh(settings)
    mesh.start(timeout_s=150)
    try:
        ingested = cli(settings, "ingest", str(docs), "--wait", "--json")
        assert ingested.returncode == 0, f"{ingested.stderr}\n{agent_logs(mesh)}"
        assert json.loads(ingested.stdout)["published"] == len(DOCS)
        asked = cli(settings, "ask", "How long are audit logs retained?", "--tenant", tenant, "--json")
        assert asked.returncode == 0, f"{asked.stderr}\n{agent_logs(mesh)}"
        result = json.loads(asked.stdout)
        assert result["status"] == "answered", f"{result}\n{agent_logs(mesh)}"
        assert "400 days" in result["answer"]
        assert result["citations"][0]["doc_id"] == "retention"
        assert not mesh.dead_workers(), agent_logs(mesh)
    finally:
        mesh.stop()
