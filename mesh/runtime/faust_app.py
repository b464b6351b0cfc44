"""Faust wiring: one Faust app (one consumer group) per agent, feeding ``Processor``.

Each agent's app consumes its topics as raw bytes and hands every message to the runtime,
which decodes, dead-letters, deduplicates and produces. Messages run in the route's window
(``mesh.runtime.window``), many at once; a message's offset is acked only after the runtime
returned for it and for every earlier message of its partition, that is after their outputs
were acknowledged by the broker.

Faust hard-codes a 1.5 s fetch wait for its stream consumer; the embedded broker answers a
fetch only when the wait runs out, so ``_Transport`` sets the configured wait.
Its producer waits for all replicas and is idempotent where the broker supports it (the
embedded tansu refuses aiokafka's InitProducerId; the idempotency ledger covers duplicates).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
from functools import partial, wraps
from time import monotonic

import faust
from aiokafka.errors import KafkaError
from faust.transport.drivers import aiokafka as faust_aiokafka

from mesh.errors import BrokerUnavailable, TransientError
from mesh.io import roundtrips
from mesh.io.coalesce import Coalescer
from mesh.io.kafka_security import faust_credentials
from mesh.io.keys import Keys
from mesh.io.ledger import Ledger, Produced
from mesh.io.redis_clients import connect
from mesh.observe import metrics
from mesh.observe.logs import get_logger
from mesh.runtime import fetch_wait
from mesh.runtime.processor import Inbound, Processor
from mesh.runtime.spec import AgentContext, AgentSpec, Parts, Timer, group_id
from mesh.runtime.window import Window
from mesh.security.sealing import codec_for
from mesh.settings import Settings
from mesh.wire.codec import register_with_faust
from mesh.wire.topics import Topics

__all__ = ["build_app"]

log = get_logger("switchboard.app")


#: how often aiokafka's fetch loop looks again on its own (its default 0.2 s); a fetch that returns, records
#: consumed and a resumed partition wake it at once, so this is only its fallback, paid 5 times a second idle
FETCH_LOOP_FALLBACK_MS = 1000

#: what a gathering agent's fetch waits for (``AgentSpec.gather_ms``): a batch's worth of records, or its wait
GATHER_MIN_BYTES = 64 * 1024


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport):
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = self.app.fetch_max_wait_ms  # aiokafka reads both when the fetcher starts
        consumer._consumer_timeout = FETCH_LOOP_FALLBACK_MS / 1000
        consumer._fetch_min_bytes = GATHER_MIN_BYTES if self.app.gathers else 1
        start = consumer.start

        async def start_with_adaptive_wait() -> None:
            await start()  # makes the fetcher, whose every request then reads the wait it is given
            self.app.adapt_fetch_wait(consumer._fetcher)

        consumer.start = start_with_adaptive_wait
        return consumer


class _Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self):
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def verify_all_partitions_active(self) -> None:
        """Faust's livelock check of every partition, in one turn of the loop.

        Faust's own yields to the loop before each partition through a stop-aware sleep, about five
        callbacks a partition every 1.25 s: most of what an idle agent's loop did. The check itself is a
        few lookups a partition."""
        now = monotonic()
        for tp in self.assignment():
            if self.should_stop:
                return
            self.verify_event_path(now, tp)


class _Producer(faust_aiokafka.Producer):
    def _settings_extra(self):
        extra = {**super()._settings_extra(), "acks": "all"}
        if self.app.idempotent_producer:
            extra["enable_idempotence"] = True
        return extra


class _Transport(faust_aiokafka.Transport):
    Consumer = _Consumer
    Producer = _Producer


class _App(faust.App):
    #: whether its fetches wait for a batch's worth of records (``AgentSpec.gather_ms``)
    gathers = False

    def _new_transport(self):
        return _Transport(self.conf.broker_consumer, self)

    def _new_producer_transport(self):
        return _Transport(self.conf.broker_producer, self)


def build_app(settings: Settings, spec: AgentSpec, metrics_port: int | None = None) -> faust.App:
    """A Faust app running ``spec`` against the configured broker and Redis.

    ``metrics_port``: where this process serves /metrics (announced in the heartbeat).
    """
    register_with_faust()
    roundtrips.instrument()  # switchboard_redis_roundtrips, per handled message
    (settings.run_dir / "faust").mkdir(parents=True, exist_ok=True)
    app = _App(
        group_id(settings, spec.name),
        broker=[f"kafka://{s.strip()}" for s in settings.bootstrap_servers.split(",")],
        broker_credentials=faust_credentials(settings),  # TLS and SASL
        store="memory://",
        datadir=str(settings.run_dir / "faust" / "{conf.name}"),  # not the working directory
        web_enabled=False,
        topic_disable_leader=True,
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=settings.heartbeat_interval_s,
        broker_rebalance_timeout=max(settings.session_timeout_s * 2, 10.0),
        broker_request_timeout=max(settings.session_timeout_s * 2, 30.0),
        producer_linger=settings.producer_linger_ms / 1000.0,
        producer_compression_type=settings.producer_compression,
        broker_commit_interval=settings.commit_interval_s,
    )
    app.gathers = spec.gather_ms > 0
    app.fetch_max_wait_ms = max(settings.fetch_max_wait_ms, spec.gather_ms)
    app.adapt_fetch_wait = lambda fetcher: fetch_wait.install(fetcher, fetch_wait.FetchWait(
        app.fetch_max_wait_ms, settings.fetch_idle_wait_ms, settings.fetch_idle_after_s,
        deep_ms=settings.fetch_deep_idle_wait_ms, deep_after_s=settings.fetch_deep_idle_after_s),
        metrics.FETCH_WAIT.labels(spec.name))
    app.idempotent_producer = settings.idempotent_producers
    topics = Topics(settings.topic_prefix)
    codec = codec_for(settings, strict=True)  # plain text where a sealed value belongs is refused
    codec.register(topics.records())  # with a schema registry: every subject before the first write
    ctx = AgentContext(settings, codec, topics, Keys(settings.key_prefix), connect(settings),
                       getattr(codec, "sealer", None))

    async def send_together(batches: list[list[Produced]]) -> list[None]:
        """The outputs of every message that finished in this turn, produced and awaited once."""
        try:
            futures = [await app.producer.send(o.topic, o.key, o.value, None, None, list(o.headers) or None)
                       for outputs in batches for o in outputs]
            await asyncio.gather(*futures)
        except KafkaError as err:
            raise BrokerUnavailable(f"broker refused a produce: {err}") from err
        return [None] * len(batches)

    send = Coalescer(send_together)

    built = spec.routes(ctx)
    parts = built if isinstance(built, Parts) else Parts(built)
    processor = Processor(spec.name, parts.routes, codec=ctx.codec, topics=topics,
                          ledger=Ledger(ctx.redis, ctx.keys, settings.idempotency_ttl_s, parts.riders), send=send,
                          retry_policy=settings.retry_policy(spec.name, spec.retry))
    window = settings.window(spec.name, spec.window)
    for name in processor.topics:
        _consume(app, processor, name, window)
    for timer in parts.timers:
        _schedule(app, processor, timer)
    warm = asyncio.Event()

    @app.task
    async def warm_up() -> None:
        if parts.warmup is not None:
            await parts.warmup()
        warm.set()

    _heartbeat(app, ctx, spec.name, warm, metrics_port, parts.info)
    _measure_lag(app, spec.name, topics)
    return app


def _inbound(event) -> Inbound:
    m = event.message
    return Inbound(m.topic, m.partition, m.offset, m.key, m.value, {k: bytes(v or b"") for k, v in (m.headers or [])})


def _consume(app: faust.App, processor: Processor, topic_name: str, window: int) -> None:
    topic = app.topic(topic_name, key_serializer="raw", value_serializer="raw")
    route = processor.route_of(topic_name)

    async def consume(stream):
        stream.enable_acks = False  # acked by the window, in offset order, after the handling
        if route.handle_many is None:
            await _windowed(stream, processor, Window(window, stream.ack, ordered=route.ordered, name=topic_name))
        else:
            async for events in _ready_batches(stream, route.batch_size):
                await processor.process_batch([_inbound(e) for e in events])

    app.agent(topic, name=f"{processor.agent}.{topic_name}")(consume)


async def _windowed(stream, processor: Processor, window: Window) -> None:
    """Each event handled in the window: up to its size at once, acked once it and all before it are done."""
    metrics.IN_FLIGHT.labels(processor.agent, processor.logical(window.name)).set_function(lambda: window.in_flight)
    async for event in stream.events():
        msg = _inbound(event)
        await window.submit(msg.partition, msg.offset, msg.key, event, partial(processor.process, msg))


async def _ready_batches(stream, max_size: int):
    """The stream's events in batches of what has arrived, each acked once the batch was handled.

    A batch closes as soon as no further event is waiting (or at ``max_size``): a lone message is
    handled after one turn of the event loop, which lets the rest of a fetch that Faust is still
    handing over join it, and under load what queued while one batch was handled forms the next. Faust's
    ``take_events`` flushes on a timer instead, which makes every message wait up to its interval
    and wakes an idle agent at every tick.
    """
    waiting = stream.channel.queue
    batch = []
    async for event in stream.events():
        batch.append(event)
        if waiting.empty() and len(batch) < max_size:
            await asyncio.sleep(0)  # records of the same fetch still being put on the queue
        if len(batch) >= max_size or waiting.empty():
            yield batch
            for e in batch:
                await stream.ack(e)
            batch = []


def _every(app: faust.App, interval_s: float):
    """Run the decorated coroutine function every ``interval_s`` seconds while the app runs (a decorator).

    A plain sleep between runs: Faust's ``app.timer`` waits through a stop-aware sleep that starts
    and cancels a task at every tick. Stopping the app cancels this loop as it does Faust's timers."""
    def register(fun):
        @app.task
        @wraps(fun)
        async def every() -> None:
            while True:
                await asyncio.sleep(interval_s)
                await fun()
        return fun
    return register


def _schedule(app: faust.App, processor: Processor, timer: Timer) -> None:
    @_every(app, timer.interval_s)
    async def tick() -> None:
        try:
            await processor.send_emits(await timer.run())
            if timer.after is not None:
                await timer.after()
        except TransientError as err:  # Redis restarting, the broker away: the next tick tries again
            log.warning("timer_skipped", agent=processor.agent, error=str(err))


def _heartbeat(app: faust.App, ctx: AgentContext, agent: str, warm: asyncio.Event, metrics_port: int | None,
               info: dict[str, str]) -> None:
    """Announce the worker in Redis once it is warm and has joined its group, so `up` and tests know it is ready;
    ``info`` is what the agent says of itself (shown by `switchboard agents`)."""
    instance = f"{socket.gethostname()}:{os.getpid()}"
    interval = 1.0
    joined = asyncio.Event()  # a replica with no partition (more replicas than partitions) is ready too

    @app.on_partitions_assigned.connect
    async def on_assigned(app, assigned, **kwargs) -> None:
        joined.set()

    @_every(app, interval)
    async def beat() -> None:
        assigned = app.consumer.assignment() if app.consumer else set()
        if (assigned or joined.is_set()) and warm.is_set():
            try:
                beat = {"partitions": len(assigned), "pid": os.getpid(), "host": socket.gethostname(),
                        "metrics_port": metrics_port, "info": info}
                await ctx.redis.set(ctx.keys.heartbeat(agent, instance), json.dumps(beat), px=int(interval * 3000))
            except Exception:  # liveness reporting must never stop the worker
                pass


def _measure_lag(app: faust.App, agent: str, topics: Topics, interval_s: float = 5.0) -> None:
    """Set ``switchboard_consumer_lag`` per owned partition: the end of the log minus the next offset to read."""

    @_every(app, interval_s)
    async def measure() -> None:
        consumer = app.consumer
        if consumer is None:
            return
        for tp in consumer.assignment():
            end = consumer.highwater(tp)
            if end is None:
                continue
            read = consumer._read_offset.get(tp)  # faust keeps the last offset it handed to the stream
            lag = end - (read + 1 if read is not None else 0)
            metrics.LAG.labels(agent, topics.logical(tp.topic), str(tp.partition)).set(max(0, lag))
