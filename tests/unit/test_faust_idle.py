"""What an idle agent's Faust app does on its own: its fetch loop's fallback, the livelock check, our timers."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from faust.types import TP

from mesh.runtime.faust_app import FETCH_LOOP_FALLBACK_MS, _App, _Consumer, _every


def _app() -> _App:
    app = _App("idle-probe", broker="kafka://127.0.0.1:1", web_enabled=False)
    app.fetch_max_wait_ms, app.idempotent_producer = 7, False
    return app


def test_the_worker_consumer_gets_both_fetch_settings():
    async def consumer():
        app = _app()
        return app.consumer._new_consumer_thread()._create_worker_consumer(app.consumer.transport)

    made = asyncio.run(consumer())
    assert made._fetch_max_wait_ms == 7
    assert made._consumer_timeout == FETCH_LOOP_FALLBACK_MS / 1000 > 0.2  # aiokafka's own: five wakes a second


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
