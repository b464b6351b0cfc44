"""Structured output: the task's JSON Schema, checked at admission and against every answer."""

from __future__ import annotations

import json
import re

from jsonschema import exceptions as js_exceptions
from jsonschema.validators import validator_for

__all__ = ["schema_error", "format_problems", "parse_json"]

_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.S)


def schema_error(schema_text: str) -> str | None:
    """Why ``schema_text`` is not a usable JSON Schema; None when it is."""
    try:
        schema = json.loads(schema_text)
    except ValueError as err:
        return f"output_schema is not JSON: {err}"
    if not isinstance(schema, (dict, bool)):
        return "output_schema must be a JSON object (a JSON Schema)"
    try:
        validator_for(schema).check_schema(schema)
    except js_exceptions.SchemaError as err:
        return f"output_schema is not a valid JSON Schema: {err.message}"
    return None


def parse_json(text: str):
    """The JSON value of a model's answer (a ```json fence around it is allowed)."""
    m = _FENCE.match(text)
    return json.loads(m.group(1) if m else text)


def format_problems(text: str, schema_text: str) -> list[str]:
    """Why ``text`` is not a JSON value valid under the schema; empty when it is.

    A problem names where and which rule, never the answer's value: it may end up in a rejection's
    message, which is not sealed (a client without the key must read it).
    """
    try:
        value = parse_json(text)
    except ValueError as err:
        return [f"invalid_json: the answer is not JSON ({err})"]
    schema = json.loads(schema_text)
    validator = validator_for(schema)(schema)
    return [f"schema_violation: {'/'.join(map(str, e.absolute_path)) or '(root)'}: "
            f"{e.message.replace(repr(e.instance), 'the value')}"
            for e in sorted(validator.iter_errors(value), key=lambda e: list(map(str, e.absolute_path)))][:5]
