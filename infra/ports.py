"""Free loopback ports for embedded servers and tests, chosen below the kernel's ephemeral range.

A port that ``bind(("127.0.0.1", 0))`` hands out comes from the ephemeral range, which is also where
every outgoing connection takes its source port. Between choosing such a port and a server binding it,
a client's connection can take it, and the server then fails with "Address already in use" (a
Redis replica did, on two busy cores with a mesh connecting). Below that range only servers bind.
Ports handed out once are not handed out again by this process, so several chosen before any is
bound (a cluster's nodes) never collide.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

__all__ = ["free_port", "ephemeral_range"]

_SPAN = 12_000  # ports below the ephemeral range to choose from
_handed_out: set[int] = set()


def ephemeral_range(proc: Path = Path("/proc/sys/net/ipv4/ip_local_port_range")) -> tuple[int, int]:
    """The kernel's range for source ports (Linux's default where it cannot be read)."""
    try:
        low, high = (int(x) for x in proc.read_text().split())
    except (OSError, ValueError):
        return 32768, 60999
    return low, high


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now, below the ephemeral range (or, where none is, one the OS picks)."""
    low = ephemeral_range()[0]
    candidates = range(max(1024, low - _SPAN), low)
    for _ in range(200 if len(candidates) else 0):
        port = random.choice(candidates)
        if port not in _handed_out and _bindable(host, port):
            _handed_out.add(port)
            return port
    with socket.socket() as s:
        s.bind((host, 0))
        port = s.getsockname()[1]
    _handed_out.add(port)
    return port


def _bindable(host: str, port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True
