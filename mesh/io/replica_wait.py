"""Redis ``WAIT`` for a pipeline's writes, on the connection that made them.

``WAIT n`` answers how many replicas hold everything the connection it arrives on wrote. So the wait
is queued at the end of the pipeline, after a write of a mark (a repeat whose own writes change
nothing still waits for what the first attempt wrote, replicas acknowledging offsets in order).
Under Redis Cluster a pipeline goes to each node on a connection of its own: every node the batch
wrote to gets its own mark, in the slot of a key written there, and its own ``WAIT``; the batch
counts the least-acknowledged node's replicas. A slot that moved while the batch ran (a failover,
a MOVED reply the client followed) counts as unacknowledged: its ``WAIT`` went to a node that no
longer holds the writes, so the batch is retried whole.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from mesh.errors import KeysInTwoSlots, ReplicasBehind
from mesh.io.redis_clients import Durability, is_cluster
from mesh.io.slots import slot_of, tag_of

__all__ = ["Waits", "acknowledged", "args_of", "commands_of", "queue_marks_and_waits", "queue_waits", "require",
           "writes"]

_MARK_MS = 60_000
#: commands that write nothing: a batch that only read a node's keys does not wait on it
_READS = frozenset({"GET", "MGET", "HGET", "HMGET", "HGETALL", "HEXISTS", "EXISTS", "TTL", "PTTL", "TYPE",
                    "ZSCORE", "ZCARD", "ZCOUNT", "ZRANGE", "ZRANGEBYSCORE", "SMEMBERS", "SISMEMBER", "LRANGE"})


@dataclass
class Waits:
    """What ``queue_waits`` queued: how many commands, and (under Cluster) the node each mark was sent to."""

    count: int = 0
    nodes: dict[str, str] = field(default_factory=dict)


def commands_of(pipe) -> list:
    """The list of commands queued on ``pipe`` (a node's or a cluster's pipeline), in order."""
    stack = getattr(pipe, "command_stack", None)
    return stack if stack is not None else pipe._execution_strategy._command_queue


def args_of(command) -> tuple:
    """A queued command's arguments, name first (a node's pipeline keeps tuples, a cluster's objects)."""
    return command[0] if isinstance(command, tuple) else command.args


def writes(args: tuple) -> bool:
    return str(args[0]).upper() not in _READS


async def queue_waits(pipe, client, durability: Durability, written: Iterable) -> Waits:
    """Queue a mark and ``WAIT`` after the commands on ``pipe`` (under Cluster, one of each per node of the keys
    ``written``)."""
    if is_cluster(client):
        await client.initialize()  # the slot map (at once when known)
    return queue_marks_and_waits(pipe, client, durability, written)


def queue_marks_and_waits(pipe, client, durability: Durability, written: Iterable) -> Waits:
    """``queue_waits`` for a client that knows its slots already (any blocking client does)."""
    if not is_cluster(client):
        pipe.set(durability.mark(""), "1", px=_MARK_MS)
        pipe.wait(durability.replicas, durability.timeout_ms)
        return Waits(2)
    marks: dict[str, Any] = {}
    for key in written:
        key = key.decode() if isinstance(key, bytes) else str(key)
        node = client.get_node_from_key(key)
        if node.name not in {n.name for n in marks.values()}:
            mark = durability.mark(tag_of(key))
            if slot_of(mark) != slot_of(key):
                raise KeysInTwoSlots(f"no mark can share the slot of key {key!r}: give it a hash tag in mesh.io.keys")
            marks[mark] = node
    for mark, node in marks.items():
        pipe.execute_command("SET", mark, "1", "PX", _MARK_MS, target_nodes=node)
        pipe.execute_command("WAIT", durability.replicas, durability.timeout_ms, target_nodes=node)
    return Waits(2 * len(marks), {mark: node.name for mark, node in marks.items()})


def acknowledged(tail: list, waits: Waits | None = None, client=None) -> Any:
    """What ``queue_waits``'s replies say: the fewest replicas a node counted, or the first error among them;
    none counted where nothing was waited for or a mark's slot moved meanwhile."""
    failed = next((r for r in tail if isinstance(r, Exception)), None)
    if failed is not None:
        return failed
    if waits is not None and any(client.get_node_from_key(mark).name != node for mark, node in waits.nodes.items()):
        return 0
    counts = tail[1::2]
    return min(counts) if counts else 0


def require(acknowledged_by: Any, durability: Durability, what: str, answers: list = ()) -> None:
    """Raise ``ReplicasBehind`` (with the callers' ``answers``) unless WAIT counted enough replicas."""
    wanted, within = durability.replicas, durability.timeout_ms
    if isinstance(acknowledged_by, Exception):
        raise ReplicasBehind(f"Redis refused WAIT ({acknowledged_by}): the mesh waits for "
                             f"SWITCHBOARD_REDIS_WAIT_REPLICAS={wanted} replicas, which only a primary answers: "
                             "point SWITCHBOARD_REDIS_URL at the primary (or its sentinels), or set it to 0",
                             answers=answers)
    if acknowledged_by < wanted:
        raise ReplicasBehind(f"{acknowledged_by} of {wanted} Redis replicas acknowledged {what} within {within} ms: "
                             "it stands on the primary and is retried; check the replicas' link (INFO replication) "
                             "or lower SWITCHBOARD_REDIS_WAIT_REPLICAS", answers=answers)
