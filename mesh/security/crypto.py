"""Encryption at rest: AES-256-GCM under per-tenant data keys, wrapped by a key-encryption key.

Each tenant has its own 256-bit data key (DEK), made on first use and stored in Redis only
wrapped (AES-256-GCM under the key-encryption key, KEK, with the tenant as associated data), so
neither Redis nor the topics ever hold a key that opens anything by itself. The KEK comes from a
``KeyProvider``: ``LocalKeyFile`` (a 32-byte file, 0600) by default; a KMS or Vault provider
implements the same two calls. Rotating the KEK re-wraps the DEKs; it does not touch the data.

A sealed value is text, so it travels in the same Avro string fields as plaintext:
``sb1:`` + base64(12-byte nonce, ciphertext and tag). The associated data binds it to its tenant
and its field, so a value cannot be moved to another tenant or field and still open. Keyed
hashes (HMAC-SHA256 under a key derived from the tenant's DEK) let the audit trail say *which*
value was seen, comparably within the tenant, without saying what it was.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import threading
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mesh.errors import DeterministicError, RedisUnavailable
from mesh.io.redis_clients import REDIS_ERRORS, Durability
from mesh.io.replica_wait import Waits, acknowledged, queue_marks_and_waits, require

__all__ = ["KeyProvider", "LocalKeyFile", "Keyring", "Sealer", "SEALED_PREFIX", "is_sealed"]

SEALED_PREFIX = "sb1:"
_NONCE = 12


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(SEALED_PREFIX)


class KeyProvider(Protocol):
    """Where the key-encryption key lives; it wraps and unwraps data keys and never hands out the KEK."""

    key_id: str

    def wrap(self, dek: bytes, tenant: str) -> bytes: ...

    def unwrap(self, blob: bytes, tenant: str) -> bytes: ...


class LocalKeyFile:
    """A KEK in a local file (32 random bytes). Created, atomically and 0600, when ``create`` and missing.

    Every process of a mesh must read the same file (a mounted Secret on Kubernetes, a shared
    volume in compose): a replica with another KEK cannot open the data keys.
    """

    def __init__(self, path: Path, create: bool = True) -> None:
        self.path = Path(path)
        if not self.path.exists():
            if not create:
                raise FileNotFoundError(f"no key-encryption key at {self.path}: mount the mesh's key file there "
                                        "(SWITCHBOARD_KEK_FILE) or let `switchboard up` create one")
            self._create()
        key = self.path.read_bytes()
        if len(key) != 32:
            raise ValueError(f"{self.path} holds {len(key)} bytes; a key-encryption key is exactly 32 random bytes "
                             "(make one with: head -c 32 /dev/urandom > FILE; chmod 600 FILE)")
        self._aead = AESGCM(key)
        self.key_id = hashlib.sha256(b"kek-id" + key).hexdigest()[:12]

    def _create(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{threading.get_ident()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(os.urandom(32))
        try:
            os.link(tmp, self.path)  # atomic: of two processes creating at once, one key wins and both read it
        except FileExistsError:
            pass
        finally:
            tmp.unlink()

    def wrap(self, dek: bytes, tenant: str) -> bytes:
        nonce = os.urandom(_NONCE)
        return nonce + self._aead.encrypt(nonce, dek, b"dek:" + tenant.encode())

    def unwrap(self, blob: bytes, tenant: str) -> bytes:
        try:
            return self._aead.decrypt(blob[:_NONCE], blob[_NONCE:], b"dek:" + tenant.encode())
        except InvalidTag as err:
            raise DeterministicError(f"tenant {tenant}'s data key does not open with key-encryption key {self.key_id}: "
                                     "every replica must use the same SWITCHBOARD_KEK_FILE", code="wrong_kek") from err


class DekStore(Protocol):
    """Shared storage of wrapped data keys (Redis in the mesh)."""

    def get_or_put(self, tenant: str, wrapped: bytes) -> bytes:
        """The stored wrapped key of ``tenant``, storing ``wrapped`` first if there was none."""


class RedisDekStore:
    """Wrapped data keys in one Redis hash; the first replica to store a tenant's key wins (HSETNX).

    A new key is answered once ``durability.replicas`` Redis replicas hold it (``mesh.io.replica_wait``): a
    data key lost in a failover would leave what was sealed with it unreadable.
    """

    def __init__(self, client, key: str, durability: Durability = Durability()) -> None:
        self._r, self._key, self._durability = client, key, durability

    def get_or_put(self, tenant: str, wrapped: bytes) -> bytes:
        try:
            with self._r.pipeline(transaction=False) as pipe:
                pipe.hsetnx(self._key, tenant, wrapped)
                pipe.hget(self._key, tenant)
                waits = queue_marks_and_waits(pipe, self._r, self._durability, [self._key]) \
                    if self._durability.replicas else Waits()
                replies = pipe.execute()
        except REDIS_ERRORS as err:
            raise RedisUnavailable(f"redis unavailable while fetching tenant {tenant}'s data key: {err}") from err
        if waits.count:
            require(acknowledged(replies[2:], waits, self._r), self._durability, f"tenant {tenant}'s data key")
        return replies[1]


class Keyring:
    """Per-tenant data keys, unwrapped once per process and kept in memory."""

    def __init__(self, provider: KeyProvider, store: DekStore) -> None:
        self.provider, self._store = provider, store
        self._deks: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def dek(self, tenant: str) -> bytes:
        key = self._deks.get(tenant)
        if key is None:
            with self._lock:
                key = self._deks.get(tenant)
                if key is None:
                    wrapped = self._store.get_or_put(tenant, self.provider.wrap(os.urandom(32), tenant))
                    key = self._deks[tenant] = self.provider.unwrap(wrapped, tenant)
        return key


class Sealer:
    """Seals and opens text fields for a tenant; computes keyed hashes for the audit trail."""

    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring
        self._aeads: dict[str, AESGCM] = {}
        self._hmac_keys: dict[str, bytes] = {}

    def _aead(self, tenant: str) -> AESGCM:
        aead = self._aeads.get(tenant)
        if aead is None:
            aead = self._aeads[tenant] = AESGCM(self.keyring.dek(tenant))
        return aead

    def seal(self, tenant: str, field: str, text: str) -> str:
        nonce = os.urandom(_NONCE)
        body = self._aead(tenant).encrypt(nonce, text.encode(), f"{tenant}/{field}".encode())
        return SEALED_PREFIX + base64.b64encode(nonce + body).decode()

    def open(self, tenant: str, field: str, token: str) -> str:
        if not is_sealed(token):
            return token  # written before encryption was on: readable as it is
        try:
            raw = base64.b64decode(token[len(SEALED_PREFIX):], validate=True)
            return self._aead(tenant).decrypt(raw[:_NONCE], raw[_NONCE:], f"{tenant}/{field}".encode()).decode()
        except (InvalidTag, ValueError) as err:
            raise DeterministicError(f"field {field} does not decrypt for tenant {tenant}: it was sealed for another "
                                     "tenant or field, or altered", code="undecryptable") from err

    def keyed_hash(self, tenant: str, value: str) -> str:
        """HMAC-SHA256 of ``value`` under the tenant's hashing key (first 32 hex digits)."""
        key = self._hmac_keys.get(tenant)
        if key is None:
            key = self._hmac_keys[tenant] = hmac.new(self.keyring.dek(tenant), b"keyed-hash", hashlib.sha256).digest()
        return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:32]
