"""The wire contract: every Avro schema parses, agrees with its pydantic model, and routes a topic."""

from __future__ import annotations

import io
from enum import Enum
from pathlib import Path

import fastavro
import fastavro.schema
import fastavro.validation
import pytest

from mesh.wire.schema_check import mismatches
from mesh.wire.topics import TOPICS
from schemas import SCHEMA_DIR
from schemas.models import RECORDS, Citation, DeadLetter, Record, StepFailure, StepStatus, Usage
from tests.unit.samples import samples

pytestmark = pytest.mark.contract

AVSC = sorted(SCHEMA_DIR.glob("*.avsc"))


def load(name: str) -> dict:
    return fastavro.schema.load_schema(str(SCHEMA_DIR / f"{name}.avsc"), named_schemas={})


def test_there_are_schemas():
    assert len(AVSC) >= len(RECORDS)


@pytest.mark.parametrize("path", AVSC, ids=lambda p: p.stem)
def test_every_avsc_parses(path):
    schema = fastavro.schema.load_schema(str(path), named_schemas={})
    assert schema["name"] == path.stem  # the file is named after the full name it defines


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_every_record_has_a_schema_file(name):
    assert (SCHEMA_DIR / f"{name}.avsc").exists()


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_model_agrees_with_schema(name):
    assert RECORDS[name].__avro__ == name
    assert mismatches(RECORDS[name], load(name)) == []


# --- the check itself finds differences -------------------------------------------------------------

class UsageMissingField(Record):
    __avro__ = "switchboard.Usage"
    model: str
    prompt_tokens: int = 0


class UsageWrongType(Record):
    __avro__ = "switchboard.Usage"
    model: str
    prompt_tokens: str = "0"
    completion_tokens: int = 0


class UsageWrongDefault(Record):
    __avro__ = "switchboard.Usage"
    model: str
    prompt_tokens: int = 1
    completion_tokens: int = 0


class UsageReordered(Record):
    __avro__ = "switchboard.Usage"
    model: str
    completion_tokens: int = 0
    prompt_tokens: int = 0


class CitationOptionalTitle(Record):
    __avro__ = "switchboard.Citation"
    doc_id: str
    passage_id: str
    title: str | None = None  # schema: a plain string with default ""


class CitationRequiredTitle(Record):
    __avro__ = "switchboard.Citation"
    doc_id: str
    passage_id: str
    title: str  # schema has a default; the model demands a value


class FewerStatuses(str, Enum):
    passed = "passed"
    failed = "failed"


class StepDoneWrongSymbols(Record):
    __avro__ = "switchboard.StepDone"
    envelope: RECORDS["switchboard.StepDone"].model_fields["envelope"].annotation
    status: FewerStatuses
    answer: str = ""
    citations: list[Citation] = []
    usage: Usage
    reasons: list[str] = []
    degraded: str | None = None
    endpoint: str = ""
    failure: StepFailure | None = None


class StepDoneWrongNestedUsage(Record):
    __avro__ = "switchboard.StepDone"
    envelope: RECORDS["switchboard.StepDone"].model_fields["envelope"].annotation
    status: StepStatus
    answer: str = ""
    citations: list[Citation] = []
    usage: UsageWrongType
    reasons: list[str] = []
    degraded: str | None = None
    endpoint: str = ""
    failure: StepFailure | None = None


class DeadLetterRequiredKey(Record):
    __avro__ = "switchboard.DeadLetter"
    topic: str
    partition: int
    offset: int
    key: bytes  # schema: ["null", "bytes"]
    value: bytes | None = None
    headers: dict[str, bytes] = {}
    error_kind: DeadLetter.model_fields["error_kind"].annotation
    reason: str
    agent: str
    failed_at: DeadLetter.model_fields["failed_at"].annotation


@pytest.mark.parametrize("wrong, schema, expect", [
    (UsageMissingField, "switchboard.Usage", "fields"),
    (UsageWrongType, "switchboard.Usage", "prompt_tokens"),
    (UsageWrongDefault, "switchboard.Usage", "default"),
    (UsageReordered, "switchboard.Usage", "fields"),
    (CitationOptionalTitle, "switchboard.Citation", "title"),
    (CitationRequiredTitle, "switchboard.Citation", "title"),
    (StepDoneWrongSymbols, "switchboard.StepDone", "symbols"),
    (StepDoneWrongNestedUsage, "switchboard.StepDone", "switchboard.Usage.prompt_tokens"),
    (DeadLetterRequiredKey, "switchboard.DeadLetter", "key"),
], ids=lambda v: v.__name__ if isinstance(v, type) else None)
def test_mismatches_reports_a_wrong_model(wrong, schema, expect):
    found = mismatches(wrong, load(schema))
    assert found, f"{wrong.__name__} differs from {schema} but mismatches() found nothing"
    assert any(expect in problem for problem in found), found


# --- topics ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("topic", sorted(TOPICS))
def test_every_topic_carries_a_known_record(topic):
    assert TOPICS[topic].__avro__ in RECORDS
    assert RECORDS[TOPICS[topic].__avro__] is TOPICS[topic]


def test_every_record_travels_somewhere():
    """Each record is a topic's or the dead-letter topics'; none is defined but never sent."""
    assert set(RECORDS.values()) == set(TOPICS.values()) | {DeadLetter}


# --- compatibility -----------------------------------------------------------------------------------

@pytest.mark.parametrize("record", samples(), ids=lambda r: type(r).__name__)
def test_data_written_with_a_schema_reads_back_with_it_as_reader(record):
    name = type(record).__avro__
    writer, reader = load(name), load(name)
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, writer, record.model_dump(mode="python"))
    buf.seek(0)
    data = fastavro.schemaless_reader(buf, writer, reader)
    assert type(record).model_validate(data) == record


BASELINE = Path(__file__).parent / "baseline"


def _baseline(name: str) -> dict | None:
    path = BASELINE / f"{name}.avsc"
    return fastavro.schema.load_schema(str(path), named_schemas={}) if path.exists() else None


def _baseline_writable(record) -> bool:
    """Whether the baseline schema can write this sample (it may use a symbol added since)."""
    try:
        fastavro.validation.validate(record.model_dump(mode="python"), _baseline(type(record).__avro__),
                                     raise_errors=True)
        return True
    except fastavro.validation.ValidationError:
        return False


@pytest.mark.parametrize("record", [r for r in samples() if _baseline(type(r).__avro__) and _baseline_writable(r)],
                         ids=lambda r: type(r).__name__)
def test_data_written_with_the_baseline_schema_reads_with_the_current_one(record):
    """Backward compatibility: what producers of the first release wrote, today's readers still read.

    ``baseline/`` holds the schemas as first released; a change that drops a default or a field
    readers need, or changes a type, fails here. Fields added since come back at their defaults.
    """
    name = type(record).__avro__
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, _baseline(name), record.model_dump(mode="python"))
    buf.seek(0)
    data = fastavro.schemaless_reader(buf, _baseline(name), load(name))
    back = type(record).model_validate(data)
    kept = {f["name"] for f in _baseline(name)["fields"]}
    assert back.model_dump(include=kept) == record.model_dump(include=kept)


def test_the_baseline_covers_every_record_of_the_first_release():
    assert len(list(BASELINE.glob("*.avsc"))) >= 20
