"""The Confluent wire format: magic byte ``00``, the schema's id in a registry (4 bytes, big-endian), the Avro body.

This is what Confluent's serializers (Java ``KafkaAvroSerializer``, confluent-kafka's ``AvroSerializer``,
kcat ``-s value=avro``) write and read. ``ConfluentSchemas`` gives the codec what it needs of the registry:
the id to frame a record with on a topic (its schema registered under the topic's subject), and the
schema an id names, to read what another producer wrote.
"""

from __future__ import annotations

import json
from pathlib import Path

import fastavro
import fastavro.schema

from mesh.errors import DeterministicError
from mesh.wire.schema_json import standalone
from mesh.wire.schema_registry import SchemaRegistry, subject_of

__all__ = ["CONFLUENT_MAGIC", "HEADER_LEN", "ConfluentSchemas", "header", "schema_id_of"]

CONFLUENT_MAGIC = b"\x00"
HEADER_LEN = 5


def header(schema_id: int) -> bytes:
    """The 5 bytes before the body of a record framed with ``schema_id``."""
    return CONFLUENT_MAGIC + schema_id.to_bytes(4, "big")


def schema_id_of(data: bytes) -> int:
    """The schema id of a record in the Confluent wire format."""
    if len(data) <= HEADER_LEN:
        raise DeterministicError(f"Confluent wire format cut short ({len(data)} bytes; the magic byte, a 4-byte schema "
                                 "id and a body are expected): produce with a Confluent Avro serializer",
                                 code="bad_header")
    return int.from_bytes(data[1:HEADER_LEN], "big")


class ConfluentSchemas:
    """Schema ids of one registry for the records of one codec (``known``: full name -> parsed schema)."""

    def __init__(self, registry: SchemaRegistry, known: dict[str, dict], schema_dir: Path) -> None:
        self.registry, self._known, self._dir = registry, known, schema_dir
        self._ids: dict[tuple[str, str], int] = {}
        self._writers: dict[int, tuple[str, dict | None]] = {}

    def text(self, name: str) -> str:
        """The schema of record ``name`` as it is registered: stand-alone JSON."""
        return standalone(name, self._dir)

    def id_for(self, topic: str, name: str) -> int:
        """The id to frame record ``name`` with on ``topic`` (registered under ``<topic>-value`` first)."""
        if (topic, name) not in self._ids:
            self._ids[topic, name] = self.registry.register(subject_of(topic), self.text(name))
        return self._ids[topic, name]

    def writer(self, schema_id: int) -> tuple[str, dict | None]:
        """The record ``schema_id`` names, and the schema its body was written with: None when that is
        this codec's own schema of the record (read as it is), else the registry's (resolved to ours)."""
        if schema_id not in self._writers:
            text = self.registry.schema(schema_id)
            try:
                parsed = fastavro.parse_schema(json.loads(text))
            except Exception as err:  # fastavro raises SchemaParseException, ValueError, KeyError, ...
                raise DeterministicError(f"schema id {schema_id} is not an Avro schema this agent can parse: "
                                         f"{type(err).__name__}: {err}", code="unknown_schema") from err
            name = parsed.get("name") if isinstance(parsed, dict) else None
            if name not in self._known:
                raise DeterministicError(
                    f"schema id {schema_id} names {name or 'no record'}, which is no record of this mesh: the "
                    "producer wrote to the wrong topic, or deploy the new schema to every agent first",
                    code="unknown_schema")
            same = fastavro.schema.to_parsing_canonical_form(parsed) == \
                fastavro.schema.to_parsing_canonical_form(self._known[name])
            self._writers[schema_id] = (name, None if same else parsed)
        return self._writers[schema_id]
