"""Checks that a pydantic model and its Avro schema describe the same record.

Used by the codec at start-up (a wiring error fails fast, saying what differs) and by the
contract tests. Compares field names and order, optionality, defaults and types, recursively.
"""

from __future__ import annotations

import types
import typing
from datetime import datetime
from enum import Enum

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

__all__ = ["mismatches"]

_PRIMITIVES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "int": (int,),
    "long": (int,),
    "float": (float,),
    "double": (float,),
    "boolean": (bool,),
    "bytes": (bytes,),
}


def mismatches(model: type[BaseModel], schema: dict | str, _named: dict | None = None) -> list[str]:
    """Every way ``model`` differs from the Avro record ``schema``; empty when they agree."""
    named = {} if _named is None else _named
    schema = _resolve(schema, named)
    where = getattr(model, "__avro__", model.__name__)
    if schema.get("type") != "record":
        return [f"{where}: schema is not a record"]
    out: list[str] = []
    avro_fields = schema["fields"]
    model_fields = model.model_fields
    if [f["name"] for f in avro_fields] != list(model_fields):
        out.append(f"{where}: fields {list(model_fields)} != schema fields {[f['name'] for f in avro_fields]}")
        return out
    for field in avro_fields:
        info = model_fields[field["name"]]
        at = f"{where}.{field['name']}"
        out += _type_mismatches(info.annotation, field["type"], at, named)
        model_default = None if info.default is PydanticUndefined else info.default
        has_model_default = info.default is not PydanticUndefined or info.default_factory is not None
        if has_model_default != ("default" in field):
            out.append(f"{at}: default present in {'model' if has_model_default else 'schema'} only")
        elif "default" in field and _plain(model_default) != field["default"]:
            out.append(f"{at}: default {_plain(model_default)!r} != schema default {field['default']!r}")
    return out


def _plain(value: object) -> object:
    if isinstance(value, Enum):
        return value.value
    return value


def _resolve(schema: dict | str | list, named: dict) -> dict | str | list:
    """Replace a reference to an already-seen named type by its definition; remember new ones."""
    if isinstance(schema, str) and schema in named:
        return named[schema]
    if isinstance(schema, dict) and schema.get("type") in ("record", "enum") and "name" in schema:
        named.setdefault(schema["name"], schema)
    return schema


def _type_mismatches(annotation: object, avro: object, at: str, named: dict) -> list[str]:
    avro = _resolve(avro, named)
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        if not (isinstance(avro, list) and "null" in avro and len(args) == 2 and len(avro) == 2):
            return [f"{at}: optional in model, schema type {avro!r} is not a union with null"]
        other = next(a for a in avro if a != "null")
        return _type_mismatches(rest[0], other, at, named)
    if isinstance(avro, list):
        return [f"{at}: union {avro!r} in schema, {annotation!r} in model"]
    if isinstance(avro, str) and avro in _PRIMITIVES:
        ok = annotation in _PRIMITIVES[avro]
        return [] if ok else [f"{at}: schema {avro} vs model {annotation!r}"]
    if not isinstance(avro, dict):
        return [f"{at}: unknown schema type {avro!r}"]
    kind = avro.get("type")
    if avro.get("logicalType") == "timestamp-millis":
        return [] if annotation is datetime else [f"{at}: timestamp-millis in schema, {annotation!r} in model"]
    if kind == "array":
        if origin is not list:
            return [f"{at}: array in schema, {annotation!r} in model"]
        return _type_mismatches(args[0], avro["items"], f"{at}[]", named)
    if kind == "map":
        if origin is not dict or args[0] is not str:
            return [f"{at}: map in schema, {annotation!r} in model"]
        return _type_mismatches(args[1], avro["values"], f"{at}{{}}", named)
    if kind == "enum":
        if not (isinstance(annotation, type) and issubclass(annotation, Enum)):
            return [f"{at}: enum in schema, {annotation!r} in model"]
        symbols = [e.value for e in annotation]
        return [] if symbols == avro["symbols"] else [f"{at}: enum symbols {symbols} != {avro['symbols']}"]
    if kind == "record":
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return [f"{at}: record in schema, {annotation!r} in model"]
        if getattr(annotation, "__avro__", None) != avro["name"]:
            return [f"{at}: record {avro['name']} in schema, {annotation.__name__} in model"]
        return mismatches(annotation, avro, named)
    if kind in _PRIMITIVES:
        return _type_mismatches(annotation, kind, at, named)
    return [f"{at}: unsupported schema type {kind!r}"]
