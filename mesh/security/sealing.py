"""The codec that seals payload fields: what is on a topic is ciphertext, what a handler sees is text.

``SealingCodec`` wraps ``AvroCodec``: on encode, every field a model names in ``__sealed__`` (and
those of its nested records, such as each passage's text) is sealed for the record's tenant
(``mesh.security.crypto.Sealer``); on decode, they are opened before validation. Everything else (ids,
envelopes, scores, routes) stays readable, so the broker, ``trace`` and the dead-letter tools
work on the records without any key. ``codec_for(settings)`` is the codec every agent and the
client use: sealing when ``SWITCHBOARD_ENCRYPT_AT_REST`` is on (the default), plain when not.

Sealed means sealed: an agent's codec is ``strict``, so a record whose sealed field holds plain text
(from a producer with encryption off) is refused with ``Unsealed`` rather than opened as it is; the
runtime dead-letters it (with those fields sealed, so the mesh copies no plain text) and audits it.
Empty values stay allowed: nothing is sealed in them.
"""

from __future__ import annotations

import typing
from functools import cache

from mesh.errors import DeterministicError
from mesh.io.keys import Keys
from mesh.io.redis_clients import Durability, sync_redis
from mesh.security.crypto import Keyring, LocalKeyFile, RedisDekStore, Sealer, is_sealed
from mesh.settings import Settings
from mesh.wire.codec import AvroCodec, default_codec, registry_codec
from schemas.models import Record

__all__ = ["SealingCodec", "Unsealed", "codec_for", "sealer_for"]

#: per field: ("text", None) sealed text, ("texts", None) sealed list of text, ("one"|"many", model) nested
Plan = tuple[tuple[str, str, type[Record] | None], ...]


def _record_in(annotation) -> tuple[str, type[Record]] | None:
    args = typing.get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, Record):
        return "one", annotation
    if typing.get_origin(annotation) is list and args and isinstance(args[0], type) and issubclass(args[0], Record):
        return "many", args[0]
    for a in args:  # Optional[Record]
        if isinstance(a, type) and issubclass(a, Record):
            return "one", a
    return None


@cache
def plan_of(model: type[Record]) -> Plan:
    """Which fields of ``model`` to seal, and which nested records to look into."""
    out = []
    for name, field in model.model_fields.items():
        if name in model.__sealed__:
            out.append((name, "texts" if typing.get_origin(field.annotation) is list else "text", None))
        elif (nested := _record_in(field.annotation)) is not None and plan_of(nested[1]):
            out.append((name, *nested))
    return tuple(out)


def _walk(data: dict, model: type[Record], fn, path: str = "") -> None:
    for name, how, nested in plan_of(model):
        value = data.get(name)
        if value is None:
            continue
        where = f"{path}{name}"
        if how == "text":
            data[name] = fn(where, value)
        elif how == "texts":
            data[name] = [fn(where, v) for v in value]
        elif how == "one":
            _walk(value, nested, fn, f"{where}.")
        else:
            for item in value:
                _walk(item, nested, fn, f"{where}.")


def _tenant(data: dict) -> str | None:
    envelope = data.get("envelope")
    return envelope.get("tenant_id") if isinstance(envelope, dict) else None


class Unsealed(DeterministicError):
    """A record with plain text where a sealed value belongs, read by a mesh that seals: refused, never opened.

    ``record`` is the record as it came (to audit it and tell a task's client), ``sealed`` its bytes with
    those fields sealed (what the dead letter keeps, so no plain text is copied into the mesh).
    """

    #: the runtime writes the refusal to ``audit.events``
    audited = True

    def __init__(self, model: type[Record], fields: list[str], record: Record, sealed: bytes) -> None:
        names = ", ".join(dict.fromkeys(fields))
        verb = "is" if len(set(fields)) == 1 else "are"
        super().__init__(f"field {names} of {model.__name__} {verb} not sealed, and this mesh encrypts at rest: "
                         "set SWITCHBOARD_ENCRYPT_AT_REST=true (and the mesh's SWITCHBOARD_KEK_FILE) on the producer",
                         code="unsealed")
        self.record, self.sealed = record, sealed


class SealingCodec:
    """``AvroCodec`` with the payload fields of each record sealed on the wire.

    ``strict`` (the agents'): a non-empty value in a sealed field that is not sealed raises ``Unsealed``;
    otherwise (read-only tools, replay of old records) it is read as it is.
    """

    def __init__(self, inner: AvroCodec, sealer: Sealer, strict: bool = False) -> None:
        self.inner, self.sealer, self.strict = inner, sealer, strict

    def encode(self, record: Record, topic: str | None = None) -> bytes:
        model, data = type(record), record.model_dump(mode="python")
        tenant = _tenant(data)
        if tenant and plan_of(model):
            _walk(data, model, lambda f, v: self.sealer.seal(tenant, f, v) if v else v)
        return self.inner.write(model, data, topic)

    def decode(self, data: bytes | None) -> Record:
        model, raw = self.inner.read(data)
        tenant, plain = _tenant(raw), []
        if tenant and plan_of(model):
            _walk(raw, model, lambda f, v: self._open(tenant, f, v, plain))
        record = self.inner.validate(model, raw)
        if plain and self.strict:
            raise Unsealed(model, plain, record, self.encode(record))
        return record

    def _open(self, tenant: str, field: str, value: str, plain: list[str]) -> str:
        if value and not is_sealed(value):
            plain.append(field)
            return value
        return self.sealer.open(tenant, field, value)

    def __getattr__(self, name: str):  # schema, fingerprint, names, read, write: the inner codec's
        return getattr(self.inner, name)


_sealers: dict[tuple, Sealer] = {}


def sealer_for(settings: Settings) -> Sealer:
    """The process's sealer for this mesh (one keyring per KEK file, Redis and key prefix)."""
    key = (str(settings.kek_path), settings.redis_url, settings.cache_prefix or settings.key_prefix)
    if key not in _sealers:
        client = sync_redis(settings, socket_timeout=settings.connect_timeout_s)
        # a replay's namespace shares the live mesh's data keys
        store = RedisDekStore(client, Keys(settings.key_prefix).shared(settings.cache_prefix).deks(),
                              Durability(settings.redis_wait_replicas, settings.redis_wait_timeout_ms,
                                         Keys(settings.key_prefix).replicated))
        # only a one-machine (embedded) mesh makes its own key; a cluster's replicas must all mount the same one
        _sealers[key] = Sealer(Keyring(LocalKeyFile(settings.kek_path, create=settings.embedded), store))
    return _sealers[key]


def codec_for(settings: Settings, need_key: bool = True, strict: bool = False) -> AvroCodec | SealingCodec:
    """The codec of this mesh: sealing payloads at rest unless ``encrypt_at_rest`` is off.

    ``strict`` (agents): a record with plain text in a sealed field is refused (``Unsealed``).

    ``need_key=False`` (read-only tools: trace, dead letters): without the key file, records are
    read as they are on the wire, payload fields still sealed, rather than not at all.

    With ``schema_registry_url``, what is written to a topic is framed the Confluent way
    (``mesh.wire.codec.registry_codec``); both framings are read.
    """
    url = settings.schema_registry_url
    plain = registry_codec(url, settings.connect_timeout_s) if url else default_codec()
    if not settings.encrypt_at_rest:
        return plain
    if not need_key and not settings.kek_path.exists():
        return plain
    return SealingCodec(plain, sealer_for(settings), strict=strict)
