"""Structured logs: JSON lines (or a console renderer on a terminal), through structlog.

Standard-library loggers (Faust, aiokafka) go through the same processors, so a worker
writes one format. Bind ``task_id``, ``step_id`` and ``agent`` with
``structlog.contextvars.bound_contextvars``; ``trace_id`` and ``span_id`` of the current
OpenTelemetry span are added to every line, so logs and traces join. Log sizes and hashes,
never payloads.
"""

from __future__ import annotations

import logging
import sys

import structlog

from mesh.observe.tracing import current_ids

__all__ = ["configure_logging", "get_logger"]


def configure_logging(level: str = "info", json: bool | None = None, stream=None) -> None:
    """Route structlog and stdlib logging to ``stream`` (stderr) as JSON or console lines."""
    stream = stream or sys.stderr
    if json is None:
        json = not stream.isatty()
    shared = [
        structlog.contextvars.merge_contextvars,
        _trace_ids,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]
    renderer = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        # below the level, an event is dropped before any processor formats it (a line per message otherwise
        # costs its timestamp, context and trace ids even where nothing is written)
        processors=[structlog.stdlib.filter_by_level, *shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    ))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiokafka", "faust", "mode"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def _trace_ids(logger, method: str, event: dict) -> dict:
    for name, value in current_ids().items():
        event.setdefault(name, value)
    return event


def get_logger(name: str = "switchboard") -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)
