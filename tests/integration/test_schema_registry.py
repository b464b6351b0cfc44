"""The mesh with a schema registry: what it writes is in the Confluent wire format, read by Confluent's own code.

A real registry (Apicurio Registry, in memory, Confluent API at /apis/ccompat/v7; `make setup` builds it,
``infra.schema_registry`` starts it) and a mesh of this module's own told SWITCHBOARD_SCHEMA_REGISTRY_URL.
A task published the Python client's default way (Avro single-object encoding) is answered, and its
result on ``tasks.completed`` is read with confluent-kafka's ``AvroDeserializer``; a task framed by
confluent-kafka's ``AvroSerializer`` under a schema id the mesh never registered is answered too.
"""

from __future__ import annotations

import json
import time

import pytest
from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from infra.ports import free_port
from infra.schema_registry import start_registry
from mesh.client import Client
from mesh.errors import DeterministicError
from mesh.io.bus import Tail
from mesh.ops.stack import Mesh
from mesh.security.sealing import sealer_for
from mesh.wire.envelope import new_envelope
from mesh.wire.schema_json import standalone
from mesh.wire.schema_registry import SchemaRegistry
from mesh.wire.topics import Topics
from schemas.models import Principal, TaskStatus, TaskSubmitted
from tests.integration.conftest import make_settings
from tests.integration.test_answer_end_to_end import ingest

pytestmark = pytest.mark.integration

QUESTION = "How long are audit logs retained?"


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    started = time.monotonic()
    reg = start_registry(free_port(), tmp_path_factory.mktemp("registry"))
    print(f"schema registry answered after {time.monotonic() - started:.1f} s at {reg.url}")
    yield reg
    reg.stop()


@pytest.fixture(scope="module")
def framed(registry, tmp_path_factory):
    """The settings of a running mesh that frames what it writes with the registry's ids."""
    mesh = Mesh(make_settings(tmp_path_factory.mktemp("framed"), schema_registry_url=registry.url))
    mesh.start()
    yield mesh.settings
    mesh.stop()


def raw_value(settings, logical: str, task_id: str, timeout_s: float = 30.0) -> bytes:
    """The value of the first message of ``task_id`` on a topic, as it is on the wire."""
    tail = Tail(settings, Topics(settings.topic_prefix).name(logical), from_beginning=True)
    try:
        msg = tail.first(lambda m: m.key() == task_id.encode(), timeout_s)
    finally:
        tail.close()
    assert msg is not None, f"no message of task {task_id} on {logical}"
    return msg.value()


def test_confluent_deserializer_reads_the_answer_to_a_task_published_single_object(framed, registry, tenant):
    client = ingest(framed, tenant)
    task = client.submit(QUESTION, Principal(tenant_id=tenant, user_id="u1"))
    task_id = task.envelope.task_id
    assert client.result(task_id, 60).status is TaskStatus.answered
    assert raw_value(framed, "tasks.submitted", task_id)[:2] == b"\xc3\x01"  # the client's default framing

    data = raw_value(framed, "tasks.completed", task_id)
    assert data[0] == 0x00
    topic = Topics(framed.topic_prefix).name("tasks.completed")
    deserialize = AvroDeserializer(SchemaRegistryClient({"url": registry.url}))
    value = deserialize(data, SerializationContext(topic, MessageField.VALUE))
    assert value["envelope"]["task_id"] == task_id and value["status"] == "answered"
    answer = sealer_for(framed).open(tenant, "answer", value["answer"])  # the mesh seals answers at rest
    assert "400 days" in answer and "[1]" in answer
    assert value["citations"][0]["doc_id"] == "retention"
    with pytest.raises(DeterministicError) as unreadable:  # a client without the setting says why, not waits
        Client(framed.model_copy(update={"schema_registry_url": ""})).result(task_id, 30)
    assert unreadable.value.code == "no_schema_registry"


def test_every_topic_has_its_subject_with_backward_compatibility(framed, registry):
    confluent = SchemaRegistryClient({"url": registry.url})
    topics = Topics(framed.topic_prefix)
    assert {f"{t}-value" for t in topics.all()} <= set(confluent.get_subjects())
    subject = f"{topics.name('tasks.completed')}-value"
    assert confluent.get_compatibility(subject) == "BACKWARD"
    latest = confluent.get_latest_version(subject)
    assert json.loads(latest.schema.schema_str) == json.loads(standalone("switchboard.TaskCompleted"))


def test_a_task_framed_by_a_confluent_serializer_under_a_new_id_is_answered(framed, registry, tenant):
    client = ingest(framed, tenant)
    schema = json.loads(standalone("switchboard.TaskSubmitted"))
    schema["doc"] = "TaskSubmitted as another team registered it"  # another text: another id, same record
    confluent = SchemaRegistryClient({"url": registry.url})
    topic = Topics(framed.topic_prefix).name("tasks.submitted")
    serialize = AvroSerializer(confluent, json.dumps(schema), conf={"auto.register.schemas": True})
    task = TaskSubmitted(envelope=new_envelope(tenant, "submitted"), principal=Principal(tenant_id=tenant, user_id="u2"),
                         question=sealer_for(framed).seal(tenant, "question", QUESTION))
    value = serialize(task.model_dump(mode="python"), SerializationContext(topic, MessageField.VALUE))
    mesh_id = SchemaRegistry(registry.url).register(f"{topic}-value", standalone("switchboard.TaskSubmitted"))
    assert value[0] == 0x00 and int.from_bytes(value[1:5], "big") != mesh_id

    producer = Producer({"bootstrap.servers": framed.bootstrap_servers})
    producer.produce(topic, value, task.envelope.task_id.encode())
    assert producer.flush(30) == 0
    result = client.result(task.envelope.task_id, 60)
    assert result.status is TaskStatus.answered and "400 days" in result.answer
    assert result.citations[0].doc_id == "retention"


def test_the_registry_refuses_what_would_break_readers_and_names_unknown_ids(framed, registry):
    subject = f"{Topics(framed.topic_prefix).name('tasks.completed')}-value"
    breaking = json.loads(standalone("switchboard.TaskCompleted"))
    breaking["fields"].append({"name": "reviewer", "type": "string"})  # no default: old records lack it
    with pytest.raises(DeterministicError) as refused:
        SchemaRegistry(registry.url).register(subject, json.dumps(breaking))
    assert refused.value.code == "incompatible_schema" and "BACKWARD" in str(refused.value)
    with pytest.raises(DeterministicError) as unknown:
        SchemaRegistry(registry.url).schema(987654)
    assert unknown.value.code == "unknown_schema_id" and "987654" in str(unknown.value)
