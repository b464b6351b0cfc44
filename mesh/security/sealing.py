"""The codec that seals payload fields: what is on a topic is ciphertext, what a handler sees is text.

``SealingCodec`` wraps ``AvroCodec``: on encode, every field a model names in ``__sealed__`` (and
those of its nested records, such as each passage's text) is sealed for the record's tenant
(``mesh.security.crypto.Sealer``); on decode, they are opened before validation. Everything else (ids,
envelopes, scores, routes) stays readable, so the broker, ``trace`` and the dead-letter tools
work on the records without any key. ``codec_for(settings)`` is the codec every agent and the
client use: sealing when ``SWITCHBOARD_ENCRYPT_AT_REST`` is on (the default), plain when not.
"""

from __future__ import annotations

import typing
from functools import cache

from mesh.io.keys import Keys
from mesh.io.redis_clients import sync_redis
from mesh.security.crypto import Keyring, LocalKeyFile, RedisDekStore, Sealer
from mesh.settings import Settings
from mesh.wire.codec import AvroCodec, default_codec
from schemas.models import Record

__all__ = ["SealingCodec", "codec_for", "sealer_for"]

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


class SealingCodec:
    """``AvroCodec`` with the payload fields of each record sealed on the wire."""

    def __init__(self, inner: AvroCodec, sealer: Sealer) -> None:
        self.inner, self.sealer = inner, sealer

    def encode(self, record: Record) -> bytes:
        model, data = type(record), record.model_dump(mode="python")
        tenant = _tenant(data)
        if tenant and plan_of(model):
            _walk(data, model, lambda f, v: self.sealer.seal(tenant, f, v) if v else v)
        return self.inner.write(model, data)

    def decode(self, data: bytes | None) -> Record:
        model, raw = self.inner.read(data)
        tenant = _tenant(raw)
        if tenant and plan_of(model):
            _walk(raw, model, lambda f, v: self.sealer.open(tenant, f, v))
        return self.inner.validate(model, raw)

    def __getattr__(self, name: str):  # schema, fingerprint, names, read, write: the inner codec's
        return getattr(self.inner, name)


_sealers: dict[tuple, Sealer] = {}


def sealer_for(settings: Settings) -> Sealer:
    """The process's sealer for this mesh (one keyring per KEK file, Redis and key prefix)."""
    key = (str(settings.kek_path), settings.redis_url, settings.cache_prefix or settings.key_prefix)
    if key not in _sealers:
        client = sync_redis(settings, socket_timeout=settings.connect_timeout_s)
        # a replay's namespace shares the live mesh's data keys
        store = RedisDekStore(client, Keys(settings.key_prefix).shared(settings.cache_prefix).deks())
        # only a one-machine (embedded) mesh makes its own key; a cluster's replicas must all mount the same one
        _sealers[key] = Sealer(Keyring(LocalKeyFile(settings.kek_path, create=settings.embedded), store))
    return _sealers[key]


def codec_for(settings: Settings, need_key: bool = True) -> AvroCodec | SealingCodec:
    """The codec of this mesh: sealing payloads at rest unless ``encrypt_at_rest`` is off.

    ``need_key=False`` (read-only tools: trace, dead letters): without the key file, records are
    read as they are on the wire, payload fields still sealed, rather than not at all.
    """
    if not settings.encrypt_at_rest:
        return default_codec()
    if not need_key and not settings.kek_path.exists():
        return default_codec()
    return SealingCodec(default_codec(), sealer_for(settings))
