"""The Redis primary killed under a mesh whose state is on Sentinel (``bench.chaos``'s ``primary``), and
what the mesh charged its tenant's budget against what the model endpoint billed.

The mesh runs on the embedded set (a primary, its replica, three sentinels) with critical writes
waiting for one replica (``SWITCHBOARD_REDIS_WAIT_REPLICAS=1``). The fault SIGKILLs whichever node is
the primary, waits until the sentinels promote the other, keeps the dead one down a few seconds
(the mesh has no replica then: its critical writes wait), and restarts it on its storage as the new
primary's replica.
"""

from __future__ import annotations

import asyncio
import signal
import time

import redis

from infra import embedded
from mesh.io.redis_clients import connect
from mesh.ops.stack import Mesh, redis_data, redis_ports
from mesh.settings import Settings
from policy.budgets import Budgets

__all__ = ["charged_tokens", "kill_primary", "sentinel_url"]

SERVICE = "switchboard"


def sentinel_url(ports: list[int]) -> str:
    """The URL of the embedded set with sentinels on ``ports``."""
    return "redis+sentinel://" + ",".join(f"127.0.0.1:{p}" for p in ports) + f"/{SERVICE}/0"


def kill_primary(mesh: Mesh, down_s: float = 3.0, timeout_s: float = 60.0) -> dict:
    """SIGKILL the primary; its restart ``down_s`` after the promotion. The seconds until the other node was
    primary (``failover_s``) and from the restart until it replicated again (``rejoin_s``)."""
    settings = mesh.settings
    _, sentinels = redis_ports(settings)
    port = _primary_port(sentinels)
    child = next(c for c in mesh.stack if c.name.startswith("redis") and str(port) in c.process.args)
    child.process.send_signal(signal.SIGKILL)
    child.process.wait(10)
    struck = time.time()
    _until(lambda: _primary_port(sentinels) not in (None, port), timeout_s, "the sentinels promoted no replica")
    failover_s = time.time() - struck
    time.sleep(down_s)
    # back as the new primary's replica, as an operator (or a chart's start script asking the sentinels) starts it
    back = embedded.start_redis(port, mesh.log_dir, redis_data(settings, port), name=child.name,
                                extra=["--replicaof", embedded.HOST, str(_primary_port(sentinels))])
    mesh.stack = [c for c in mesh.stack if c is not child] + [back]
    restarted = time.time()
    _until(lambda: _replicating(port), timeout_s, f"the node on :{port} did not rejoin as a replica")
    return {"redis_node": port, "failover_s": round(failover_s, 1), "rejoin_s": round(time.time() - restarted, 1)}


def charged_tokens(settings: Settings, tenant: str) -> int:
    """The tokens ``tenant``'s budget has recorded as used this period."""
    async def read() -> int:
        client = connect(settings)
        try:
            return (await Budgets.from_settings(settings, client).show(tenant))["used_tokens"]
        finally:
            await client.aclose()
    return asyncio.run(read())


def _primary_port(sentinels: list[int]) -> int | None:
    for port in sentinels:
        try:
            found = redis.Redis(port=port, socket_timeout=1).sentinel_get_master_addr_by_name(SERVICE)
        except redis.RedisError:
            continue
        if found:
            return int(found[1])
    return None


def _replicating(port: int) -> bool:
    try:
        info = redis.Redis(port=port, socket_timeout=1).info("replication")
    except redis.RedisError:
        return False
    return info.get("role") == "slave" and info.get("master_link_status") == "up"


def _until(done, timeout_s: float, failure: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{failure} within {timeout_s:.0f}s")
        time.sleep(0.1)
