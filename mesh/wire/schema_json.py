"""A record's Avro schema as one stand-alone JSON document, as other tools are given it.

The files in ``schemas/`` name each other's types (``"type": "switchboard.Envelope"``); a schema registry,
an AsyncAPI document or a client in another language needs each record's schema to parse on its own.
``inlined`` writes every referenced type out where it is first used, docs, defaults and logical types
kept (the parsing canonical form would drop them).
"""

from __future__ import annotations

import json
from pathlib import Path

from schemas import SCHEMA_DIR

__all__ = ["inlined", "standalone"]


def _full_name(schema: dict, namespace: str) -> str:
    return schema["name"] if "." in schema["name"] else f"{schema.get('namespace', namespace)}.{schema['name']}"


def inlined(schema, defined: set[str] | None = None, namespace: str = "switchboard", schema_dir: Path = SCHEMA_DIR):
    """``schema`` with every named type it references from ``schema_dir`` written out where first used,
    so it parses on its own (by any Avro library, with no other file)."""
    defined = set() if defined is None else defined
    if isinstance(schema, str):
        if "." in schema and schema not in defined and (schema_dir / f"{schema}.avsc").exists():
            return inlined(json.loads((schema_dir / f"{schema}.avsc").read_text()), defined, namespace, schema_dir)
        return schema
    if isinstance(schema, list):
        return [inlined(s, defined, namespace, schema_dir) for s in schema]
    out = dict(schema)
    if out.get("type") in ("record", "enum", "fixed"):
        defined.add(_full_name(out, namespace))
    if out.get("type") == "record":
        out["fields"] = [{**f, "type": inlined(f["type"], defined, namespace, schema_dir)} for f in out["fields"]]
    elif out.get("type") == "array":
        out["items"] = inlined(out["items"], defined, namespace, schema_dir)
    elif out.get("type") == "map":
        out["values"] = inlined(out["values"], defined, namespace, schema_dir)
    elif isinstance(out.get("type"), (dict, list)):
        out["type"] = inlined(out["type"], defined, namespace, schema_dir)
    return out


def standalone(name: str, schema_dir: Path = SCHEMA_DIR) -> str:
    """The schema of record ``name`` (Avro full name) as compact JSON text that parses on its own."""
    schema = json.loads((schema_dir / f"{name}.avsc").read_text(encoding="utf-8"))
    return json.dumps(inlined(schema, schema_dir=schema_dir), separators=(",", ":"))
