"""Avro codec: pydantic record <-> bytes in Avro single-object encoding.

Every message carries its schema's identity: the two marker bytes ``C3 01`` followed by the
8-byte CRC-64-AVRO fingerprint of the schema's parsing canonical form, then the Avro binary
body (https://avro.apache.org/docs/1.11.1/specification/#single-object-encoding). A reader
looks the fingerprint up among the schemas it knows, so any topic can be decoded, replayed
or dead-lettered without out-of-band knowledge.

With a schema registry (``with_registry``; ``SWITCHBOARD_SCHEMA_REGISTRY_URL``), a record written to a
named topic is framed the Confluent way instead (``mesh.wire.confluent``: byte ``00``, the 4-byte id of its
schema registered under ``<topic>-value``, the Avro body). Either framing decodes: a record says which it is
by its first byte (``C3`` single-object, ``00`` Confluent, whose id is looked up in the registry once).

The codec is also registered with Faust as ``"avro"`` (``register_with_faust``), so a Faust
topic declared with ``value_serializer="avro"`` speaks the same wire format.
"""

from __future__ import annotations

import copy
import io
from functools import cached_property
from pathlib import Path

import fastavro
import fastavro.schema
from pydantic import ValidationError

from mesh.errors import DeterministicError
from mesh.wire.confluent import CONFLUENT_MAGIC, ConfluentSchemas, header, schema_id_of
from mesh.wire.confluent import HEADER_LEN as _CONFLUENT_HEADER_LEN
from mesh.wire.schema_check import mismatches
from mesh.wire.schema_registry import SchemaRegistry
from schemas import SCHEMA_DIR
from schemas.models import RECORDS, Record

__all__ = ["AvroCodec", "MAGIC", "default_codec", "registry_codec", "register_with_faust"]

MAGIC = b"\xc3\x01"
_SINGLE_HEADER_LEN = len(MAGIC) + 8


class AvroCodec:
    """Encodes and decodes every record in ``schemas/`` by fingerprint."""

    def __init__(self, schema_dir: Path = SCHEMA_DIR, records: dict[str, type[Record]] = RECORDS) -> None:
        self._by_name: dict[str, dict] = {}
        self._by_fingerprint: dict[bytes, str] = {}
        self._fingerprint_of: dict[str, bytes] = {}
        self._models, self._dir = records, schema_dir
        self.confluent: ConfluentSchemas | None = None
        for name in records:
            path = schema_dir / f"{name}.avsc"
            if not path.exists():
                raise RuntimeError(f"no schema {path} for record {name}: add the .avsc or drop the model")
            schema = fastavro.schema.load_schema(str(path), named_schemas={})
            canonical = fastavro.schema.to_parsing_canonical_form(schema)
            fp = bytes.fromhex(fastavro.schema.fingerprint(canonical, "CRC-64-AVRO"))
            self._by_name[name] = schema
            self._by_fingerprint[fp] = name
            self._fingerprint_of[name] = fp
        problems = [p for name, model in records.items() for p in mismatches(model, self._by_name[name])]
        if problems:
            raise RuntimeError("pydantic models disagree with their Avro schemas:\n  " + "\n  ".join(problems))

    def schema(self, name: str) -> dict:
        """The parsed schema of a record, by Avro full name."""
        return self._by_name[name]

    def fingerprint(self, name: str) -> bytes:
        """The 8-byte CRC-64-AVRO fingerprint that identifies a record's schema in the bytes."""
        return self._fingerprint_of[name]

    def with_registry(self, registry: SchemaRegistry) -> AvroCodec:
        """This codec, framing what it writes to a topic the Confluent way with ``registry``'s ids."""
        framed = copy.copy(self)
        framed.confluent = ConfluentSchemas(registry, self._by_name, self._dir)
        return framed

    def encode(self, record: Record, topic: str | None = None) -> bytes:
        """Serialize a record, header included (Confluent framing when there is a registry and ``topic``)."""
        return self.write(type(record), record.model_dump(mode="python"), topic)

    def write(self, model: type[Record], data: dict, topic: str | None = None) -> bytes:
        """Serialize ``data`` (a record of ``model`` as a dict), header included: Avro single-object
        encoding, or, with a registry and the (physical) ``topic`` it goes to, the Confluent wire format."""
        name = model.__avro__
        if name not in self._by_name:
            raise DeterministicError(f"{model.__name__} has no registered Avro schema", code="unknown_record")
        buf = io.BytesIO()
        if self.confluent is not None and topic is not None:
            buf.write(header(self.confluent.id_for(topic, name)))
        else:
            buf.write(MAGIC)
            buf.write(self._fingerprint_of[name])
        fastavro.schemaless_writer(buf, self._by_name[name], data)
        return buf.getvalue()

    def register(self, topics: dict[str, type[Record]]) -> None:
        """Register the schema of each (physical) topic's record now, so no write waits on the registry."""
        if self.confluent is not None:
            for topic, model in topics.items():
                self.confluent.id_for(topic, model.__avro__)

    def decode(self, data: bytes | None) -> Record:
        """Parse bytes into their record; every failure is a ``DeterministicError`` saying why."""
        model, raw = self.read(data)
        return self.validate(model, raw)

    def read(self, data: bytes | None) -> tuple[type[Record], dict]:
        """The record type of ``data`` and its fields as Avro read them, not yet validated."""
        if not data:
            raise DeterministicError("empty message: expected an Avro single-object encoded record", code="empty")
        if data[:1] == CONFLUENT_MAGIC:
            name, writer, body = self._confluent_framed(data)
        else:
            name, writer, body = self._single_object(data)
        try:
            raw = fastavro.schemaless_reader(io.BytesIO(body), writer or self._by_name[name],
                                             self._by_name[name] if writer else None)
        except Exception as err:  # fastavro raises EOFError, ValueError, UnicodeDecodeError, ...
            raise DeterministicError(f"body does not match schema {name}: {type(err).__name__}: {err}", code="bad_body") from err
        return self._models[name], raw

    def _single_object(self, data: bytes) -> tuple[str, None, bytes]:
        if len(data) < _SINGLE_HEADER_LEN or not data.startswith(MAGIC):
            raise DeterministicError(
                f"neither Avro single-object encoding (marker c301) nor the Confluent wire format (magic byte 00): "
                f"starts with {data[:4].hex()!r}; produce with the Switchboard codec (mesh.wire.codec.AvroCodec) "
                "or a Confluent Avro serializer",
                code="bad_header",
            )
        fp = data[2:_SINGLE_HEADER_LEN]
        name = self._by_fingerprint.get(fp)
        if name is None:
            raise DeterministicError(
                f"unknown schema fingerprint {fp.hex()}: the producer used a schema this agent does not know; "
                "deploy the new schema to every agent first",
                code="unknown_schema",
            )
        return name, None, data[_SINGLE_HEADER_LEN:]

    def _confluent_framed(self, data: bytes) -> tuple[str, dict | None, bytes]:
        schema_id = schema_id_of(data)
        if self.confluent is None:
            raise DeterministicError(
                f"the record is in the Confluent wire format (schema id {schema_id}) and this process knows no "
                "schema registry: set SWITCHBOARD_SCHEMA_REGISTRY_URL to the registry its producer used",
                code="no_schema_registry")
        name, writer = self.confluent.writer(schema_id)
        return name, writer, data[_CONFLUENT_HEADER_LEN:]

    @staticmethod
    def validate(model: type[Record], raw: dict) -> Record:
        try:
            return model.model_validate(raw)
        except ValidationError as err:
            detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors()[:5])
            raise DeterministicError(f"{model.__avro__} fails validation: {detail}", code="invalid_record") from err

    @cached_property
    def names(self) -> list[str]:
        return sorted(self._by_name)


_default: AvroCodec | None = None


def default_codec() -> AvroCodec:
    """The process-wide codec over ``schemas/`` (built once: parsing every schema costs ~50 ms)."""
    global _default
    if _default is None:
        _default = AvroCodec()
    return _default


_by_url: dict[str, AvroCodec] = {}


def registry_codec(url: str, timeout_s: float = 5.0) -> AvroCodec:
    """The process-wide codec that frames with the registry at ``url`` (its ids cached once per process)."""
    if url not in _by_url:
        _by_url[url] = default_codec().with_registry(SchemaRegistry(url, timeout_s))
    return _by_url[url]


def register_with_faust(codec: AvroCodec | None = None) -> None:
    """Register the codec in Faust's codec registry under the name ``avro``."""
    from faust.serializers import codecs

    inner = codec or default_codec()

    class _FaustAvro(codecs.Codec):
        def _dumps(self, obj: Record) -> bytes:
            return inner.encode(obj)

        def _loads(self, s: bytes) -> Record:
            return inner.decode(s)

    codecs.register("avro", _FaustAvro())
