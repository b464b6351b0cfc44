"""The keys of the audit chain: HMAC-SHA256 under keys that Redis and the topics never hold.

Each record of a tenant's audit chain (``policy.audit_chain``) carries a tag, an HMAC-SHA256
written as ``<key id>:<hex>``, so the key that made it is named in the record itself; each
chain's head in Redis is signed the same way. A chain key is derived from a local key file
(``SWITCHBOARD_AUDIT_KEY_FILES``; by default the key-encryption key file, which every agent
already mounts), so whoever can write Redis and ``audit.log`` but cannot read the key files can
make no tag that verifies. Keys rotate: the first file signs, the others are retired keys that
still verify what was written under them.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from mesh.errors import DeterministicError
from mesh.security.crypto import LocalKeyFile
from mesh.settings import Settings

__all__ = ["ChainKeys", "UnknownChainKey", "chain_keys_for"]

_PURPOSE = b"switchboard audit chain v1"


class UnknownChainKey(DeterministicError):
    """A link names a key id none of the configured key files gives."""

    def __init__(self, key_id: str) -> None:
        super().__init__(f"no configured audit key has id {key_id}: add the key file that made it to "
                         "SWITCHBOARD_AUDIT_KEY_FILES (retired keys after the first), or the link was forged",
                         code="unknown_audit_key")
        self.key_id = key_id


class ChainKeys:
    """Chain keys by id; ``signing`` is the id new links are made with."""

    def __init__(self, secrets: list[bytes]) -> None:
        if not secrets:
            raise ValueError("the audit chain needs at least one key")
        self._keys = {}
        for raw in secrets:
            key = hmac.new(raw, _PURPOSE, hashlib.sha256).digest()
            self._keys.setdefault(hashlib.sha256(b"audit-key-id" + key).hexdigest()[:12], key)
        self.signing = next(iter(self._keys))

    @property
    def ids(self) -> list[str]:
        return list(self._keys)

    @classmethod
    def from_files(cls, paths: list[Path], create: bool = False) -> ChainKeys:
        """Keys derived from 32-byte key files; the first made (0600) when ``create`` and missing."""
        return cls([_read(p, create and i == 0) for i, p in enumerate(paths)])

    def mac(self, message: bytes, key_id: str | None = None) -> str:
        """``<key id>:<HMAC-SHA256 hex>`` of ``message`` under ``key_id`` (the signing key by default)."""
        key_id = key_id or self.signing
        key = self._keys.get(key_id)
        if key is None:
            raise UnknownChainKey(key_id)
        return f"{key_id}:{hmac.new(key, message, hashlib.sha256).hexdigest()}"

    def check(self, message: bytes, tag: str | None) -> bool:
        """Whether ``tag`` (``<key id>:<hex>``) is the MAC of ``message`` under the key it names.

        Raises ``UnknownChainKey`` when that key is not configured; False for anything malformed."""
        key_id, sep, _ = (tag or "").partition(":")
        if not sep:
            return False
        return hmac.compare_digest(self.mac(message, key_id), tag)


def _read(path: Path, create: bool) -> bytes:
    LocalKeyFile(path, create=create)  # made like the KEK (atomic, 0600) and checked: exactly 32 bytes
    return Path(path).read_bytes()


def chain_keys_for(settings: Settings, create: bool = False) -> ChainKeys:
    """The audit chain keys of this mesh (``SWITCHBOARD_AUDIT_KEY_FILES``, else the KEK file)."""
    return ChainKeys.from_files(settings.audit_key_paths, create=create)
