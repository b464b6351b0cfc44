"""The Confluent wire format beside Avro single-object encoding: how records are framed, read and refused.

The registry client (``mesh.wire.schema_registry``) runs unchanged against an in-memory registry that
answers its HTTP requests the way the Confluent API does (``urlopen`` replaced); the integration test
``tests/integration/test_schema_registry.py`` runs it against a real one.
"""

from __future__ import annotations

import io
import json
import urllib.error
from urllib.parse import unquote, urlparse

import fastavro
import pytest

import mesh.wire.schema_registry as http
from mesh.errors import DeterministicError
from mesh.wire.codec import MAGIC, AvroCodec, default_codec
from mesh.wire.schema_json import standalone
from mesh.wire.schema_registry import SchemaRegistry
from mesh.wire.topics import Topics
from schemas.models import TaskCompleted, TaskStatus
from tests.unit.samples import envelope, samples

pytestmark = pytest.mark.unit

URL = "http://registry.test/apis/ccompat/v7"
SAMPLES = samples()


class _Reply(io.BytesIO):
    status = 200

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class FakeRegistry:
    """What a Confluent-compatible registry answers to the calls the mesh makes; ids are per schema text."""

    def __init__(self) -> None:
        self.texts: dict[int, str] = {}
        self.subjects: dict[str, list[int]] = {}
        self.compatibility: dict[str, str] = {}
        self.refuse: set[str] = set()  # subjects whose next version is "incompatible"
        self.calls: list[tuple[str, str]] = []
        self.down = False

    def urlopen(self, request, timeout: float):
        if self.down:
            raise urllib.error.URLError(ConnectionRefusedError(111, "Connection refused"))
        path = unquote(urlparse(request.full_url).path.removeprefix(urlparse(URL).path))
        method, body = request.get_method(), json.loads(request.data) if request.data else None
        self.calls.append((method, path))
        parts = path.strip("/").split("/")
        if method == "PUT" and parts[0] == "config":
            self.compatibility[parts[1]] = body["compatibility"]
            return _Reply(json.dumps(body).encode())
        if method == "POST" and parts[0] == "subjects" and len(parts) == 2:  # is this schema registered here?
            known = [i for i in self.subjects.get(parts[1], []) if self.texts[i] == body["schema"]]
            if not known:
                raise self._error(404, 40403 if parts[1] in self.subjects else 40401, "Schema not found")
            return _Reply(json.dumps({"id": known[0], "subject": parts[1]}).encode())
        if method == "POST" and parts[0] == "subjects" and parts[2] == "versions":
            if parts[1] in self.refuse:
                raise self._error(409, 409, "Schema being registered is incompatible with an earlier schema")
            schema_id = next((i for i, t in self.texts.items() if t == body["schema"]), len(self.texts) + 1)
            self.texts[schema_id] = body["schema"]
            self.subjects.setdefault(parts[1], []).append(schema_id)
            return _Reply(json.dumps({"id": schema_id}).encode())
        if method == "GET" and parts[:2] == ["schemas", "ids"]:
            if int(parts[2]) not in self.texts:
                raise self._error(404, 40403, "Schema not found")
            return _Reply(json.dumps({"schema": self.texts[int(parts[2])]}).encode())
        raise self._error(404, 40401, "Subject not found")

    @staticmethod
    def _error(status: int, code: int, message: str) -> urllib.error.HTTPError:
        body = io.BytesIO(json.dumps({"error_code": code, "message": message}).encode())
        return urllib.error.HTTPError(URL, status, message, {}, body)


@pytest.fixture
def registry(monkeypatch) -> FakeRegistry:
    fake = FakeRegistry()
    monkeypatch.setattr(http.urllib.request, "urlopen", fake.urlopen)
    monkeypatch.setattr(http.time, "sleep", lambda s: None)
    return fake


@pytest.fixture
def codec(registry) -> AvroCodec:
    return default_codec().with_registry(SchemaRegistry(URL))


def _completed() -> TaskCompleted:
    return TaskCompleted(envelope=envelope(), status=TaskStatus.answered, answer="Kept for 400 days [1].")


def _confluent(schema_id: int, schema: dict, body: dict) -> bytes:
    buf = io.BytesIO()
    buf.write(b"\x00" + schema_id.to_bytes(4, "big"))
    fastavro.schemaless_writer(buf, fastavro.parse_schema(schema), body)
    return buf.getvalue()


# --- framing ----------------------------------------------------------------------------------

def test_a_record_written_to_a_topic_is_framed_with_its_schema_id(codec, registry):
    data = codec.encode(_completed(), "p.tasks.completed")
    assert data[0] == 0x00
    schema_id = int.from_bytes(data[1:5], "big")
    assert registry.subjects == {"p.tasks.completed-value": [schema_id]}
    assert registry.texts[schema_id] == standalone("switchboard.TaskCompleted")
    body = fastavro.schemaless_reader(io.BytesIO(data[5:]), fastavro.parse_schema(json.loads(registry.texts[schema_id])),
                                      None)
    assert body["answer"] == "Kept for 400 days [1]." and body["status"] == "answered"


def test_each_subject_is_set_backward_before_its_first_version(codec, registry):
    codec.encode(_completed(), "tasks.completed")
    assert registry.compatibility == {"tasks.completed-value": "BACKWARD"}
    assert registry.calls == [("POST", "/subjects/tasks.completed-value"), ("PUT", "/config/tasks.completed-value"),
                              ("POST", "/subjects/tasks.completed-value/versions")]


def test_a_schema_the_subject_holds_is_only_looked_up(registry):
    default_codec().with_registry(SchemaRegistry(URL)).encode(_completed(), "tasks.completed")
    registry.calls.clear()
    data = default_codec().with_registry(SchemaRegistry(URL)).encode(_completed(), "tasks.completed")  # another agent
    assert registry.calls == [("POST", "/subjects/tasks.completed-value")]
    assert data[1:5] == registry.subjects["tasks.completed-value"][0].to_bytes(4, "big")


def test_the_registry_is_asked_once_per_topic(codec, registry):
    for _ in range(3):
        codec.encode(_completed(), "tasks.completed")
    codec.encode(_completed(), "tasks.completed.dlq")
    assert [c for c in registry.calls if c[1].endswith("/versions")] == [
        ("POST", "/subjects/tasks.completed-value/versions"), ("POST", "/subjects/tasks.completed.dlq-value/versions")]
    assert len(registry.calls) == 6


def test_register_names_every_topic_and_dead_letter_topic(codec, registry):
    codec.register(Topics("p.").records())
    assert sorted(registry.subjects) == sorted(f"{t}-value" for t in Topics("p.").all())


def test_without_a_topic_or_a_registry_the_record_stays_single_object(codec):
    assert codec.encode(_completed())[:2] == MAGIC
    assert default_codec().encode(_completed(), "tasks.completed")[:2] == MAGIC


@pytest.mark.parametrize("record", SAMPLES, ids=lambda r: type(r).__name__)
def test_both_framings_decode_to_the_same_record(codec, record):
    confluent, single = codec.encode(record, "some.topic"), codec.encode(record)
    assert confluent[0] == 0x00 and single[:2] == MAGIC
    assert codec.decode(confluent) == codec.decode(single) == record


def test_a_record_another_producer_wrote_with_an_older_schema_is_resolved_to_ours(codec, registry):
    older = json.loads(standalone("switchboard.TaskCompleted"))
    older["fields"] = [f for f in older["fields"] if f["name"] != "unfinished"]
    registry.texts[7] = json.dumps(older)
    completed = _completed()
    body = completed.model_dump(mode="python")
    del body["unfinished"]
    record = codec.decode(_confluent(7, older, body))
    assert record == completed and record.unfinished == []


# --- refusals ---------------------------------------------------------------------------------

def test_an_unknown_schema_id_says_which_and_what_to_do(codec):
    with pytest.raises(DeterministicError) as info:
        codec.decode(b"\x00" + (4242).to_bytes(4, "big") + b"\x02")
    assert info.value.code == "unknown_schema_id"
    assert "schema id 4242" in str(info.value) and "SWITCHBOARD_SCHEMA_REGISTRY_URL" in str(info.value)


def test_an_id_naming_a_record_of_no_topic_is_refused(codec, registry):
    registry.texts[9] = json.dumps({"type": "record", "name": "Order", "namespace": "shop",
                                    "fields": [{"name": "sku", "type": "string"}]})
    with pytest.raises(DeterministicError) as info:
        codec.decode(_confluent(9, json.loads(registry.texts[9]), {"sku": "A1"}))
    assert info.value.code == "unknown_schema" and "shop.Order" in str(info.value)


def test_a_confluent_record_without_a_registry_says_to_set_one():
    data = b"\x00\x00\x00\x00\x01" + default_codec().encode(_completed())[10:]
    with pytest.raises(DeterministicError) as info:
        default_codec().decode(data)
    assert info.value.code == "no_schema_registry" and "SWITCHBOARD_SCHEMA_REGISTRY_URL" in str(info.value)


@pytest.mark.parametrize("data", [b"\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b", b"{\"answer\": 1}", b"\xc3\x02" + bytes(20)],
                         ids=["byte_01", "json", "c3_without_01"])
def test_a_first_byte_of_neither_framing_is_refused_naming_both(codec, data):
    with pytest.raises(DeterministicError) as info:
        codec.decode(data)
    assert info.value.code == "bad_header"
    assert "c301" in str(info.value) and "Confluent" in str(info.value)


def test_a_cut_confluent_header_is_refused(codec):
    with pytest.raises(DeterministicError) as info:
        codec.decode(b"\x00\x00\x01")
    assert info.value.code == "bad_header"


def test_an_incompatible_schema_is_refused_saying_what_to_do(codec, registry):
    registry.refuse.add("tasks.completed-value")
    with pytest.raises(DeterministicError) as info:
        codec.encode(_completed(), "tasks.completed")
    assert info.value.code == "incompatible_schema" and "BACKWARD" in str(info.value)


def test_a_registry_that_does_not_answer_is_named(codec, registry):
    registry.down = True
    with pytest.raises(DeterministicError) as info:
        codec.encode(_completed(), "tasks.completed")
    assert info.value.code == "schema_registry_unreachable"
    assert URL in str(info.value) and "SWITCHBOARD_SCHEMA_REGISTRY_URL" in str(info.value)
