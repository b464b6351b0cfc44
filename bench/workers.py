"""What the running workers report: handling time and Redis round trips per hop (their /metrics),
and each process's CPU and memory (/proc). Shared by the benchmarks that break a latency down."""

from __future__ import annotations

import json
import os
import urllib.request
from collections import defaultdict
from pathlib import Path

from infra.processes import alive, read_pidfile
from mesh.io.keys import Keys
from mesh.io.redis_clients import sync_redis
from mesh.ops.stack import pidfile_of
from mesh.settings import Settings

__all__ = ["Handling", "handling", "since", "cpu_rss", "stack_processes", "cpu_seconds", "children", "stat_fields"]

_TICK = os.sysconf("SC_CLK_TCK")
#: (agent, topic) -> (seconds handling, messages handled, Redis round trips), summed over the workers
Handling = dict[tuple[str, str], tuple[float, int, float]]
_SERIES = (("switchboard_step_seconds_sum{", 0), ("switchboard_step_seconds_count{", 1),
           ("switchboard_redis_roundtrips_sum{", 2))


def handling(settings: Settings) -> Handling:
    """Seconds, messages handled and Redis round trips, by (agent, topic), summed over every worker's /metrics."""
    r = sync_redis(settings)
    totals: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0, 0.0])
    for key in r.scan_iter(Keys(settings.key_prefix).heartbeats()):
        beat = json.loads(r.get(key) or "{}")
        if not beat.get("metrics_port"):
            continue
        with urllib.request.urlopen(f"http://127.0.0.1:{beat['metrics_port']}/metrics", timeout=5) as resp:
            for line in resp.read().decode().splitlines():
                for name, i in _SERIES:
                    if line.startswith(name):
                        labels = dict(p.split("=", 1) for p in line[line.index("{") + 1:line.index("}")].split(","))
                        where = (labels["agent"].strip('"'), labels["topic"].strip('"'))
                        totals[where][i] += float(line.rsplit(" ", 1)[1])
    return {k: (v[0], int(v[1]), v[2]) for k, v in totals.items()}


def since(before: Handling, after: Handling) -> Handling:
    """What was handled between two readings."""
    zero = (0.0, 0, 0.0)
    return {k: tuple(v[i] - before.get(k, zero)[i] for i in range(3)) for k, v in after.items()}


def cpu_rss(pid: int) -> tuple[float, float]:
    """CPU seconds used so far and resident memory (MiB) of a process with its helpers: the processes it
    started in its own session (the retriever's scan worker), not those that lead sessions of their own (the
    stack's processes, when the benchmark started them)."""
    totals = [_cpu_rss_alone(p) for p in _with_helpers(pid)]
    return sum(c for c, _ in totals), sum(r for _, r in totals)


def _cpu_rss_alone(pid: int) -> tuple[float, float]:
    fields = stat_fields(pid)
    try:
        rss = next(int(line.split()[1]) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                   if line.startswith("VmRSS"))
        return (int(fields[11]) + int(fields[12])) / _TICK, rss / 1024
    except (OSError, StopIteration, IndexError):
        return 0.0, 0.0


def _with_helpers(pid: int) -> list[int]:
    """``pid`` and its descendants in its session."""
    session, out, todo = _session(pid), [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += [c for c in children(p) if _session(c) == session]
    return out


def children(pid: int) -> list[int]:
    """``pid``'s child processes (a thread or process that ends meanwhile has none)."""
    out = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return []
    for task in tasks:
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def _session(pid: int) -> int | None:
    fields = stat_fields(pid)
    return int(fields[3]) if len(fields) > 3 else None


def stat_fields(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command's name, from the state on (none for a process gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def stack_processes(settings: Settings) -> dict[str, int]:
    """The mesh's live processes by name, from the pid file its start wrote (agents, broker, Redis), and this
    process, as ``bench client``; a mesh started elsewhere without one gives the client alone."""
    recorded = read_pidfile(pidfile_of(settings))
    live = {name.removeprefix("agent-"): pid for name, pid in recorded.items() if alive(pid)}
    return {**live, "bench client": os.getpid()}


def cpu_seconds(procs: dict[str, int]) -> dict[str, float]:
    """CPU seconds each of ``procs`` has used so far."""
    return {label: cpu_rss(pid)[0] for label, pid in procs.items()}
