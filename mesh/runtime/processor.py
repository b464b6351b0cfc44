"""The agent runtime: what happens to every consumed message, once, for every agent.

An agent is a name and a few ``Route``s (input topic -> async handler returning ``Emit``s).
``Processor.process`` does the rest, in this order:

1. decode the bytes (Avro single-object, or the Confluent wire format) and check the record belongs on its topic;
   anything that does not decode or validate goes to ``<topic>.dlq`` with the reason; so does plain text
   where a sealed value belongs (``mesh.security.sealing.Unsealed``), audited and, for a task, rejected;
2. open the hop's span, child of the producer's (W3C context from the Kafka headers), and bind
   the log context (task, step, agent; trace and span ids are added to every line);
3. if the idempotency ledger already holds this input's outputs, send them again and stop
   (a redelivery never re-runs the handler: no second model call, no second charge); the
   route's ``prefetch`` (the handler's first Redis commands) rides on that read;
4. run the handler, retrying transient errors under the agent's ``RetryPolicy``;
   a ``SemanticError`` becomes a typed rejection for the client; a deterministic error, a bug,
   or retries exhausted dead-letter the input and tell the client the task failed;
5. record the outputs in the ledger, with the writes the handler deferred (``mesh.io.pipelined``)
   in the same round trip, then produce them and wait for the broker's ack.
   Only then does the caller let the offset be committed. Each output carries the hop's trace
   context and the agent's name in its headers; with a schema registry, it is framed the Confluent way.

Every message is counted (``mesh.observe.metrics``: outcome, error kind, time).

The Faust wiring is in ``mesh.runtime.faust_app``; this module knows nothing of Faust, so tests drive it
directly against a real broker and Redis.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace

import structlog
from opentelemetry.trace import INVALID_SPAN, Link, Span, Status, StatusCode
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from mesh.errors import (
    DeterministicError,
    HandlerCrashed,
    RedisUnavailable,
    SemanticError,
    SwitchboardError,
    Unauthorized,
)
from mesh.io.ledger import Ledger, Produced
from mesh.io.pipelined import collecting
from mesh.io.roundtrips import counting
from mesh.observe import metrics
from mesh.observe.tracing import SpanKind, context_of, headers_of, tracer
from mesh.retry import RetryPolicy, retry
from mesh.runtime.route import Emit, Inbound, Route, refusal_audit
from mesh.security.sealing import Unsealed
from mesh.wire.codec import AvroCodec
from mesh.wire.envelope import ROOT_STEP, child_envelope, now_ms
from mesh.wire.topics import TOPICS, Topics, dlq_of
from schemas.models import (
    DeadLetter,
    Record,
    Rejection,
    StepDone,
    StepFailure,
    StepStatus,
    TaskCompleted,
    TaskStatus,
    Usage,
)

__all__ = ["Emit", "Inbound", "Route", "Processor", "Send", "trace_id_of", "AGENT_HEADER"]

log = structlog.get_logger("switchboard.runtime")
_tracer = tracer("switchboard.runtime")

_NO_SPAN = INVALID_SPAN

_OUTAGE_RETRY = RetryPolicy(attempts=8, initial_s=0.05, multiplier=2.0, cap_s=1.0)

#: header naming the agent that produced a message (``switchboard trace`` shows it)
AGENT_HEADER = "sb-agent"

#: Sends already-encoded messages and returns once the broker has acknowledged every one.
Send = Callable[[list[Produced]], Awaitable[None]]


def _prefetch(route: Route, record: Record):
    """The route's prefetch for ``record``, if it has one and it can be made (else the handler reads itself)."""
    try:
        return route.prefetch(record) if route.prefetch else None
    except Exception:  # noqa: BLE001 (the handler meets the same error where it is handled)
        log.exception("prefetch_failed", topic=route.topic)
        return None


def trace_id_of(traceparent: str | None) -> str | None:
    """The trace id of a W3C ``traceparent`` (``00-<trace id>-<span id>-<flags>``)."""
    parts = (traceparent or "").split("-")
    return parts[1] if len(parts) == 4 and len(parts[1]) == 32 else None


class Processor:
    """Applies the runtime's rules to each message of one agent."""

    def __init__(self, agent: str, routes: list[Route], *, codec: AvroCodec, topics: Topics,
                 ledger: Ledger, send: Send, retry_policy: RetryPolicy = RetryPolicy(),
                 infra_retry: RetryPolicy = RetryPolicy(attempts=1_000_000, initial_s=0.1, cap_s=5.0)) -> None:
        self.agent = agent
        self._routes = {topics.name(r.topic): r for r in routes}
        self._codec, self._topics, self._ledger, self._send = codec, topics, ledger, send
        self._retry, self._infra_retry = retry_policy, infra_retry

    @property
    def topics(self) -> list[str]:
        """Physical names of the topics this agent consumes."""
        return list(self._routes)

    async def process(self, msg: Inbound) -> str:
        """Handle one message end to end; returns the outcome (for logs, metrics and tests)."""
        with counting() as trips:
            outcome = await self._process(msg)
        metrics.REDIS_TRIPS.labels(self.agent, self._topics.logical(msg.topic)).observe(trips[0])
        return outcome

    async def _process(self, msg: Inbound) -> str:
        started = time.perf_counter()
        route = self._routes[msg.topic]
        record, bad = None, None
        try:
            record = await self._sealing(lambda: self._decode(route, msg))
            if route.authority is not None:
                route.authority(record)
        except DeterministicError as err:
            bad = err
        with self._span(msg, record) as span:
            if bad is not None:
                letters = await self._sealing(lambda: self._refused(msg, bad, record))
                await self._infra(lambda: self._send(letters))
                return self._done(span, msg.topic, "dead_lettered", started, bad)
            env = record.envelope
            with structlog.contextvars.bound_contextvars(task_id=env.task_id, step_id=env.step_id, agent=self.agent):
                outcome, err = await self._handle(route, msg, record)
                log.info("message_processed", topic=msg.topic, partition=msg.partition, offset=msg.offset,
                         outcome=outcome, ms=round((time.perf_counter() - started) * 1000, 2),
                         lag_ms=round(time.time() * 1000 - env.created_at.timestamp() * 1000))
                return self._done(span, msg.topic, outcome, started, err)

    def _span(self, msg: Inbound, record: Record | None, current: bool = True):
        """The span of this agent's handling of ``msg``, child of the span that produced it.

        ``current``: a context manager making it the current span; else a started span to end.
        """
        env = record.envelope if record is not None else None
        attributes = {"messaging.system": "kafka", "messaging.destination.name": msg.topic,
                      "messaging.kafka.partition": msg.partition, "messaging.kafka.offset": msg.offset,
                      "switchboard.agent": self.agent}
        if env is not None:
            attributes.update({"switchboard.task_id": env.task_id, "switchboard.step_id": env.step_id,
                               "switchboard.tenant": env.tenant_id, "switchboard.attempt": env.attempt})
        start = _tracer.start_as_current_span if current else _tracer.start_span
        return start(f"{self.agent} {self._topics.logical(msg.topic)}", kind=SpanKind.CONSUMER,
                     context=context_of(msg.headers, env.traceparent if env else None), attributes=attributes)

    def _done(self, span: Span, topic: str, outcome: str, started: float, err: SwitchboardError | None) -> str:
        """Count, time and annotate one handled message."""
        logical = self._topics.logical(topic)
        metrics.MESSAGES.labels(self.agent, logical, outcome).inc()
        metrics.STEP_SECONDS.labels(self.agent, logical).observe(time.perf_counter() - started)
        span.set_attribute("switchboard.outcome", outcome)
        if err is not None:
            kind = "bug" if err.bug else err.kind.value
            metrics.FAILURES.labels(self.agent, logical, kind).inc()
            span.set_attribute("switchboard.error_code", err.code)
            if outcome == "dead_lettered":
                span.set_status(Status(StatusCode.ERROR, f"{err.code}: {err}"))
        return outcome

    def route_of(self, topic: str) -> Route:
        return self._routes[topic]

    def logical(self, topic: str) -> str:
        """The logical name (``steps.execute``) of a physical topic this agent consumes."""
        return self._topics.logical(topic)

    async def process_batch(self, msgs: list[Inbound]) -> list[str]:
        """Handle messages of one topic together through the route's ``handle_many``.

        Decoding, dead-lettering and ledger replay stay per message; if the batch handler fails,
        each message is handled alone, so one bad record cannot fail its neighbours.
        """
        route = self._routes[msgs[0].topic]
        if route.handle_many is None or len(msgs) == 1:
            return [await self.process(m) for m in msgs]
        with counting() as trips:
            outcomes = await self._process_batch(route, msgs)
        per_message = metrics.REDIS_TRIPS.labels(self.agent, self._topics.logical(msgs[0].topic))
        for _ in msgs:
            per_message.observe(trips[0] / len(msgs))
        return outcomes

    async def _process_batch(self, route: Route, msgs: list[Inbound]) -> list[str]:
        started = time.perf_counter()
        fresh, outcomes, letters = [], [], []
        for msg in msgs:
            record = None
            try:
                record = await self._sealing(lambda: self._decode(route, msg))
                if route.authority is not None:
                    route.authority(record)
            except DeterministicError as err:
                letters += await self._sealing(lambda err=err: self._refused(msg, err, record))
                outcomes.append(self._done(_NO_SPAN, msg.topic, "dead_lettered", started, err))
                continue
            recorded = (await self._infra(lambda: self._ledger.get(self.agent, record.envelope.tenant_id, record.envelope.idempotency_key))
                        if route.idempotent else None)
            if recorded is not None:
                await self._infra(lambda: self._send(recorded))
                outcomes.append(self._done(_NO_SPAN, msg.topic, "duplicate_replayed", started, None))
            else:
                fresh.append((msg, record))
        if letters:  # sent together: a flood of bad messages costs one round trip per batch, not one each
            await self._infra(lambda: self._send(letters))
        if not fresh:
            return outcomes
        # one span per message (its own trace), and the shared work in a batch span linked to them all
        spans = [self._span(m, r, current=False) for m, r in fresh]
        try:
            with _tracer.start_as_current_span(f"{self.agent} {self._topics.logical(msgs[0].topic)} batch",
                                               links=[Link(sp.get_span_context()) for sp in spans],
                                               attributes={"switchboard.batch_size": len(fresh)}), \
                    collecting() as writes:
                results = await self._run(lambda: route.handle_many([r for _, r in fresh]))
        except Exception as err:
            for sp in spans:
                sp.end()
            log.warning("batch_failed_handling_one_by_one", topic=msgs[0].topic, size=len(fresh), error=str(err))
            return outcomes + [await self.process(m) for m, _ in fresh]
        produced: list[Produced] = []
        if writes and not route.idempotent:
            await self._infra(lambda: self._ledger.flush(writes))
        for (msg, record), emits, span in zip(fresh, results, spans):
            out = await self._encoded(emits, record, span)
            if route.idempotent:
                out = await self._infra(lambda: self._ledger.record(self.agent, record.envelope.tenant_id, record.envelope.idempotency_key, out, writes))
                writes = []  # with the first entry
            produced += out
        await self._infra(lambda: self._send(produced))
        for (msg, _), span in zip(fresh, spans):
            outcomes.append(self._done(span, msg.topic, "handled", started, None))
            span.end()
        log.info("batch_processed", topic=msgs[0].topic, size=len(fresh), outputs=len(produced))
        return outcomes

    async def send_emits(self, emits: list[Emit]) -> None:
        """Send what a timer produced (no input message, so no ledger entry)."""
        if emits:
            await self._infra(lambda: self._send([self._encode(e, e.record) for e in emits]))

    def _decode(self, route: Route, msg: Inbound) -> Record:
        record = self._codec.decode(msg.value)
        expected = TOPICS[route.topic]
        if not isinstance(record, expected):
            raise DeterministicError(f"topic {route.topic} carries {expected.__avro__}, got {type(record).__avro__}",
                                     code="wrong_record_type")
        return record

    async def _handle(self, route: Route, msg: Inbound, record: Record) -> tuple[str, SwitchboardError | None]:
        key, fetched = record.envelope.idempotency_key, None
        if route.idempotent:
            prefetch = _prefetch(route, record)
            recorded, fetched = await self._infra(lambda: self._ledger.get_with(self.agent, record.envelope.tenant_id,
                                                                                key, prefetch))
            if recorded is not None:
                await self._infra(lambda: self._send(recorded))
                return "duplicate_replayed", None
        outcome, emits, dead, refused = "handled", [], None, None
        first = [] if isinstance(fetched, Exception) else [fetched]  # a failed prefetch: the handler reads itself
        try:
            with collecting() as writes:
                emits = await self._run(lambda: route.handle(record, fetched=first.pop() if first else None)
                                        if route.prefetch else route.handle(record))
        except SemanticError as err:
            outcome, emits, refused = "rejected", [self._failure(route, record, err, TaskStatus.rejected)], err
            if route.on_rejected is not None:
                emits += route.on_rejected(record, err)
        except SwitchboardError as err:
            outcome, dead = "dead_lettered", err
        except Exception as err:  # a bug: never retried, never silently dropped
            log.exception("handler_crashed", topic=msg.topic, offset=msg.offset)
            outcome, dead = "dead_lettered", HandlerCrashed(f"{type(err).__name__}: {err}")
        produced = await self._encoded(emits, record)
        if dead is not None:
            produced = [self._dead_letter(msg, dead)]
            if route.reports != "nobody":
                produced += await self._encoded([self._failure(route, record, dead, TaskStatus.failed)], record)
        if route.idempotent:
            produced = await self._infra(lambda: self._ledger.record(self.agent, record.envelope.tenant_id, key,
                                                                     produced, writes))
        elif writes:
            await self._infra(lambda: self._ledger.flush(writes))
        await self._infra(lambda: self._send(produced))
        if outcome != "handled":
            log.warning(f"step_{outcome}", reason=str(dead or refused or ""), outputs=len(produced))
        return outcome, dead or refused

    def _headers(self, span: Span | None = None) -> tuple[tuple[str, bytes], ...]:
        return (*headers_of(span), (AGENT_HEADER, self.agent.encode()))

    async def _encoded(self, emits: list[Emit], cause: Record, span: Span | None = None) -> list[Produced]:
        return await self._sealing(lambda: [self._encode(e, cause, span) for e in emits])

    async def _sealing(self, fn):
        """``fn()``, an outage of Redis meanwhile waited out: sealing or opening a payload may fetch a tenant's
        data key from Redis (once per tenant and process)."""
        async def call():
            return fn()
        return await self._infra(call)

    def _encode(self, emit: Emit, cause: Record, span: Span | None = None) -> Produced:
        key, topic = emit.key if emit.key is not None else cause.envelope.task_id, self._topics.name(emit.topic)
        return Produced(topic, key.encode(), self._codec.encode(emit.record, topic), self._headers(span))

    def _undecodable(self, msg: Inbound, err: DeterministicError) -> Produced:
        """The dead letter of a message that did not decode, logged."""
        log.warning("message_dead_lettered", agent=self.agent, topic=msg.topic, partition=msg.partition,
                    offset=msg.offset, code=err.code, reason=str(err), size=len(msg.value or b""))
        return self._dead_letter(msg, err)

    def _refused(self, msg: Inbound, err: DeterministicError, record: Record | None) -> list[Produced]:
        """The dead letter of a message that did not decode or may not be served; for the latter, its audit too.

        A record refused as ``Unsealed`` is dead-lettered with those fields sealed (the mesh copies no plain
        text), audited, and, for a task, its client gets a typed rejection saying what to do.
        """
        if isinstance(err, Unsealed):
            record, msg = err.record, replace(msg, value=err.sealed)
        letters = [self._undecodable(msg, err)]
        if record is not None and isinstance(err, (Unauthorized, Unsealed)):
            letters.append(self._encode(refusal_audit(self.agent, msg.topic, record, err), record))
        if isinstance(err, Unsealed) and (route := self._routes[msg.topic]).reports == "client":
            letters.append(self._encode(self._failure(route, record, err, TaskStatus.rejected), record))
        return letters

    def _dead_letter(self, msg: Inbound, err: SwitchboardError) -> Produced:
        letter = DeadLetter(topic=msg.topic, partition=msg.partition, offset=msg.offset, key=msg.key,
                            value=msg.value, headers=msg.headers, error_kind=err.kind, reason=str(err),
                            agent=self.agent, failed_at=now_ms())
        return Produced(dlq_of(msg.topic), msg.key, self._codec.encode(letter, dlq_of(msg.topic)), self._headers())

    def _failure(self, route: Route, record: Record, err: SwitchboardError, status: TaskStatus) -> Emit:
        if route.reports == "planner":  # the planner builds the client's rejection from ``failure``, never ``reasons``
            failure = StepFailure(kind=err.kind, code=err.code, agent=self.agent, message=str(err),
                                  policy_ids=list(getattr(err, "policy_ids", ())))
            done = StepDone(envelope=child_envelope(record.envelope, "done"), status=StepStatus.failed,
                            usage=Usage(model=""), reasons=[f"{err.code}: {err}"], failure=failure)
            return Emit("steps.done", done)
        env = child_envelope(record.envelope, "completed", step_id=ROOT_STEP)
        rejection = Rejection(kind=err.kind, code=err.code, message=str(err), agent=self.agent,
                              policy_ids=list(getattr(err, "policy_ids", ())))
        return Emit("tasks.completed", TaskCompleted(envelope=env, status=status, rejection=rejection))

    async def _run(self, fn):
        """A handler under the agent's retry policy; an outage of the mesh's own Redis or broker is waited out.

        Outages do not count against the policy: the handler is tried again every second at most
        (jittered), for as long as the outage lasts. The input stays uncommitted meanwhile, so a
        task is never failed because our state store restarted, and work resumes within a second
        of its return.
        """
        async def attempt():
            waited = 0
            while True:
                try:
                    return await fn()
                except (RedisConnectionError, RedisTimeoutError) as err:  # a Redis call no boundary translated
                    outage = RedisUnavailable(f"redis unavailable: {err}")
                except SwitchboardError as err:
                    if not err.outage:
                        raise
                    outage = err
                waited += 1
                pause = _OUTAGE_RETRY.delay(min(waited, _OUTAGE_RETRY.attempts))
                log.warning("waiting_for_infrastructure", error=str(outage), attempt=waited, pause_s=round(pause, 3))
                await asyncio.sleep(pause)

        return await retry(self._retry, attempt, self._log_retry)

    async def _infra(self, fn):
        """Ledger and broker calls: retried until they succeed, so an accepted message is never lost."""
        return await retry(self._infra_retry, fn, self._log_retry)

    def _log_retry(self, attempt: int, err: BaseException, pause: float) -> None:
        metrics.RETRIES.labels(self.agent).inc()
        log.warning("transient_error_retrying", attempt=attempt, error=str(err), pause_s=round(pause, 3))
