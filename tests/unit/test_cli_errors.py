"""What the CLI says for errors its commands leave to it: one line, and the conventional exit code."""

from __future__ import annotations

import argparse
import json

import pytest
from confluent_kafka import KafkaError, KafkaException
from pydantic import ValidationError
from redis.exceptions import ConnectionError as RedisConnectionError

from infra.embedded import StackError
from mesh.cli.errors import explain
from mesh.cli.main import positive
from mesh.errors import InvalidInput, MessageTooLarge, TransientError
from mesh.ops.usage import parse_since
from mesh.settings import Settings
from schemas.models import Principal

pytestmark = pytest.mark.unit

SETTINGS = Settings(bootstrap_servers="127.0.0.1:1", redis_url="redis://user:secret@127.0.0.1:2/0")


def _validation_error() -> ValidationError:
    try:
        Principal(tenant_id="", user_id="u")
    except ValidationError as err:
        return err
    raise AssertionError("an empty tenant was accepted")


@pytest.mark.parametrize("err, code, says", [
    (KafkaException(KafkaError(KafkaError._TRANSPORT, "Broker transport failure")), 1,
     "the Kafka broker at 127.0.0.1:1 did not answer"),
    (RedisConnectionError("Connection refused"), 1, "Redis at 127.0.0.1:2/0 did not answer"),
    (TransientError("no route", code="x"), 1, "error: no route"),
    (InvalidInput("the question has no words", code="question_without_words"), 2, "error: the question has no"),
    (MessageTooLarge("document 'x' is 2,000,000 bytes"), 2, "error: document 'x' is 2,000,000 bytes"),
    (StackError("a mesh is still running"), 1, "error: a mesh is still running"),
    (_validation_error(), 2, "error: invalid input: tenant_id"),
    (FileNotFoundError(2, "No such file or directory", "/nope/x.jsonl"), 2, "/nope/x.jsonl: No such file"),
    (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"), 2, "not UTF-8"),
    (json.JSONDecodeError("Expecting value", "x", 0), 2, "not JSON (line 1, column 1"),
])
def test_known_errors_become_one_line_and_an_exit_code(err, code, says):
    message, exit_code = explain(err, SETTINGS)
    assert exit_code == code
    assert says in message and message.startswith("error:") and "\n" not in message
    assert "secret" not in message  # the Redis URL's password is never printed


def test_ctrl_c_is_130_and_quiet_and_a_bug_keeps_its_traceback():
    assert explain(KeyboardInterrupt(), SETTINGS) == ("", 130)
    assert explain(ZeroDivisionError("x"), SETTINGS) is None
    assert explain(ValueError("x"), SETTINGS) is None


@pytest.mark.parametrize("kind, text, ok", [(int, "3", 3), (float, "0.5", 0.5), (int, "0", None), (float, "-5", None),
                                            (int, "x", None)])
def test_positive_refuses_zero_negatives_and_words(kind, text, ok):
    parse = positive(kind)
    if ok is None:
        with pytest.raises(argparse.ArgumentTypeError):
            parse(text)
    else:
        assert parse(text) == ok


def test_an_empty_usage_window_is_refused_not_read_as_everything():
    assert parse_since("30m") == 1800
    with pytest.raises(ValueError, match="empty window"):
        parse_since("0m")
