"""What an idle agent's Faust app does on its own: its fetch loop's fallback, the livelock check, our timers."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from faust.types import TP

from mesh.runtime.faust_app import (
    FETCH_LOOP_FALLBACK_MS,
    GATHER_MIN_BYTES,
    _App,
    _Consumer,
    _every,
    build_app,
)
from mesh.runtime.spec import AgentSpec
from mesh.settings import Settings


def _app(gathers: bool = False) -> _App:
    app = _App("idle-probe", broker="kafka://127.0.0.1:1", web_enabled=False)
    app.fetch_max_wait_ms, app.idempotent_producer, app.gathers = 7, False, gathers
    return app


def _worker_consumer(gathers: bool = False):
    async def consumer():
        app = _app(gathers)
        return app.consumer._new_consumer_thread()._create_worker_consumer(app.consumer.transport)

    return asyncio.run(consumer())


def test_the_worker_consumer_gets_both_fetch_settings():
    made = _worker_consumer()
    assert made._fetch_max_wait_ms == 7
    assert made._consumer_timeout == FETCH_LOOP_FALLBACK_MS / 1000 > 0.2  # aiokafka's own: five wakes a second
    assert made._fetch_min_bytes == 1  # answered as soon as a record is there


def test_a_gathering_agent_fetches_a_batch_worth_of_records():
    assert _worker_consumer(gathers=True)._fetch_min_bytes == GATHER_MIN_BYTES > 1


def test_the_livelock_check_visits_every_partition_without_yielding():
    """Faust's own awaits a stop-aware sleep before each partition; ours finishes in the turn it starts."""
    partitions = {TP("t", p) for p in range(12)}
    seen = []
    consumer = SimpleNamespace(assignment=lambda: partitions, should_stop=False,
                               verify_event_path=lambda now, tp: seen.append(tp))
    check = _Consumer.verify_all_partitions_active(consumer)
    try:
        check.send(None)
    except StopIteration:
        pass
    else:
        raise AssertionError("the check awaited the event loop")
    assert sorted(seen) == sorted(partitions)


def test_the_livelock_check_stops_with_the_consumer():
    seen = []
    consumer = SimpleNamespace(assignment=lambda: {TP("t", 0), TP("t", 1)}, should_stop=True,
                               verify_event_path=lambda now, tp: seen.append(tp))
    asyncio.run(_Consumer.verify_all_partitions_active(consumer))
    assert seen == []


def test_every_runs_at_its_interval_until_cancelled():
    app = _app()
    calls = []

    @_every(app, 0.02)
    async def tick() -> None:
        calls.append(asyncio.get_running_loop().time())

    async def run() -> int:
        task = asyncio.ensure_future(app._app_tasks[-1]())
        await asyncio.sleep(0.15)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        stopped_at = len(calls)
        await asyncio.sleep(0.06)
        assert len(calls) == stopped_at  # cancelling the app's task stops the timer
        return stopped_at

    assert asyncio.run(run()) >= 2
    # about the interval apart, not a burst (the loop may wake a sleep early by its clock's resolution)
    assert all(b - a >= 0.015 for a, b in zip(calls, calls[1:]))


def test_build_app_commits_at_the_configured_interval_and_gathers_as_its_spec_says(tmp_path):
    async def build(spec: AgentSpec):
        settings = Settings(run_dir=tmp_path, commit_interval_s=3.5, fetch_max_wait_ms=5,
                            redis_url="redis://127.0.0.1:1/0")  # never reached: nothing is started
        return build_app(settings, spec)

    gathering = asyncio.run(build(AgentSpec("probe", lambda ctx: [], gather_ms=300)))
    assert gathering.conf.broker_commit_interval == 3.5
    assert (gathering.gathers, gathering.fetch_max_wait_ms) == (True, 300)
    plain = asyncio.run(build(AgentSpec("probe", lambda ctx: [])))
    assert (plain.gathers, plain.fetch_max_wait_ms) == (False, 5)
