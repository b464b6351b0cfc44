"""Starting and stopping the whole mesh: the embedded stack (unless external) and every agent
as its own process, with a pid file so `switchboard down` can stop what `up` started."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

from infra import embedded, redis_cluster, redis_sentinel
from infra.embedded import StackError
from infra.processes import Child, alive, read_pidfile, spawn, stop_all, write_pidfile
from mesh.errors import TransientError
from mesh.io.bus import broker_ids, broker_ready, ensure_topics, require_broker
from mesh.io.keys import Keys
from mesh.io.redis_clients import sync_redis
from mesh.runtime.registry import agent_names
from mesh.settings import Settings

__all__ = ["Mesh", "pidfile_of", "stop_recorded", "start_redis", "redis_ports", "kafka_data", "StackError"]


def _ready(settings: Settings) -> Callable[[str], bool]:
    """Whether the embedded child ``name`` answers a real request: a metadata request (a Kafka node:
    one that lists it among the brokers), a PING."""
    def ready(name: str) -> bool:
        if name == "tansu":
            return broker_ready(settings, timeout_s=1.0)
        if name.startswith("kafka-"):
            return int(name.partition("-")[2]) in broker_ids(settings, timeout_s=1.0)
        if settings.redis_target.mode == "sentinel":  # the primary, before the sentinels that name it start
            return bool(sync_redis(f"redis://127.0.0.1:{redis_ports(settings)[0][0]}/0", socket_timeout=1).ping())
        return bool(sync_redis(settings, socket_timeout=1).ping())
    return ready


def redis_ports(settings: Settings) -> tuple[list[int], list[int]]:
    """Ports of the embedded Redis: its data nodes (the node; a cluster's primaries; with Sentinel the primary
    and its replica, on the first sentinel's port + 1000 and + 1001, the primary first) and its sentinels
    (none but with Sentinel)."""
    target = settings.redis_target
    first = target.hosts[0][1]
    if target.mode == "node":
        return [first], []
    if target.mode == "cluster":
        return [port for _, port in target.hosts], []
    data = [first + 1000, first + 1001]
    if settings.redis_appendonly:  # kept across runs: the node the sentinels last promoted starts as primary
        data = redis_sentinel.last_primary(redis_sentinel.sentinel_dir(Path(settings.run_dir)), target.service, data)
    return data, [port for _, port in target.hosts]


def kafka_data(settings: Settings) -> Path:
    """Where the embedded Kafka keeps its storage and layout (kept across restarts)."""
    return Path(settings.run_dir) / "kafka"


def redis_data(settings: Settings, port: int) -> Path | None:
    """Where the embedded Redis on ``port`` keeps its append-only file (``redis_appendonly``), else None."""
    if not settings.redis_appendonly:
        return None
    base = Path(settings.run_dir) / "redis"
    return base if settings.redis_target.mode == "node" else base / str(port)


def _start_redis_cluster(settings: Settings, log_dir: Path, say: Callable[[str], None]) -> list[Child]:
    ports = redis_ports(settings)[0]
    say(f"starting a Redis Cluster on {', '.join(f':{p}' for p in ports)}")
    return redis_cluster.start_cluster(ports, log_dir, lambda port: redis_data(settings, port))


def start_redis(settings: Settings, log_dir: Path) -> Child:
    """The embedded redis-server of ``settings`` on its own (a restart after it was stopped)."""
    port = redis_ports(settings)[0][0]
    return embedded.start_redis(port, log_dir, redis_data(settings, port))


def pidfile_of(settings: Settings) -> Path:
    """Where a mesh started with ``settings`` records its processes' pids, by name."""
    return Path(settings.run_dir) / "stack.json"


class Mesh:
    """The processes of one running mesh, started by this process."""

    def __init__(self, settings: Settings, agents: list[str] | None = None) -> None:
        self.settings = settings
        self.agents = agents or agent_names()
        self.run_dir = Path(settings.run_dir)
        self.log_dir = self.run_dir / "logs"
        self.stack: list[Child] = []
        self.workers: dict[str, Child] = {}

    @property
    def pidfile(self) -> Path:
        return pidfile_of(self.settings)

    def start(self, say: Callable[[str], None] = lambda s: None, timeout_s: float = 90.0) -> None:
        """Start everything and return once every agent owns partitions; stop all on failure."""
        if read_pidfile(self.pidfile) and any(alive(p) for p in read_pidfile(self.pidfile).values()):
            raise StackError(f"a mesh started from {self.run_dir} is still running: `switchboard down` first")
        try:
            if self.settings.embedded:
                s = self.settings
                ports = ",".join(f":{p}" for p in s.broker_ports)
                data, sentinels = redis_ports(s)
                cluster = s.redis_target.mode == "cluster"
                say(f"starting {s.broker} on {ports}" + ("" if cluster else f" and redis-server on :{data[0]}"))
                self.stack = embedded.start_stack(s.broker, s.broker_ports, None if cluster else data[0],
                                                  self.log_dir, _ready(s), data_dir=kafka_data(s),
                                                  redis_data=None if cluster else redis_data(s, data[0]))
                if cluster:
                    self._record()
                    self.stack += _start_redis_cluster(s, self.log_dir, say)
                if sentinels:
                    say(f"starting its replica on :{data[1]} and sentinels on {sentinels}")
                    self._record()
                    self.stack += redis_sentinel.start_replication(s.redis_target.service, *data, sentinels,
                                                                   self.log_dir, redis_data(s, data[1]))
            else:
                require_broker(self.settings, self.settings.connect_timeout_s)
            self._record()
            created = ensure_topics(self.settings)
            say(f"topics ready ({len(created)} created)")
            for name in self.agents:
                self.start_agent(name)
            self._record()
            self.wait_ready(self.agents, timeout_s, say)
        except BaseException:
            self.stop()
            raise

    def start_agent(self, name: str, replica: int = 0) -> Child:
        """Start one more worker process for agent ``name``."""
        env = {**self.settings.to_env(), "PYTHONUNBUFFERED": "1"}
        label = name if replica == 0 else f"{name}-{replica}"
        child = spawn(f"agent-{label}", [sys.executable, "-m", "mesh.cli.main", "agent", name], self.log_dir, env)
        self.workers[label] = child
        self._record()
        return child

    def wait_ready(self, agents: list[str], timeout_s: float, say: Callable[[str], None] = lambda s: None) -> None:
        """Wait until every worker this mesh started for ``agents`` has joined its group (its heartbeat is in Redis).

        An agent this mesh runs no worker of is ready when some other worker of it beats.
        """
        r = sync_redis(self.settings, socket_timeout=2)
        keys = Keys(self.settings.key_prefix)
        deadline, waiting = time.monotonic() + timeout_s, set(agents)
        while waiting:
            for name in list(waiting):
                ours = {str(c.pid) for label, c in self.workers.items() if label.split("-")[0] == name and c.running()}
                beats = [keys.instance_of_heartbeat(k.decode()) for k in r.scan_iter(keys.heartbeat(name, "*"), count=100)]
                if (ours and ours <= set(beats)) or (beats and not ours):  # all ours, or an external worker
                    waiting.discard(name)
                    say(f"agent {name} ready")
            dead = [label for label, c in self.workers.items() if not c.running()]
            if dead:
                c = self.workers[dead[0]]
                raise StackError(f"agent {dead[0]} exited (code {c.process.returncode}):\n{c.log_tail()}")
            if waiting and time.monotonic() > deadline:
                raise TransientError(f"agents not ready after {timeout_s:.0f}s: {', '.join(sorted(waiting))} "
                                     f"(logs in {self.log_dir})", code="agents_not_ready")
            time.sleep(0.2)

    def stop(self) -> None:
        """Agents first (they finish in-flight messages), then the broker and Redis."""
        stop_all([c.pid for c in self.workers.values()])
        stop_all([c.pid for c in self.stack])
        self.workers, self.stack = {}, []
        self.pidfile.unlink(missing_ok=True)

    def dead_workers(self) -> list[str]:
        return [label for label, c in self.workers.items() if not c.running()]

    def _record(self) -> None:
        pids = {c.name: c.pid for c in self.stack}
        pids.update({f"agent-{k}": c.pid for k, c in self.workers.items()})
        write_pidfile(self.pidfile, pids)


def stop_recorded(settings: Settings) -> list[str]:
    """Stop what a detached `up` left running, from its pid file; returns what was stopped."""
    path = pidfile_of(settings)
    pids = read_pidfile(path)
    agents = [p for n, p in pids.items() if n.startswith("agent-") and alive(p)]
    rest = [p for n, p in pids.items() if not n.startswith("agent-") and alive(p)]
    stop_all(agents)
    stop_all(rest)
    path.unlink(missing_ok=True)
    return [n for n, p in pids.items() if p in agents + rest]
