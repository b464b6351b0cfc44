"""mesh.client and mesh.io.bus refuse careless input before anything is sent, and raise the project's
errors, never a client library's: a question without words, an oversized message, a broker or Redis
that does not answer."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError, KafkaException
from redis.exceptions import ConnectionError as RedisConnectionError

import mesh.client
from mesh.cli.errors import explain
from mesh.client import Client, parse_documents, prepared_question
from mesh.errors import BrokerUnavailable, InvalidInput, MessageTooLarge, RedisUnavailable
from mesh.io.bus import Publisher, kafka_error, message_size
from mesh.settings import Settings
from mesh.wire.codec import default_codec
from mesh.wire.topics import Topics
from schemas.models import Principal

pytestmark = pytest.mark.unit

SETTINGS = Settings(bootstrap_servers="127.0.0.1:1", redis_url="redis://127.0.0.1:2/0", max_message_bytes=2000,
                    encrypt_at_rest=False, max_question_chars=200)
WHO = Principal(tenant_id="acme", user_id="u1")


# ---- questions

@pytest.mark.parametrize("question, code", [("\x00\x00\x00", "question_without_words"),
                                            (" \r\n\t ", "question_without_words"),
                                            ("\u202e?!\u2066", "question_without_words"),
                                            ("x" * 201, "question_too_long")])
def test_a_question_the_mesh_would_refuse_is_refused_at_the_client(question, code):
    with pytest.raises(InvalidInput) as info:
        prepared_question(question, 200)
    assert info.value.code == code
    message, exit_code = explain(info.value, SETTINGS)  # the CLI: one line, a usage error
    assert exit_code == 2 and message.startswith("error: the question ") and "\n" not in message


def test_a_carriage_return_does_not_split_a_question():
    assert prepared_question("How long are\rlogs kept?", 200) == "How long are logs kept?"


# ---- message sizes

def test_message_size_is_an_upper_bound_of_what_librdkafka_counts():
    publisher = Publisher(Settings(bootstrap_servers="127.0.0.1:1", max_message_bytes=1000))
    headers = {"traceparent": b"x" * 55}
    fits = b"v" * (1000 - message_size(b"key", b"", headers))
    assert message_size(b"key", fits, headers) == 1000
    publisher.send("t", b"key", fits, headers)  # librdkafka's own check takes what ours lets through
    with pytest.raises(MessageTooLarge) as info:
        publisher.send("t", b"key", fits + b"v", headers)
    assert "1,001 bytes" in str(info.value) and "limit of 1,000" in str(info.value)
    assert "SWITCHBOARD_MAX_MESSAGE_BYTES" in str(info.value) and "nothing was sent" in str(info.value)


def _offline_client(monkeypatch) -> Client:
    """A Client that never reaches a broker: Tail is forbidden, so a refusal must come before it."""
    monkeypatch.setattr(mesh.client, "require_broker", lambda *a: None)
    monkeypatch.setattr(mesh.client, "configure_tracing", lambda *a: None)
    monkeypatch.setattr(mesh.client, "Tail", lambda *a, **k: pytest.fail("the client reached the broker"))
    client = Client(SETTINGS, codec=default_codec())
    client.sent = []
    send = client._publisher.send
    client._publisher.send = lambda topic, *a: (client.sent.append(topic), send(topic, *a))
    return client


def test_an_oversized_document_is_named_and_nothing_is_published(monkeypatch):
    client = _offline_client(monkeypatch)
    docs, _ = parse_documents(['{"id": "small", "text": "Fine."}', '{"id": "huge", "text": "%s"}' % ("w " * 2000)],
                              "acme")
    with pytest.raises(MessageTooLarge) as info:
        client.ingest(docs)
    assert "document 'huge'" in str(info.value) and "limit of 2,000" in str(info.value)
    assert "split it" in str(info.value)
    assert client.sent == []  # not even the small one


def test_an_oversized_question_is_refused_before_sending(monkeypatch):
    client = _offline_client(monkeypatch)
    with pytest.raises(InvalidInput, match="question_too_long|more than the limit of 200"):
        client.ask("why? " * 10_000, WHO)
    with pytest.raises(InvalidInput, match="no words"):
        client.ask("\x00\x00\x00", WHO)
    with pytest.raises(MessageTooLarge, match="the task is .* bytes"):  # a large output schema
        client.submit("What is kept?", WHO, output_schema='{"type": "object", "description": "%s"}' % ("d" * 3000))
    assert client.sent == []


# ---- foreign exceptions

class _Failing:
    def __init__(self, err: Exception) -> None:
        self.err = err

    def __getattr__(self, name):
        def fail(*args, **kwargs):
            raise self.err
        return fail


@pytest.mark.parametrize("err, kind, says", [
    (KafkaException(KafkaError(KafkaError._TRANSPORT, "Broker transport failure")), BrokerUnavailable,
     "the Kafka broker at 127.0.0.1:1 did not answer"),
    (KafkaException(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE, "Message size too large")), MessageTooLarge,
     "too large"),
])
def test_client_raises_its_own_errors_for_the_brokers(monkeypatch, err, kind, says):
    client = _offline_client(monkeypatch)
    client._publisher = _Failing(err)
    with pytest.raises(kind, match=says) as info:
        client.submit("What is kept?", WHO)
    assert info.value.__cause__ is err


def test_client_raises_its_own_errors_for_redis(monkeypatch):
    client = _offline_client(monkeypatch)
    client._redis = _Failing(RedisConnectionError("Connection refused"))
    with pytest.raises(RedisUnavailable, match="Redis at 127.0.0.1:2/0 did not answer"):
        client.task_status("t1", "acme")


def test_kafka_errors_become_the_projects():
    refused = kafka_error(KafkaException(KafkaError(KafkaError._INVALID_ARG, "ssl.key.location failed: PEM lib")),
                          SETTINGS, "starting")
    assert isinstance(refused, InvalidInput) and "SWITCHBOARD_KAFKA_SSL_KEYFILE" in str(refused)
    assert isinstance(kafka_error(KafkaException(KafkaError(KafkaError._MSG_TIMED_OUT)), SETTINGS, "x"),
                      BrokerUnavailable)
    assert Topics("").name("tasks.submitted") == "tasks.submitted"
