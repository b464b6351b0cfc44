"""Calling one model endpoint for a step: the try itself (the built-in extractive model, or a chat
completion cited against the step's passages) under the endpoint's retry policy, each try counted
in the load every executor replica shares (``mesh.llm.route_stats``: a lease while it runs, its
latency after) and in the endpoint's shared breaker (``mesh.io.breakers``). A success's lease,
latency and breaker are written with the step's ledger entry (``mesh.io.pipelined.after``).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import aiohttp
from opentelemetry.trace import Status, StatusCode

from mesh.endpoints import Endpoint
from mesh.io.breakers import Breakers
from mesh.llm import extractive
from mesh.llm.openai_client import EndpointFailure, chat
from mesh.llm.prompt import Prompt, cite
from mesh.llm.route_stats import RouteStats
from mesh.llm.routing import Choice
from mesh.observe.logs import get_logger
from mesh.observe.tracing import SpanKind, tracer
from mesh.retry import retry
from schemas.models import Citation, ExecuteStep, Usage

__all__ = ["Answered", "ModelCaller"]

log = get_logger("switchboard.executor")
_tracer = tracer("switchboard.executor")


@dataclass(frozen=True)
class Answered:
    """One successful call: what the model said, as the mesh cites it, and what it cost."""

    endpoint: Endpoint
    text: str
    citations: list[Citation]
    finish_reason: str
    usage: Usage
    reason: str



class ModelCaller:
    """Calls one endpoint: under its concurrency limit and retry policy, each try counted in the load
    every replica shares (``RouteStats``) and in the endpoint's shared breaker."""

    def __init__(self, stats: RouteStats, breakers: Breakers, endpoints: list[Endpoint]) -> None:
        self._stats, self._breakers = stats, breakers
        self._limits = {e.name: asyncio.Semaphore(e.concurrency) for e in endpoints}
        self._session: aiohttp.ClientSession | None = None  # created on the worker's loop, on first use

    def slot(self, e: Endpoint) -> asyncio.Semaphore:
        """This replica's share of ``e``'s concurrency: held around ``guarded`` (and the lease taken for it)."""
        return self._limits.setdefault(e.name, asyncio.Semaphore(e.concurrency))

    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    async def guarded(self, e: Endpoint, step: ExecuteStep, prompt: Prompt, max_tokens: int,
                      choice: Choice, lease: str | None = None) -> Answered:
        """One call on ``e`` under its retry policy, inside ``slot(e)``; each try counts in its load and its
        shared breaker. ``lease``: the first try's, taken already (``RouteStats.beginning``)."""
        first = [lease] if lease else []
        return await retry(e.retry, lambda: self._once(e, step, prompt, max_tokens, choice, first.pop() if first
                                                       else None), lambda n, err, pause: (
            log.warning("endpoint_retrying", endpoint=e.name, attempt=n, error=str(err), pause_s=round(pause, 3))))

    async def _once(self, e: Endpoint, step: ExecuteStep, prompt: Prompt, max_tokens: int, choice: Choice,
                    lease: str | None) -> Answered:
        started = time.perf_counter()
        with _tracer.start_as_current_span("model.call", kind=SpanKind.CLIENT, attributes={
                "gen_ai.request.model": e.model_name, "switchboard.endpoint": e.name,
                "gen_ai.request.max_tokens": max_tokens, "switchboard.route": choice.reason}) as span:
            call_id = lease or await self._stats.begin(e.name, e.timeout_s, e.concurrency)
            try:
                out = await self.call(e, step, prompt, max_tokens, choice)
            except EndpointFailure as err:
                await self._stats.end(e.name, call_id, ok=False, latency_ms=0)
                await self._breakers.get(e.name).failed(str(err))
                span.set_status(Status(StatusCode.ERROR, f"{err.code}: {err}"))
                raise
            span.set_attributes({"gen_ai.usage.input_tokens": out.usage.prompt_tokens,
                                 "gen_ai.usage.output_tokens": out.usage.completion_tokens,
                                 "gen_ai.response.finish_reasons": [out.finish_reason]})
        # written with the step's ledger entry: the lease given back, the latency averaged in, the breaker told
        await self._stats.end(e.name, call_id, ok=True, latency_ms=(time.perf_counter() - started) * 1000,
                              deferred=True)
        await self._breakers.get(e.name).succeeded()
        return out

    async def call(self, e: Endpoint, step: ExecuteStep, prompt: Prompt, max_tokens: int, choice: Choice) -> Answered:
        """One try on ``e``: the built-in extractive model, or a chat completion cited against the passages."""
        if e.kind == "extractive":
            out = extractive.answer(step.question, step.passages)
            return Answered(e, out.text, out.citations, out.finish_reason, out.usage, choice.reason)
        done = await chat(self.session(), e, prompt.messages, max_tokens=min(max_tokens, e.max_output_tokens),
                          json_output=bool(step.output_schema), idempotency_key=step.envelope.idempotency_key)
        if not done.usage_reported:
            log.warning("usage_not_reported", endpoint=e.name, estimated_prompt_tokens=done.prompt_tokens)
        text, citations = cite(done.text, step.passages)
        return Answered(e, text, citations, done.finish_reason,
                        Usage(model=e.model_name, prompt_tokens=done.prompt_tokens,
                              completion_tokens=done.completion_tokens), choice.reason)
