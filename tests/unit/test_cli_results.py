"""mesh.cli.results: what `ask` prints. Document and model text reaches a terminal with no escape
sequence or control character; `--json` keeps every character, escaped."""

from __future__ import annotations

import json
import re

import pytest

from mesh.cli.results import print_result, result_json
from schemas.models import Citation, Rejection, TaskCompleted, TaskStatus
from tests.unit.samples import envelope

pytestmark = pytest.mark.unit

ESC_TITLE = "Runbook\x1b[2J\x1b]0;pwned\x07\r"
ESC_ANSWER = "Breakers open\x1b[31m fast\x1b[0m.\x9b2J [1]\x00\x08"
CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _result(**fields) -> TaskCompleted:
    return TaskCompleted(envelope=envelope("completed"), **fields)


def test_text_output_carries_no_escape_sequence_or_control(capsys):
    print_result(_result(status=TaskStatus.answered, answer=ESC_ANSWER, degraded="note\x1b]8;;x\x07",
                         citations=[Citation(doc_id="doc\x1b[1m", passage_id="p0", title=ESC_TITLE)]))
    print_result(_result(status=TaskStatus.rejected, rejection=Rejection(
        kind="semantic", code="policy_denied", message="denied \x1b[2J", agent="planner")), question="q\x1b[2J?")
    out = capsys.readouterr().out
    assert not CONTROLS.search(out), repr(out)
    assert "Runbook" in out and "Breakers open fast. [1]" in out and "pwned" not in out


def test_json_output_keeps_every_character_escaped():
    result = _result(status=TaskStatus.answered, answer=ESC_ANSWER,
                     citations=[Citation(doc_id="d", passage_id="p0", title=ESC_TITLE)])
    line = json.dumps(result_json(result))
    assert not CONTROLS.search(line) and "\\u001b[2J" in line  # escaped on the wire, never raw
    body = json.loads(line)
    assert body["answer"] == ESC_ANSWER and body["citations"][0]["title"] == ESC_TITLE
