"""Running one agent as a Faust worker process (`switchboard agent NAME`): logs, traces, metrics, then Faust."""

from __future__ import annotations

import os

from mesh.observe.logs import configure_logging, get_logger
from mesh.observe.metrics import serve
from mesh.observe.tracing import configure_tracing
from mesh.runtime.faust_app import build_app
from mesh.runtime.registry import load_spec
from mesh.settings import Settings

__all__ = ["run_agent", "limit_blas"]


def limit_blas(settings: Settings):
    """Cap numpy's BLAS at ``blas_threads`` in this process (returns the limiter, which can restore them).

    OpenBLAS's idle threads spin between calls: with two of them, the exact search of one query at
    a time kept 58% of a core busy in the index agent on a 2-core machine, taken from the encoder.
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(settings.blas_threads, user_api="blas")


def run_agent(name: str, settings: Settings) -> None:
    """Block running agent ``name`` until SIGTERM or SIGINT."""
    from faust.worker import Worker

    limit_blas(settings)
    configure_logging(settings.log_level, settings.log_json)
    configure_tracing(settings, name)
    metrics_port = serve(settings.metrics_port) if settings.metrics_enabled else None
    spec = load_spec(name)
    if spec.nice:
        os.nice(spec.nice)
    app = build_app(settings, spec, metrics_port=metrics_port)
    get_logger().info("agent_starting", agent=name, group=app.conf.id, broker=settings.bootstrap_servers,
                      metrics_port=metrics_port, tracing=settings.trace_exporter, nice=os.nice(0))
    worker = Worker(app, loglevel=settings.log_level.upper(), quiet=True, redirect_stdouts=False,
                    override_logging=False, console_port=0)
    worker.execute_from_commandline()
