"""Redis ``WAIT`` for a pipeline's writes, on the connection that made them.

``WAIT n`` answers how many replicas hold everything the connection it arrives on wrote. So the wait
is queued at the end of the pipeline, after a write of a mark (a repeat whose own writes change
nothing still waits for what the first attempt wrote, replicas acknowledging offsets in order).
Under Redis Cluster a pipeline goes to each node on a connection of its own: every node the batch
wrote to gets its own mark, in the slot of a key written there, and its own ``WAIT``; the batch
counts the least-acknowledged node's replicas.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import redis.cluster
from redis.asyncio.cluster import RedisCluster

from mesh.io.redis_clients import Durability
from mesh.io.slots import tag_of

__all__ = ["acknowledged", "args_of", "commands_of", "queue_marks_and_waits", "queue_waits"]

_MARK_MS = 60_000


def commands_of(pipe) -> list:
    """The list of commands queued on ``pipe`` (a node's or a cluster's pipeline), in order."""
    stack = getattr(pipe, "command_stack", None)
    return stack if stack is not None else pipe._execution_strategy._command_queue


def args_of(command) -> tuple:
    return command[0] if isinstance(command, tuple) else command.args


async def queue_waits(pipe, client, durability: Durability, written: Iterable) -> int:
    """Queue a mark and ``WAIT`` after the commands on ``pipe`` (under Cluster, one of each per node of the keys
    ``written``); how many commands that queued."""
    if isinstance(client, RedisCluster):
        await client.initialize()  # the slot map (at once when known)
    return queue_marks_and_waits(pipe, client, durability, written)


def queue_marks_and_waits(pipe, client, durability: Durability, written: Iterable) -> int:
    """``queue_waits`` for a client that knows its slots already (any blocking client does)."""
    if not isinstance(client, (RedisCluster, redis.cluster.RedisCluster)):
        pipe.set(durability.mark(""), "1", px=_MARK_MS)
        pipe.wait(durability.replicas, durability.timeout_ms)
        return 2
    tags = {}
    for key in written:
        key = key.decode() if isinstance(key, bytes) else str(key)
        tags.setdefault(client.get_node_from_key(key).name, tag_of(key))
    for tag in tags.values():
        node = client.get_node_from_key(durability.mark(tag))
        pipe.execute_command("SET", durability.mark(tag), "1", "PX", _MARK_MS, target_nodes=node)
        pipe.execute_command("WAIT", durability.replicas, durability.timeout_ms, target_nodes=node)
    return 2 * len(tags)


def acknowledged(tail: list) -> Any:
    """What ``queue_waits``'s replies say: the fewest replicas a node counted, or the first error among them
    (none counted where nothing was waited for)."""
    failed = next((r for r in tail if isinstance(r, Exception)), None)
    if failed is not None:
        return failed
    waits = tail[1::2]
    return min(waits) if waits else 0
