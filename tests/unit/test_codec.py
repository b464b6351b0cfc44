"""mesh.wire.codec.AvroCodec: Avro single-object encoding of every record, and how it refuses bad bytes."""

from __future__ import annotations

import io

import fastavro
import fastavro.schema
import pytest

from mesh.errors import DeterministicError
from mesh.wire.codec import MAGIC, AvroCodec, register_with_faust
from schemas import SCHEMA_DIR
from schemas.models import RECORDS, ErrorKind, StepDone, StepFailure, StepStatus, TaskSubmitted, Usage
from tests.unit.samples import envelope, principal, samples

pytestmark = pytest.mark.unit

SAMPLES = samples()


def _id(record) -> str:
    return type(record).__name__


@pytest.fixture(scope="module")
def codec() -> AvroCodec:
    return AvroCodec()


# --- CRC-64-AVRO, written from the Avro specification, independent of fastavro -------------

EMPTY = 0xC15D213AA4D7A795
_MASK = (1 << 64) - 1


def _table() -> list[int]:
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (EMPTY if fp & 1 else 0)
        table.append(fp)
    return table


_TABLE = _table()


def crc64_avro(data: bytes) -> int:
    fp = EMPTY
    for byte in data:
        fp = (fp >> 8) ^ _TABLE[(fp ^ byte) & 0xFF]
    return fp & _MASK


@pytest.mark.parametrize("canonical, signed", [
    ('"null"', 7195948357588979594),
    ('"int"', 8247732601305521295),
    ('{"name":"foo","type":"record","fields":[{"name":"f1","type":"boolean"}]}', 7843277075252814651),
    ('"boolean"', -6970731678124411036),
])
def test_crc64_avro_reference_vectors(canonical, signed):
    """The test's own CRC matches Apache Avro's published vectors (share/test/data/schema-tests.txt)."""
    assert crc64_avro(canonical.encode()) == signed & _MASK


# --- round trips and the header ------------------------------------------------------------

def test_samples_cover_every_record():
    assert {type(r).__avro__ for r in SAMPLES} == set(RECORDS)


@pytest.mark.parametrize("record", SAMPLES, ids=_id)
def test_round_trip(codec, record):
    decoded = codec.decode(codec.encode(record))
    assert type(decoded) is type(record)
    assert decoded == record


@pytest.mark.parametrize("failure", [
    None,
    StepFailure(kind=ErrorKind.semantic, code="policy_denied", agent="executor", policy_ids=["a", "b"],
                message="no endpoint the policies let alice use can answer this"),
    StepFailure(kind=ErrorKind.deterministic, code="handler_crashed", agent="retriever",
                message="ZeroDivisionError: division by zero"),
], ids=["without", "policy_denied", "crashed"])
def test_a_step_done_round_trips_with_and_without_its_failure(codec, failure):
    done = StepDone(envelope=envelope("done", step_id="s1"), status=StepStatus.failed, usage=Usage(model=""),
                    reasons=["for people"], failure=failure)
    back = codec.decode(codec.encode(done))
    assert back == done and back.failure == failure
    if failure is not None:
        assert (back.failure.kind, back.failure.code, back.failure.agent, back.failure.policy_ids) == \
            (failure.kind, failure.code, failure.agent, failure.policy_ids)


@pytest.mark.parametrize("record", SAMPLES, ids=_id)
def test_header_is_marker_then_fingerprint(codec, record):
    data = codec.encode(record)
    name = type(record).__avro__
    assert data[:2] == b"\xc3\x01" == MAGIC
    assert data[2:10] == codec.fingerprint(name)
    assert len(codec.fingerprint(name)) == 8


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_fingerprint_is_crc64_avro_of_canonical_form_little_endian(codec, name):
    schema = fastavro.schema.load_schema(str(SCHEMA_DIR / f"{name}.avsc"), named_schemas={})
    canonical = fastavro.schema.to_parsing_canonical_form(schema)
    assert '"doc"' not in canonical  # the canonical form strips documentation
    assert codec.fingerprint(name) == crc64_avro(canonical.encode()).to_bytes(8, "little")


def test_fingerprints_are_distinct(codec):
    fps = [codec.fingerprint(n) for n in RECORDS]
    assert len(set(fps)) == len(fps)


def test_body_is_plain_avro_binary(codec):
    """After the 10-byte header comes exactly the schemaless Avro body, readable by any Avro library."""
    record = SAMPLES[2]
    data = codec.encode(record)
    raw = fastavro.schemaless_reader(io.BytesIO(data[10:]), codec.schema(type(record).__avro__), None)
    assert raw["question"] == record.question
    assert raw["envelope"]["task_id"] == record.envelope.task_id


# --- refusals: each a DeterministicError with its own code ----------------------------------

def _encoded_task(codec) -> bytes:
    return codec.encode(TaskSubmitted(envelope=envelope(), question="How long does Kafka keep records?",
                                      principal=principal()))


def _with_header(codec, name: str, body: dict) -> bytes:
    buf = io.BytesIO()
    buf.write(MAGIC + codec.fingerprint(name))
    fastavro.schemaless_writer(buf, codec.schema(name), body)
    return buf.getvalue()


def _empty_question(codec) -> bytes:
    """Valid Avro for TaskSubmitted whose question is blank: decodes, but the model refuses it."""
    good = TaskSubmitted(envelope=envelope(), question="placeholder", principal=principal())
    body = good.model_dump(mode="python")
    body["question"] = ""
    return _with_header(codec, "switchboard.TaskSubmitted", body)


BAD_INPUTS = {
    "garbage": (lambda c: b'{"question": "json, not avro"}', "bad_header"),
    "marker_only": (lambda c: MAGIC + b"\x00\x01", "bad_header"),
    "empty": (lambda c: b"", "empty"),
    "none": (lambda c: None, "empty"),
    "truncated": (lambda c: _encoded_task(c)[:-5], "bad_body"),
    "header_only": (lambda c: _encoded_task(c)[:10], "bad_body"),
    "unknown_fingerprint": (lambda c: MAGIC + b"\x01\x02\x03\x04\x05\x06\x07\x08" + _encoded_task(c)[10:],
                            "unknown_schema"),
    "invalid_record": (_empty_question, "invalid_record"),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_raises_deterministic_error_with_code(codec, case):
    make, code = BAD_INPUTS[case]
    with pytest.raises(DeterministicError) as info:
        codec.decode(make(codec))
    assert info.value.code == code
    assert info.value.kind is ErrorKind.deterministic and not info.value.retriable


def test_refusal_codes_are_distinct():
    assert {code for _, code in BAD_INPUTS.values()} == {"bad_header", "empty", "bad_body", "unknown_schema",
                                                          "invalid_record"}


def test_every_truncation_is_refused(codec):
    """No prefix of a message decodes to something: a cut anywhere in the body is bad_body."""
    data = _encoded_task(codec)
    for n in range(10, len(data)):
        with pytest.raises(DeterministicError) as info:
            codec.decode(data[:n])
        assert info.value.code == "bad_body", n


def test_invalid_record_names_the_field(codec):
    with pytest.raises(DeterministicError, match="question"):
        codec.decode(_empty_question(codec))


# --- Faust ------------------------------------------------------------------------------------

@pytest.mark.parametrize("record", SAMPLES[:3] + SAMPLES[-2:], ids=_id)
def test_faust_codec_round_trip(codec, record):
    from faust.serializers import codecs

    register_with_faust(codec)
    data = codecs.dumps("avro", record)
    assert data == codec.encode(record)
    assert codecs.loads("avro", data) == record


def test_faust_codec_refuses_bad_bytes(codec):
    from faust.serializers import codecs

    register_with_faust(codec)
    with pytest.raises(DeterministicError) as info:
        codecs.loads("avro", b"not avro at all")
    assert info.value.code == "bad_header"
