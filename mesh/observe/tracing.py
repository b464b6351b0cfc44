"""OpenTelemetry tracing: one trace per task, its W3C context carried in Kafka headers.

The client starts the trace (a ``submit`` span) and puts its ``traceparent`` in the headers of
the task it publishes (and in the envelope, for readers of the record alone). Each agent's
handling of a message is a span, child of the span that produced the message; the work inside it
(retrieval, the index query, a model call, validation) is in child spans; every message it
produces carries the hop span's context in its headers. So one task is one trace from submission
to completion, whichever replica handled each hop.

``configure_tracing`` picks the exporter from the settings: ``otlp`` (OTLP over HTTP to
``otlp_endpoint``), ``console`` (spans as JSON on stdout), ``file`` (JSON lines in
``trace_dir``, one file per process) or ``none``. With ``none`` no span is recorded, yet the
context still travels from hop to hop, so log lines of one task share a trace id. Sampling is
parent-based at ``trace_sample``: the client's decision holds for the whole task.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from mesh.settings import Settings

__all__ = ["configure_tracing", "tracer", "context_of", "headers_of", "current_ids", "SpanKind", "FileExporter"]

SpanKind = trace.SpanKind
_propagator = TraceContextTextMapPropagator()
_configured: TracerProvider | None = None


def tracer(name: str = "switchboard") -> trace.Tracer:
    return trace.get_tracer(name)


def configure_tracing(settings: Settings, service: str) -> TracerProvider | None:
    """Install the tracer provider for this process (once); None when the exporter is ``none``."""
    global _configured
    if settings.trace_exporter == "none" or _configured is not None:
        return _configured
    resource = Resource.create({"service.name": f"switchboard-{service}", "service.namespace": "switchboard",
                                "service.instance.id": f"{os.uname().nodename}:{os.getpid()}"})
    provider = TracerProvider(resource=resource, sampler=ParentBased(TraceIdRatioBased(settings.trace_sample)))
    provider.add_span_processor(BatchSpanProcessor(_exporter(settings, service), schedule_delay_millis=500))
    trace.set_tracer_provider(provider)
    atexit.register(provider.shutdown)  # the last batch is exported when the worker stops
    _configured = provider
    return provider


def _exporter(settings: Settings, service: str) -> SpanExporter:
    if settings.trace_exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
            OTLPSpanExporter,
        )

        return OTLPSpanExporter(endpoint=settings.otlp_endpoint, timeout=5)
    if settings.trace_exporter == "console":  # on stderr: stdout is a command's output (`ask --json`)
        return ConsoleSpanExporter(out=sys.stderr, formatter=lambda span: span.to_json(indent=None) + "\n")
    directory = Path(settings.trace_dir or Path(settings.run_dir) / "traces")
    return FileExporter(directory / f"{service}-{os.getpid()}.jsonl")


class FileExporter(SpanExporter):
    """Spans as JSON lines appended to one file (one per process, so writers never interleave)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path, self._lock = path, threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = "".join(json.dumps(json.loads(s.to_json(indent=None))) + "\n" for s in spans)
        with self._lock, self.path.open("a") as f:
            f.write(lines)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None


class _Headers:
    """Getter and setter of the propagator over Kafka headers (name -> bytes)."""

    @staticmethod
    def get(carrier: Mapping[str, bytes], key: str) -> list[str] | None:
        value = carrier.get(key)
        return [value.decode("latin-1")] if value else None

    @staticmethod
    def keys(carrier: Mapping[str, bytes]) -> list[str]:
        return list(carrier)

    @staticmethod
    def set(carrier: dict[str, bytes], key: str, value: str) -> None:
        carrier[key] = value.encode("latin-1")


def context_of(headers: Mapping[str, bytes], traceparent: str | None = None) -> otel_context.Context:
    """The trace context a message carries: its headers, else the envelope's ``traceparent``."""
    carrier = dict(headers)
    if "traceparent" not in carrier and traceparent:
        carrier["traceparent"] = traceparent.encode()
    return _propagator.extract(carrier, getter=_Headers)


def headers_of(span: trace.Span | None = None) -> list[tuple[str, bytes]]:
    """Headers carrying ``span``'s context (default: the current span) to the next hop."""
    carrier: dict[str, bytes] = {}
    ctx = trace.set_span_in_context(span) if span is not None else None
    _propagator.inject(carrier, context=ctx, setter=_Headers)
    return sorted(carrier.items())


def current_ids() -> dict[str, str]:
    """trace_id and span_id of the current span, as hex, for log lines (empty outside a trace)."""
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return {}
    return {"trace_id": format(ctx.trace_id, "032x"), "span_id": format(ctx.span_id, "016x")}


def traceparent_of(headers: Iterable[tuple[str, bytes]]) -> str | None:
    return next((v.decode() for k, v in headers if k == "traceparent"), None)
