"""Shard snapshots on disk: a tenant's passage vectors, keyed by what they encode.

A restarted index agent loads a tenant's vectors from its snapshot when the snapshot was made
from exactly the same passages (same model, same texts, same order), and otherwise falls back
to the embedding cache. The key is a hash of the content, not the store's version, so a
snapshot can never be applied to passages it was not made from.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import numpy as np

__all__ = ["fingerprint", "save", "load"]


def fingerprint(model_id: str, texts: list[str]) -> str:
    h = hashlib.sha256(model_id.encode())
    for t in texts:
        h.update(b"\x1e" + t.encode())
    return h.hexdigest()


def _path(folder: Path, tenant: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", tenant)
    return folder / f"{safe}-{hashlib.sha256(tenant.encode()).hexdigest()[:8]}.npz"


def save(folder: Path, tenant: str, key: str, vectors: np.ndarray) -> Path:
    """Write atomically (temporary file, then rename): a crash never leaves half a snapshot."""
    folder.mkdir(parents=True, exist_ok=True)
    path = _path(folder, tenant)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
    np.savez(tmp, key=np.array(key), vectors=np.ascontiguousarray(vectors, dtype=np.float32))
    os.replace(tmp, path)
    return path


def load(folder: Path, tenant: str, key: str) -> np.ndarray | None:
    """The vectors saved for ``tenant`` if they were made from content ``key``; else None."""
    path = _path(folder, tenant)
    try:
        with np.load(path) as data:
            if str(data["key"]) != key:
                return None
            return data["vectors"]
    except (OSError, KeyError, ValueError):
        return None
