"""Running one agent as a Faust worker process (`switchboard agent NAME`): logs, traces, metrics, then Faust."""

from __future__ import annotations

from mesh.agents import load_spec
from mesh.app import build_app
from mesh.logs import configure_logging, get_logger
from mesh.metrics import serve
from mesh.settings import Settings
from mesh.tracing import configure_tracing

__all__ = ["run_agent"]


def run_agent(name: str, settings: Settings) -> None:
    """Block running agent ``name`` until SIGTERM or SIGINT."""
    from faust.worker import Worker

    configure_logging(settings.log_level, settings.log_json)
    configure_tracing(settings, name)
    metrics_port = serve(settings.metrics_port) if settings.metrics_enabled else None
    spec = load_spec(name)
    app = build_app(settings, spec, metrics_port=metrics_port)
    get_logger().info("agent_starting", agent=name, group=app.conf.id, broker=settings.bootstrap_servers,
                      metrics_port=metrics_port, tracing=settings.trace_exporter)
    worker = Worker(app, loglevel=settings.log_level.upper(), quiet=True, redirect_stdouts=False,
                    override_logging=False, console_port=0)
    worker.execute_from_commandline()
