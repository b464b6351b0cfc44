"""mesh.io.kafka_security and the SASL settings: what each client library is handed, validation at start,
a refused login said as such, and the password kept out of everything printed.

The refused login is shown against a stand-in broker in this process (a socket thread that speaks just
ApiVersions, SaslHandshake and SaslAuthenticate), so the path through librdkafka's ``error_cb`` is real.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import struct
import threading

import pytest
from confluent_kafka import KafkaError, KafkaException
from pydantic import ValidationError

from mesh.cli.errors import explain, settings_error
from mesh.errors import InvalidInput
from mesh.io.kafka_security import confluent_security, faust_credentials
from mesh.io.tls import confluent_tls
from mesh.settings import Settings
from tests.pki import make_pki

pytestmark = pytest.mark.unit

PASSWORD = "pw-Zq81-never-shown"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


def sasl(protocol: str = "SASL_SSL", **more) -> Settings:
    return Settings(kafka_security_protocol=protocol, kafka_sasl_username="svc-switchboard",
                    kafka_sasl_password=PASSWORD, **more)


def aiokafka_auth(settings: Settings) -> dict:
    """What Faust passes to every aiokafka client for ``faust_credentials(settings)``."""
    from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

    return credentials_to_aiokafka_auth(faust_credentials(settings))


# ---- what librdkafka and Faust/aiokafka are handed, per protocol

def test_plaintext_and_ssl_are_what_they_were(pki):
    assert confluent_security(Settings()) == {"security.protocol": "PLAINTEXT"}
    assert faust_credentials(Settings()) is None
    mtls = Settings(kafka_security_protocol="SSL", kafka_ssl_cafile=pki.ca, kafka_ssl_certfile=pki.client_cert,
                    kafka_ssl_keyfile=pki.client_key)
    assert confluent_security(mtls) == confluent_tls(mtls)
    assert aiokafka_auth(mtls)["security_protocol"] == "SSL"


def test_sasl_ssl_for_librdkafka_has_the_login_and_the_tls_files(pki):
    s = sasl(kafka_ssl_cafile=pki.ca, kafka_ssl_certfile=pki.client_cert, kafka_ssl_keyfile=pki.client_key)
    assert confluent_security(s) == {
        "security.protocol": "SASL_SSL", "sasl.mechanisms": "SCRAM-SHA-512", "sasl.username": "svc-switchboard",
        "sasl.password": PASSWORD, "ssl.endpoint.identification.algorithm": "https", "ssl.ca.location": str(pki.ca),
        "ssl.certificate.location": str(pki.client_cert), "ssl.key.location": str(pki.client_key)}


def test_sasl_plaintext_for_librdkafka_has_no_tls_keys():
    assert confluent_security(sasl("SASL_PLAINTEXT", kafka_sasl_mechanism="PLAIN")) == {
        "security.protocol": "SASL_PLAINTEXT", "sasl.mechanisms": "PLAIN", "sasl.username": "svc-switchboard",
        "sasl.password": PASSWORD}


def test_sasl_ssl_for_aiokafka_verifies_the_broker(pki):
    auth = aiokafka_auth(sasl(kafka_ssl_cafile=pki.ca))
    assert {k: v for k, v in auth.items() if k != "ssl_context"} == {
        "security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512", "sasl_plain_username": "svc-switchboard",
        "sasl_plain_password": PASSWORD}
    assert auth["ssl_context"].verify_mode == ssl.CERT_REQUIRED and auth["ssl_context"].check_hostname


def test_sasl_plaintext_for_aiokafka_has_no_context():
    auth = aiokafka_auth(sasl("SASL_PLAINTEXT"))
    assert auth["security_protocol"] == "SASL_PLAINTEXT" and auth["ssl_context"] is None


@pytest.mark.parametrize("given, mechanism", [("PLAIN", "PLAIN"), ("scram-sha-256", "SCRAM-SHA-256"),
                                              (" SCRAM-SHA-512 ", "SCRAM-SHA-512")])
def test_every_mechanism_reaches_both_libraries(given, mechanism):
    s = sasl(kafka_sasl_mechanism=given)
    assert confluent_security(s)["sasl.mechanisms"] == mechanism
    assert aiokafka_auth(s)["sasl_mechanism"] == mechanism


@pytest.mark.parametrize("protocol", ["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"])
def test_both_libraries_accept_what_they_are_given(protocol):
    """librdkafka checks its configuration when a client is made, aiokafka its arguments; neither connects here."""
    from aiokafka import AIOKafkaProducer
    from confluent_kafka.admin import AdminClient

    from mesh.io.bus import _base

    s = sasl(protocol, bootstrap_servers="127.0.0.1:1") if protocol.startswith("SASL") else \
        Settings(kafka_security_protocol=protocol, bootstrap_servers="127.0.0.1:1")
    AdminClient(_base(s))

    async def make() -> None:
        AIOKafkaProducer(bootstrap_servers=s.bootstrap_servers, **aiokafka_auth(s))

    asyncio.run(make())


def test_faust_hands_the_login_to_every_client_of_an_agent(pki):
    """The producer, the worker consumer and the client consumer of the app build_app makes."""
    from mesh.runtime.faust_app import _App

    async def clients() -> list:
        app = _App("sasl-probe", broker="kafka://127.0.0.1:1", broker_credentials=faust_credentials(
            sasl(kafka_sasl_mechanism="SCRAM-SHA-256", kafka_ssl_cafile=pki.ca)), web_enabled=False)
        app.fetch_max_wait_ms, app.idempotent_producer = 5, False
        thread = app.consumer._new_consumer_thread()
        return [app.producer._new_producer().client,
                thread._create_worker_consumer(app.consumer.transport)._client,
                thread._create_client_consumer(app.consumer.transport)._client]

    for client in asyncio.run(clients()):
        assert (client._security_protocol, client._sasl_mechanism, client._sasl_plain_username,
                client._sasl_plain_password) == ("SASL_SSL", "SCRAM-SHA-256", "svc-switchboard", PASSWORD)
        assert client._ssl_context is not None


# ---- validation

@pytest.mark.parametrize("protocol", ["SASL_SSL", "SASL_PLAINTEXT"])
@pytest.mark.parametrize("given, missing", [
    ({}, "needs SWITCHBOARD_KAFKA_SASL_USERNAME and SWITCHBOARD_KAFKA_SASL_PASSWORD:"),
    ({"kafka_sasl_username": "svc"}, "needs SWITCHBOARD_KAFKA_SASL_PASSWORD:"),
    ({"kafka_sasl_password": PASSWORD}, "needs SWITCHBOARD_KAFKA_SASL_USERNAME:")])
def test_sasl_without_both_credentials_names_what_to_set(protocol, given, missing):
    with pytest.raises(ValidationError) as info:
        Settings(kafka_security_protocol=protocol, **given)
    assert missing in str(info.value) and f"SWITCHBOARD_KAFKA_SECURITY_PROTOCOL={protocol}" in str(info.value)


@pytest.mark.parametrize("protocol", ["PLAINTEXT", "SSL"])
@pytest.mark.parametrize("name", ["kafka_sasl_username", "kafka_sasl_password"])
def test_credentials_without_sasl_say_to_choose_sasl_ssl(protocol, name):
    """Otherwise the operator believes the mesh logs in while it connects anonymously."""
    with pytest.raises(ValidationError) as info:
        Settings(kafka_security_protocol=protocol, **{name: "x"})
    assert f"SWITCHBOARD_{name.upper()} is set" in str(info.value)
    assert "set SWITCHBOARD_KAFKA_SECURITY_PROTOCOL=SASL_SSL" in str(info.value)


def test_tls_files_go_with_ssl_and_sasl_ssl_only(pki):
    assert sasl(kafka_ssl_cafile=pki.ca).kafka_ssl_cafile == pki.ca
    with pytest.raises(ValidationError, match=r"SWITCHBOARD_KAFKA_SECURITY_PROTOCOL=SSL \(or SASL_SSL\)"):
        sasl("SASL_PLAINTEXT", kafka_ssl_cafile=pki.ca)


def test_an_unknown_mechanism_is_refused():
    with pytest.raises(ValidationError, match="kafka_sasl_mechanism"):
        sasl(kafka_sasl_mechanism="GSSAPI")


def test_empty_variables_are_no_credentials(monkeypatch):
    """A Secret whose keys are left empty (infra/k8s) must not stop a PLAINTEXT deployment."""
    monkeypatch.setenv("SWITCHBOARD_KAFKA_SASL_USERNAME", "")
    monkeypatch.setenv("SWITCHBOARD_KAFKA_SASL_PASSWORD", "")
    assert Settings().kafka_sasl_username is None and Settings().kafka_sasl_password is None
    monkeypatch.setenv("SWITCHBOARD_KAFKA_SECURITY_PROTOCOL", "sasl_ssl")
    with pytest.raises(ValidationError, match="needs SWITCHBOARD_KAFKA_SASL_USERNAME and"):
        Settings()


@pytest.mark.parametrize("env, says", [
    ({"SWITCHBOARD_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "SWITCHBOARD_KAFKA_SASL_USERNAME": "svc"},
     "SWITCHBOARD_KAFKA_SECURITY_PROTOCOL=SASL_SSL needs SWITCHBOARD_KAFKA_SASL_PASSWORD"),
    ({"SWITCHBOARD_KAFKA_SASL_USERNAME": "svc", "SWITCHBOARD_KAFKA_SASL_PASSWORD": PASSWORD},
     "set SWITCHBOARD_KAFKA_SECURITY_PROTOCOL=SASL_SSL"),
    ({"SWITCHBOARD_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "SWITCHBOARD_KAFKA_SASL_MECHANISM": "MD5",
      "SWITCHBOARD_KAFKA_SASL_USERNAME": "svc", "SWITCHBOARD_KAFKA_SASL_PASSWORD": PASSWORD},
     "SWITCHBOARD_KAFKA_SASL_MECHANISM=MD5: string should match"),
], ids=["no_password", "login_without_sasl", "bad_mechanism"])
def test_bad_sasl_settings_are_one_error_line_without_the_password(monkeypatch, capsys, env, says):
    from mesh.cli.main import main

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["topics"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: bad settings: ") and says in err, err
    assert PASSWORD not in err


# ---- the password: handed to child processes, never printed

def test_the_password_reaches_the_agents_through_to_env(monkeypatch):
    s = sasl(kafka_sasl_mechanism="PLAIN", token_secret="tok-key")
    env = s.to_env()
    assert env["SWITCHBOARD_KAFKA_SASL_PASSWORD"] == PASSWORD and env["SWITCHBOARD_TOKEN_SECRET"] == "tok-key"
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    again = Settings()
    assert confluent_security(again) == confluent_security(s) and again == s


def test_the_password_is_not_in_the_settings_repr_nor_the_credentials_repr():
    s = sasl()
    for shown in (repr(s), str(s), repr(faust_credentials(s)), s.model_dump_json()):
        assert PASSWORD not in shown and "svc-switchboard" in shown


def test_the_password_is_not_in_a_refusal_of_other_settings(pki, tmp_path):
    """pydantic repeats every input of a model-level refusal unless told not to; the CLI's line never does."""
    for bad in ({"kafka_sasl_username": None}, {"kafka_ssl_cafile": tmp_path / "gone.pem"}):
        with pytest.raises(ValidationError) as info:
            Settings(**{"kafka_security_protocol": "SASL_SSL", "kafka_sasl_username": "svc",
                        "kafka_sasl_password": PASSWORD, **bad})
        assert PASSWORD not in str(info.value) and PASSWORD not in repr(info.value)
        assert PASSWORD not in settings_error(info.value)


# ---- librdkafka's refusals

def test_a_refused_login_is_a_usage_error_naming_the_sasl_settings():
    from mesh.io.bus import kafka_error

    s = sasl()
    for code in (KafkaError._AUTHENTICATION, KafkaError.SASL_AUTHENTICATION_FAILED):
        err = kafka_error(KafkaException(KafkaError(code, "SASL authentication error: Authentication failed")), s,
                          "publishing to tasks.submitted")
        assert isinstance(err, InvalidInput) and err.code == "kafka_login_refused"
        for name in ("SWITCHBOARD_KAFKA_SASL_USERNAME", "SWITCHBOARD_KAFKA_SASL_PASSWORD",
                     "SWITCHBOARD_KAFKA_SASL_MECHANISM=SCRAM-SHA-512"):
            assert name in str(err)
        message, exit_code = explain(err, s)
        assert exit_code == 2 and "\n" not in message and PASSWORD not in message


def test_a_refused_configuration_names_the_sasl_settings_and_masks_the_password():
    from mesh.io.bus import kafka_error

    err = kafka_error(KafkaException(KafkaError(KafkaError._INVALID_ARG,
                                                "sasl.username and sasl.password must be set")), sasl(), "starting")
    assert isinstance(err, InvalidInput) and err.code == "kafka_config"
    assert "SWITCHBOARD_KAFKA_SASL_USERNAME or SWITCHBOARD_KAFKA_SASL_PASSWORD" in str(err)
    echoed = kafka_error(KafkaException(KafkaError(KafkaError._INVALID_ARG, f'bad "sasl.password" {PASSWORD}')),
                         sasl(), "starting")
    assert PASSWORD not in str(echoed) and "SWITCHBOARD_KAFKA_SASL_PASSWORD" in str(echoed)


class _LoginRefusingBroker:
    """Just enough of a SASL listener for librdkafka: ApiVersions, SaslHandshake, then SaslAuthenticate refused."""

    APIS = ((18, 0, 3), (17, 0, 1), (36, 0, 0), (3, 0, 1))  # api key, min and max version

    def __init__(self, mechanisms: tuple[str, ...]) -> None:
        self.mechanisms, self.mechanisms_asked = mechanisms, []
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            while len(head := conn.recv(4, socket.MSG_WAITALL)) == 4:
                request = conn.recv(struct.unpack(">i", head)[0], socket.MSG_WAITALL)
                key, version, correlation = struct.unpack(">hhi", request[:8])
                body = self._answer(key, version, request[8:])
                if body is None:
                    return
                conn.sendall(struct.pack(">ii", len(body) + 4, correlation) + body)

    def _answer(self, key: int, version: int, request: bytes) -> bytes | None:
        if key == 18:  # ApiVersions: "unsupported version" to a newer one makes librdkafka ask with v0
            return struct.pack(">hi", 35 if version else 0, len(self.APIS)) + \
                b"".join(struct.pack(">hhh", *api) for api in self.APIS)
        if key == 17:  # SaslHandshake: after the client id, the mechanism asked for
            rest = request[2 + max(0, struct.unpack(">h", request[:2])[0]):]
            asked = rest[2:2 + struct.unpack(">h", rest[:2])[0]].decode()
            self.mechanisms_asked.append(asked)
            return struct.pack(">hi", 0 if asked in self.mechanisms else 33, len(self.mechanisms)) + \
                b"".join(_string(m) for m in self.mechanisms)
        if key == 36:  # SaslAuthenticate: refused
            return struct.pack(">h", 58) + _string("Authentication failed: Invalid username or password") + \
                struct.pack(">i", 0)
        return None

    def close(self) -> None:
        self._server.close()


def _string(text: str) -> bytes:
    return struct.pack(">h", len(text)) + text.encode()


@pytest.mark.parametrize("listener, says", [(("SCRAM-SHA-512",), "Invalid username or password"),
                                            (("PLAIN",), "Unsupported SASL mechanism")])
def test_require_broker_says_the_login_was_refused_not_that_no_broker_answered(listener, says):
    from mesh.io.bus import require_broker

    broker = _LoginRefusingBroker(listener)
    try:
        s = sasl("SASL_PLAINTEXT", bootstrap_servers=f"127.0.0.1:{broker.port}")
        with pytest.raises(InvalidInput, match="refused the SASL login") as info:
            require_broker(s, 2.0)
    finally:
        broker.close()
    assert says in str(info.value) and "SWITCHBOARD_KAFKA_SASL_MECHANISM=SCRAM-SHA-512" in str(info.value)
    assert broker.mechanisms_asked[0] == "SCRAM-SHA-512" and PASSWORD not in str(info.value)
