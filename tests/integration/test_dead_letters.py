"""Bad input on a topic goes to its dead-letter topic with the reason; the agent goes on."""

from __future__ import annotations

import io
import uuid

import fastavro
import pytest

from mesh.bus import Publisher, read_all
from mesh.client import Client
from mesh.codec import MAGIC, default_codec
from mesh.envelope import new_envelope
from mesh.topics import Topics, dlq_of
from schemas.models import DeadLetter, Principal, TaskStatus, TaskSubmitted

pytestmark = pytest.mark.integration


def schema_violating_task(tenant: str) -> bytes:
    """A TaskSubmitted whose bytes decode but whose question is empty (the model requires one)."""
    codec = default_codec()
    good = TaskSubmitted(envelope=new_envelope(tenant, "submitted"), question="x",
                         principal=Principal(tenant_id=tenant, user_id="u"))
    body = good.model_dump(mode="python")
    body["question"] = ""
    buf = io.BytesIO()
    buf.write(MAGIC + codec.fingerprint(TaskSubmitted.__avro__))
    fastavro.schemaless_writer(buf, codec.schema(TaskSubmitted.__avro__), body)
    return buf.getvalue()


def test_garbage_and_invalid_records_are_dead_lettered_and_valid_task_still_answered(settings, tenant):
    topic = Topics(settings.topic_prefix).name("tasks.submitted")
    garbage, invalid = b"\x00not avro at all\xff", schema_violating_task(tenant)
    keys = {b"garbage-" + uuid.uuid4().hex.encode(): garbage, b"invalid-" + uuid.uuid4().hex.encode(): invalid}
    pub = Publisher(settings)
    for key, value in keys.items():
        pub.send(topic, key, value)
    pub.flush()

    result = Client(settings).ask("Is anyone there?", Principal(tenant_id=tenant, user_id="u"))
    assert result.status in (TaskStatus.answered, TaskStatus.no_answer)

    codec = default_codec()
    letters = {m.key(): codec.decode(m.value()) for m in read_all(settings, dlq_of(topic))}
    for key, value in keys.items():
        letter = letters[key]
        assert isinstance(letter, DeadLetter)
        assert letter.value == value  # the original bytes, untouched
        assert letter.topic == topic and letter.agent == "planner"
        assert letter.error_kind.value == "deterministic"
    reasons = {k.split(b"-")[0]: letters[k].reason for k in keys}
    assert "not Avro single-object encoding" in reasons[b"garbage"]
    assert "question" in reasons[b"invalid"] and "fails validation" in reasons[b"invalid"]
