"""mesh.io.tls and the TLS settings: validation at start, and what each client library is handed.

The SSLContext tests do a real TLS handshake in memory (``ssl.MemoryBIO``) against a server
context that requires a client certificate, so "verifies the server, presents the client
certificate" is shown, not assumed from attributes.
"""

from __future__ import annotations

import ssl

import pytest
from pydantic import ValidationError

from mesh.cli.errors import explain, settings_error
from mesh.errors import InvalidInput
from mesh.io.redis_clients import async_redis, sync_redis
from mesh.io.tls import confluent_tls, kafka_ssl_context, redis_tls
from mesh.settings import Settings
from tests.pki import make_pki

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


def kafka_mtls(pki, **more) -> Settings:
    return Settings(kafka_security_protocol="SSL", kafka_ssl_cafile=pki.ca, kafka_ssl_certfile=pki.client_cert,
                    kafka_ssl_keyfile=pki.client_key, **more)


# ---- defaults: nothing changes for a plaintext deployment

def test_plaintext_by_default_adds_no_tls_anywhere():
    s = Settings()
    assert confluent_tls(s) == {"security.protocol": "PLAINTEXT"}
    assert kafka_ssl_context(s) is None
    assert redis_tls(s) == {}


# ---- validation

@pytest.mark.parametrize("value", ["TLS", "SASL", "SSL_SASL"])
def test_unsupported_protocol_is_refused(value):
    with pytest.raises(ValidationError, match="kafka_security_protocol"):
        Settings(kafka_security_protocol=value)


def test_protocol_from_the_environment_in_any_case(monkeypatch):
    monkeypatch.setenv("SWITCHBOARD_KAFKA_SECURITY_PROTOCOL", "ssl")
    assert Settings().kafka_security_protocol == "SSL"


@pytest.mark.parametrize("given, missing", [("kafka_ssl_certfile", "KAFKA_SSL_KEYFILE"),
                                            ("kafka_ssl_keyfile", "KAFKA_SSL_CERTFILE")])
def test_kafka_certificate_and_key_come_together(pki, given, missing):
    path = pki.client_cert if given.endswith("certfile") else pki.client_key
    with pytest.raises(ValidationError) as info:
        Settings(kafka_security_protocol="SSL", **{given: path})
    assert f"SWITCHBOARD_{missing}" in str(info.value) and "set both" in str(info.value)


@pytest.mark.parametrize("given, missing", [("redis_ssl_certfile", "REDIS_SSL_KEYFILE"),
                                            ("redis_ssl_keyfile", "REDIS_SSL_CERTFILE")])
def test_redis_certificate_and_key_come_together(pki, given, missing):
    path = pki.client_cert if given.endswith("certfile") else pki.client_key
    with pytest.raises(ValidationError) as info:
        Settings(redis_url="rediss://cache:6380/0", **{given: path})
    assert f"SWITCHBOARD_{missing}" in str(info.value)


def test_a_missing_file_is_named_with_its_variable(pki, tmp_path):
    gone = tmp_path / "nope.pem"
    with pytest.raises(ValidationError) as info:
        Settings(kafka_security_protocol="SSL", kafka_ssl_cafile=gone)
    assert "SWITCHBOARD_KAFKA_SSL_CAFILE" in str(info.value) and str(gone) in str(info.value)
    with pytest.raises(ValidationError, match="SWITCHBOARD_REDIS_SSL_KEYFILE"):
        Settings(redis_url="rediss://cache:6380/0", redis_ssl_certfile=pki.client_cert, redis_ssl_keyfile=gone)


def test_kafka_tls_files_without_ssl_protocol_are_refused(pki):
    """Otherwise the operator believes in TLS while the client talks plaintext."""
    with pytest.raises(ValidationError, match="SWITCHBOARD_KAFKA_SECURITY_PROTOCOL=SSL"):
        Settings(kafka_ssl_cafile=pki.ca)


def test_redis_tls_files_with_a_plain_url_are_refused(pki):
    with pytest.raises(ValidationError, match="rediss://"):
        Settings(redis_url="redis://cache:6379/0", redis_ssl_ca_certs=pki.ca)


@pytest.mark.parametrize("env, says", [
    ({"SWITCHBOARD_KAFKA_SSL_CAFILE": "{ca}"}, "SWITCHBOARD_KAFKA_SECURITY_PROTOCOL=SSL"),
    ({"SWITCHBOARD_KAFKA_SECURITY_PROTOCOL": "SSL", "SWITCHBOARD_KAFKA_SSL_CAFILE": "/nope.pem"},
     "SWITCHBOARD_KAFKA_SSL_CAFILE=/nope.pem is not a readable file"),
    ({"SWITCHBOARD_KAFKA_SECURITY_PROTOCOL": "SSL", "SWITCHBOARD_KAFKA_SSL_CERTFILE": "{cert}"}, "set both"),
    ({"SWITCHBOARD_KAFKA_SECURITY_PROTOCOL": "TLS"}, "SWITCHBOARD_KAFKA_SECURITY_PROTOCOL=TLS: string should match"),
    ({"SWITCHBOARD_PARTITIONS": "0"}, "SWITCHBOARD_PARTITIONS=0: input should be greater than or equal to 1"),
], ids=["files_without_ssl", "missing_file", "cert_without_key", "bad_protocol", "not_a_tls_setting"])
def test_bad_settings_are_one_error_line_and_exit_2(pki, monkeypatch, capsys, env, says):
    """What `switchboard` prints for settings that do not load: one ``error:`` line naming the variable."""
    from mesh.cli.main import main

    for name, value in env.items():
        monkeypatch.setenv(name, value.format(ca=pki.ca, cert=pki.client_cert))
    assert main(["topics"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: bad settings: ") and says in err, err
    assert "validation error" not in err and "errors.pydantic.dev" not in err


def test_a_ca_file_that_is_not_pem_is_a_usage_error_not_a_broker_down(tmp_path):
    """librdkafka refuses it when the client is made; that is not a broker that does not answer."""
    from mesh.io.bus import require_broker

    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("not a certificate\n")
    s = Settings(kafka_security_protocol="SSL", kafka_ssl_cafile=not_pem, bootstrap_servers="127.0.0.1:1")
    with pytest.raises(InvalidInput, match="SWITCHBOARD_KAFKA_SSL_CAFILE") as info:
        require_broker(s, 1.0)
    assert explain(info.value, s)[1] == 2
    assert settings_error(ValueError("x")).startswith("error: bad settings: x")


def test_tls_settings_survive_the_environment_handed_to_agents(pki, monkeypatch):
    s = kafka_mtls(pki, kafka_ssl_check_hostname=False, redis_url="rediss://cache:6380/0", redis_ssl_ca_certs=pki.ca,
                   redis_ssl_certfile=pki.client_cert, redis_ssl_keyfile=pki.client_key)
    for name, value in s.to_env().items():
        monkeypatch.setenv(name, value)
    again = Settings()
    assert confluent_tls(again) == confluent_tls(s) and redis_tls(again) == redis_tls(s)


# ---- confluent-kafka (librdkafka) configuration

def test_confluent_mutual_tls(pki):
    assert confluent_tls(kafka_mtls(pki)) == {
        "security.protocol": "SSL", "ssl.endpoint.identification.algorithm": "https",
        "ssl.ca.location": str(pki.ca), "ssl.certificate.location": str(pki.client_cert),
        "ssl.key.location": str(pki.client_key)}


def test_confluent_server_only_tls_without_hostname_check(pki):
    s = Settings(kafka_security_protocol="SSL", kafka_ssl_check_hostname=False)
    assert confluent_tls(s) == {"security.protocol": "SSL", "ssl.endpoint.identification.algorithm": "none"}


def test_confluent_clients_of_the_bus_get_the_tls_keys(pki):
    from mesh.io.bus import _base

    base = _base(kafka_mtls(pki))
    assert base["security.protocol"] == "SSL" and base["ssl.key.location"] == str(pki.client_key)


# ---- aiokafka / Faust SSLContext

def _handshake(client: ssl.SSLContext, server: ssl.SSLContext, hostname: str) -> dict:
    """A TLS handshake in memory; returns the certificate the server saw from the client."""
    c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    c = client.wrap_bio(c_in, c_out, server_hostname=hostname)
    s = server.wrap_bio(s_in, s_out, server_side=True)
    done = {"c": False, "s": False}
    for _ in range(20):
        for name, obj in (("c", c), ("s", s)):
            if not done[name]:
                try:
                    obj.do_handshake()
                    done[name] = True
                except ssl.SSLWantReadError:
                    pass
        s_in.write(c_out.read())
        c_in.write(s_out.read())
        if all(done.values()):
            c.write(b"ping")  # TLS 1.3 sends the client's certificate verdict after the handshake
            s_in.write(c_out.read())
            assert s.read(4) == b"ping"
            return s.getpeercert()
    raise AssertionError("handshake did not finish")


def _server(pki, require_client_cert: bool = True) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki.server_cert, pki.server_key)
    ctx.load_verify_locations(pki.ca)
    ctx.verify_mode = ssl.CERT_REQUIRED if require_client_cert else ssl.CERT_NONE
    return ctx


def test_ssl_context_verifies_the_server_and_presents_the_client_certificate(pki):
    ctx = kafka_ssl_context(kafka_mtls(pki))
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    seen = _handshake(ctx, _server(pki), "127.0.0.1")
    assert dict(x[0] for x in seen["subject"])["commonName"] == "switchboard test client"


def test_ssl_context_refuses_a_server_its_ca_did_not_sign(pki):
    s = Settings(kafka_security_protocol="SSL", kafka_ssl_cafile=pki.other_ca)
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(kafka_ssl_context(s), _server(pki, require_client_cert=False), "127.0.0.1")


def test_ssl_context_checks_the_host_name_unless_told_not_to(pki):
    with pytest.raises(ssl.SSLCertVerificationError, match="mismatch"):
        _handshake(kafka_ssl_context(kafka_mtls(pki)), _server(pki), "kafka.example.com")
    assert _handshake(kafka_ssl_context(kafka_mtls(pki, kafka_ssl_check_hostname=False)), _server(pki),
                      "kafka.example.com")


def test_a_key_that_is_not_the_certificates_is_a_clear_error(pki):
    s = Settings(kafka_security_protocol="SSL", kafka_ssl_certfile=pki.client_cert, kafka_ssl_keyfile=pki.server_key)
    with pytest.raises(InvalidInput, match="kafka TLS files cannot be used") as info:
        kafka_ssl_context(s)
    message, code = explain(info.value, s)  # the CLI: one line naming the settings, a usage error's exit code
    assert code == 2 and message.startswith("error:") and "\n" not in message
    assert "SWITCHBOARD_KAFKA_SSL_KEYFILE" in message


def test_faust_app_hands_the_context_to_aiokafka(pki):
    from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

    from mesh.io.kafka_security import faust_credentials

    auth = credentials_to_aiokafka_auth(faust_credentials(kafka_mtls(pki)))
    assert auth["security_protocol"] == "SSL" and auth["ssl_context"].verify_mode == ssl.CERT_REQUIRED
    assert faust_credentials(Settings()) is None


# ---- redis-py keyword arguments and clients

def test_rediss_without_files_still_verifies_the_server():
    assert redis_tls(Settings(redis_url="rediss://cache:6380/0")) == {"ssl_cert_reqs": "required"}


def test_redis_mutual_tls_arguments_reach_both_clients(pki):
    s = Settings(redis_url="rediss://cache:6380/0", redis_ssl_ca_certs=pki.ca, redis_ssl_certfile=pki.client_cert,
                 redis_ssl_keyfile=pki.client_key)
    expected = {"ssl_cert_reqs": "required", "ssl_ca_certs": str(pki.ca), "ssl_certfile": str(pki.client_cert),
                "ssl_keyfile": str(pki.client_key)}
    assert redis_tls(s) == expected
    for client in (sync_redis(s, socket_timeout=1), async_redis(s, socket_timeout=1)):
        kwargs = client.connection_pool.connection_kwargs
        assert expected.items() <= kwargs.items() and kwargs["socket_timeout"] == 1
        assert "SSL" in client.connection_pool.connection_class.__name__


def test_a_plain_url_gives_a_plain_client():
    client = sync_redis("redis://127.0.0.1:6379/0")
    assert "ssl_certfile" not in client.connection_pool.connection_kwargs
