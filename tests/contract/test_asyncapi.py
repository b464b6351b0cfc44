"""The topics' contract (docs/asyncapi.yaml) is what ``mesh.ops.asyncapi`` renders, and valid AsyncAPI 3.0.

Validation uses the official JSON schema of AsyncAPI 3.0.0 from the npm package ``@asyncapi/specs``,
which `make setup` installs into infra/asyncapi/node_modules (nothing is downloaded here).
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path

import fastavro
import jsonschema
import pytest
import yaml

from mesh.cli.main import main
from mesh.ops.asyncapi import AVRO_FORMAT, DOC_PATH, REGENERATE, render
from mesh.wire.codec import default_codec
from mesh.wire.topics import TOPICS, Topics

pytestmark = pytest.mark.contract

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / DOC_PATH
SPEC = ROOT / "infra/asyncapi/node_modules/@asyncapi/specs/schemas/3.0.0.json"


@pytest.fixture(scope="module")
def doc() -> dict:
    return yaml.safe_load(DOC.read_text(encoding="utf-8"))


def test_the_file_is_what_the_code_renders():
    assert DOC.is_file(), f"{DOC_PATH} is missing: generate it with `{REGENERATE}`"
    written, rendered = DOC.read_text(encoding="utf-8"), render()
    if written != rendered:
        diff = "".join(list(difflib.unified_diff(written.splitlines(True), rendered.splitlines(True),
                                                 DOC_PATH, "rendered"))[:40])
        pytest.fail(f"{DOC_PATH} is stale: regenerate it with `{REGENERATE}` and commit it\n{diff}", pytrace=False)


def test_it_is_valid_asyncapi_3(doc):
    assert SPEC.is_file(), f"{SPEC.relative_to(ROOT)} is missing: run `make setup` (npm ci in infra/asyncapi)"
    validator = jsonschema.Draft7Validator(json.loads(SPEC.read_text(encoding="utf-8")))
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in validator.iter_errors(doc)]
    assert not errors, "\n".join(errors[:10])


def test_the_validator_would_catch_a_broken_document(doc):
    validator = jsonschema.Draft7Validator(json.loads(SPEC.read_text(encoding="utf-8")))
    broken = {**doc, "operations": {"x": {"action": "publish", "channel": {"$ref": "#/channels/tasks.submitted"}}}}
    assert list(validator.iter_errors(broken))


def test_every_topic_and_its_dead_letters_is_a_channel(doc):
    assert sorted(c["address"].removeprefix("{prefix}") for c in doc["channels"].values()) == sorted(Topics().all())


def test_each_message_schema_stands_alone_and_has_the_fingerprint_on_the_wire(doc):
    codec = default_codec()
    for name, message in doc["components"]["messages"].items():
        assert message["payload"]["schemaFormat"] == AVRO_FORMAT
        parsed = fastavro.parse_schema(message["payload"]["schema"], named_schemas={})
        canonical = fastavro.schema.to_parsing_canonical_form(parsed)
        assert fastavro.schema.fingerprint(canonical, "CRC-64-AVRO") == message["x-fingerprint"], name
        assert bytes.fromhex(message["x-fingerprint"]) == codec.fingerprint(message["title"])


def test_who_reads_what_and_what_a_client_sends(doc):
    ops = doc["operations"]
    assert ops["planner.reads.tasks.submitted"]["bindings"]["kafka"]["groupId"]["enum"] == ["switchboard-planner"]
    assert ops["client.sends.tasks.submitted"]["action"] == "send"
    assert ops["client.receives.tasks.completed"]["action"] == "receive"
    messages = doc["components"]["messages"]
    assert messages["TaskSubmitted"]["x-sealed-fields"] == ["question"]
    assert set(messages["TaskCompleted"]["x-sealed-fields"]) == {"answer", "degraded", "citations.title"}
    assert "task id" in messages["TaskSubmitted"]["bindings"]["kafka"]["key"]["description"]
    assert set(doc["components"]["schemas"]["Headers"]["properties"]) == {"traceparent", "tracestate", "sb-agent"}
    assert len(TOPICS) * 2 == len(doc["channels"])


def test_the_cli_prints_and_writes_it(capsys, tmp_path):
    assert main(["asyncapi"]) == 0
    assert capsys.readouterr().out == DOC.read_text(encoding="utf-8")
    assert main(["asyncapi", "--output", str(tmp_path / "a.yaml")]) == 0
    assert (tmp_path / "a.yaml").read_text(encoding="utf-8") == DOC.read_text(encoding="utf-8")
