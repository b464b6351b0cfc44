"""Child processes that are started, waited on and stopped as a group, with a pid file.

Each child gets its own session (so a terminal's Ctrl-C reaches only the parent, which then
stops the children in order) and its own log file under the run directory.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Child", "spawn", "stop_all", "read_pidfile", "write_pidfile", "alive"]


@dataclass
class Child:
    name: str
    process: subprocess.Popen
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def spawn(name: str, argv: list[str], log_dir: Path, env: dict[str, str] | None = None) -> Child:
    """Start ``argv`` in its own session, stdout and stderr to ``log_dir/name.log``.

    ``env`` is added to the inherited environment (so PATH, HOME and the like stay)."""
    env = {**os.environ, **env} if env else None
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    with open(log_path, "ab") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, start_new_session=True)
    return Child(name, proc, log_path)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def stop_all(pids: list[int], grace_s: float = 10.0) -> list[int]:
    """SIGTERM each process group, wait up to ``grace_s``, then SIGKILL what is left.

    Returns the pids that had to be killed. Children are reaped where they are ours.
    """
    for pid in pids:
        _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    remaining = list(pids)
    while remaining and time.monotonic() < deadline:
        for pid in list(remaining):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done = pid if not alive(pid) else 0
            if done:
                remaining.remove(pid)
        time.sleep(0.05)
    for pid in remaining:
        _signal_group(pid, signal.SIGKILL)
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
    return remaining


def write_pidfile(path: Path, children: dict[str, int]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(children))


def read_pidfile(path: Path) -> dict[str, int]:
    try:
        return {k: int(v) for k, v in json.loads(path.read_text()).items()}
    except (OSError, ValueError):
        return {}
