"""Running one agent as a Faust worker process (`switchboard agent NAME`): logs, traces, metrics, then Faust."""

from __future__ import annotations

import os
from pathlib import Path

from mesh.observe.logs import configure_logging, get_logger
from mesh.observe.metrics import serve
from mesh.observe.tracing import configure_tracing
from mesh.runtime.faust_app import build_app
from mesh.runtime.registry import load_spec
from mesh.settings import Settings

__all__ = ["run_agent", "limit_blas", "last_in_line"]


def limit_blas(settings: Settings):
    """Cap numpy's BLAS at ``blas_threads`` in this process (returns the limiter, which can restore them).

    OpenBLAS's idle threads spin between calls: with two of them, the exact search of one query at
    a time kept 58% of a core busy in the index agent on a 2-core machine, taken from the encoder.
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(settings.blas_threads, user_api="blas")


def last_in_line() -> str:
    """Put this process's thread, and the threads it starts from now on, last in line for the CPU; says how.

    ``SCHED_IDLE`` where the OS has it: a task of any other policy that wakes up takes the core at once;
    else ``nice`` 19, which is set either way. Both rank threads within a scheduling group only. A
    worker that `up` started leads a session of its own, and so (where the kernel groups by session,
    ``sched_autogroup``) a group of its own, which competes with every other group as an equal:
    under that, a SCHED_IDLE scanner took half of the two cores from the encoder. So the group's own
    nice goes to 19 too. (In Kubernetes the pod's CPU request weighs its cgroup the same way.)
    """
    os.nice(19 - os.nice(0))
    try:
        Path("/proc/self/autogroup").write_text("19")
    except OSError:  # no autogroups here: the policy below is enough
        pass
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        return "nice 19"
    return "idle"


def run_agent(name: str, settings: Settings) -> None:
    """Block running agent ``name`` until SIGTERM or SIGINT."""
    from faust.worker import Worker

    spec = load_spec(name)
    priority = last_in_line() if spec.background else "normal"  # before the worker starts its threads
    limit_blas(settings)
    configure_logging(settings.log_level, settings.log_json)
    configure_tracing(settings, name)
    metrics_port = serve(settings.metrics_port) if settings.metrics_enabled else None
    app = build_app(settings, spec, metrics_port=metrics_port)
    get_logger().info("agent_starting", agent=name, group=app.conf.id, broker=settings.bootstrap_servers,
                      metrics_port=metrics_port, tracing=settings.trace_exporter, cpu_priority=priority)
    worker = Worker(app, loglevel=settings.log_level.upper(), quiet=True, redirect_stdouts=False,
                    override_logging=False, console_port=0)
    worker.execute_from_commandline()
