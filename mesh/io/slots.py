"""Redis Cluster slots: where a key lives, and a check that what runs together lives together.

Redis Cluster hashes a key to one of 16,384 slots by the part inside its first non-empty ``{...}``
(its hash tag), or by the whole key when it has none. A script or transaction may touch the keys of
one slot only; ``mesh.io.keys`` gives the keys that go together one tag, and ``one_slot`` refuses a
set that would not run there, on a single node too, so a test finds the mistake before a cluster.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from redis.crc import key_slot

from mesh.errors import KeysInTwoSlots

__all__ = ["first_key", "one_slot", "slot_of", "tag_of"]


def tag_of(key: str) -> str:
    """What decides ``key``'s slot: its hash tag, or the whole key."""
    start = key.find("{")
    if start >= 0:
        end = key.find("}", start + 1)
        if end > start + 1:
            return key[start + 1:end]
    return key


def slot_of(key: str | bytes) -> int:
    return key_slot(key.encode() if isinstance(key, str) else key)


def one_slot(keys: Iterable[str | bytes], what: str) -> None:
    """Raise ``KeysInTwoSlots`` unless every key of ``keys`` is in one slot."""
    keys = list(keys)
    if len({slot_of(k) for k in keys}) > 1:
        raise KeysInTwoSlots(f"{what} touches keys in different Redis Cluster slots ({', '.join(map(str, keys))}): "
                             "give them one hash tag in mesh.io.keys")


def first_key(args: Sequence) -> str | bytes | None:
    """The key a pipelined command is routed by: a script's first key, else its first argument."""
    if not args:
        return None
    if str(args[0]).upper() in ("EVALSHA", "EVAL"):
        return args[3] if len(args) > 3 and int(args[2]) > 0 else None
    return args[1] if len(args) > 1 else None
