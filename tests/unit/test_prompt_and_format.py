"""mesh.llm.prompt (assembly, counting, citing), mesh.llm.output_format and mesh.llm.openai_client's parsing."""

from __future__ import annotations

import json

import pytest

from mesh.errors import TransientError
from mesh.llm.openai_client import _parse
from mesh.llm.output_format import format_problems, parse_json, schema_error
from mesh.llm.prompt import MESSAGE_OVERHEAD, assemble, cite
from mesh.text import count_tokens
from tests.unit.samples import passage

pytestmark = pytest.mark.unit

P = [passage("a", 0, text="Alpha is first."), passage("b", 0, text="Beta is second."),
     passage("c", 0, text="Gamma is third.")]


def test_the_prompt_numbers_the_context_and_counts_every_message():
    prompt = assemble("What is beta?", P)
    system, user = prompt.messages
    assert system["role"] == "system" and "[1]" in system["content"]
    assert "[1] The a: Alpha is first." in user["content"] and "[3] The c: Gamma is third." in user["content"]
    assert user["content"].endswith("Question: What is beta?")
    assert prompt.tokens == sum(count_tokens(m["content"]) + MESSAGE_OVERHEAD for m in prompt.messages)


def test_the_prompt_carries_the_schema_and_the_previous_rejection():
    prompt = assemble("q", P, output_schema='{"type": "object"}', feedback=["truncated: cut"])
    assert '{"type": "object"}' in prompt.messages[0]["content"]
    assert "truncated: cut" in prompt.messages[1]["content"]
    assert prompt.tokens > assemble("q", P).tokens


def test_cite_numbers_citations_in_order_of_first_use():
    text, citations = cite("Gamma. [3] Alpha. [1] Gamma again. [3]", P)
    assert text == "Gamma. [1] Alpha. [2] Gamma again. [1]"
    assert [c.doc_id for c in citations] == ["c", "a"]


def test_cite_keeps_a_marker_to_no_passage_outside_the_citations():
    text, citations = cite("Alpha. [1] Delta. [7]", P)
    assert text == "Alpha. [1] Delta. [2]" and [c.doc_id for c in citations] == ["a"]


def test_schema_errors():
    assert schema_error('{"type": "object"}') is None
    assert "not JSON" in schema_error("{nope")
    assert "not a valid JSON Schema" in schema_error('{"type": "objec"}')
    assert "must be a JSON object" in schema_error("[1]")


def test_format_problems():
    schema = json.dumps({"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}})
    assert format_problems('{"n": 1}', schema) == []
    assert format_problems('```json\n{"n": 1}\n```', schema) == []
    assert format_problems('{"n": "x"}', schema)[0].startswith("schema_violation: n:")
    assert format_problems('{"n": 1', schema)[0].startswith("invalid_json")
    assert parse_json(' {"a": [1]} ') == {"a": [1]}


def test_a_completion_with_usage():
    raw = json.dumps({"model": "m1", "choices": [{"message": {"content": "Hi [1]"}, "finish_reason": "length"}],
                      "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}}).encode()
    out = _parse("ep", raw, [{"content": "x"}])
    assert (out.text, out.finish_reason, out.prompt_tokens, out.completion_tokens, out.usage_reported) == (
        "Hi [1]", "length", 12, 3, True)


def test_a_completion_without_usage_is_estimated_and_says_so():
    raw = json.dumps({"choices": [{"message": {"content": "one two three"}}]}).encode()
    out = _parse("ep", raw, [{"content": "a b c d"}])
    assert not out.usage_reported and out.prompt_tokens == count_tokens("a b c d") and out.finish_reason == "stop"


@pytest.mark.parametrize("raw", [b'{"choices": [{"message": {"content": "cut', b"{}", b'{"choices": []}', b"<html>"])
def test_a_body_that_is_not_a_completion_is_a_transient_failure(raw):
    with pytest.raises(TransientError) as err:
        _parse("ep", raw, [])
    assert err.value.code == "bad_response"


def test_a_schema_violation_names_where_and_which_rule_never_the_answers_value():
    schema = json.dumps({"type": "object", "properties": {"n": {"type": "integer"}, "c": {"enum": ["a", "b"]}}})
    found = format_problems(json.dumps({"n": "Dana lives in Lyon", "c": "Dana's salary"}), schema)
    assert found == ["schema_violation: c: the value is not one of ['a', 'b']",
                     "schema_violation: n: the value is not of type 'integer'"]
