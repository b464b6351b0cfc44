"""mesh.runtime.window: jobs overlap up to the window, one key runs in order, offsets are acked in order."""

from __future__ import annotations

import asyncio
import random

import pytest

from mesh.runtime.window import Watermark, Window

pytestmark = pytest.mark.unit


def test_watermark_releases_only_a_contiguous_prefix():
    mark = Watermark()
    for offset in (10, 11, 12, 13):
        mark.started(offset)
    assert mark.finished(12, "c") == []
    assert mark.finished(11, "b") == []
    assert mark.finished(10, "a") == ["a", "b", "c"]
    assert len(mark) == 1
    assert mark.finished(13, "d") == ["d"]


def _run(coro):
    return asyncio.run(coro)


def test_jobs_overlap_up_to_the_window_and_submit_waits_when_full():
    async def scenario():
        acked, open_now, most = [], [0], [0]

        async def ack(token):
            acked.append(token)

        window = Window(4, ack, ordered=False)

        async def job():
            open_now[0] += 1
            most[0] = max(most[0], open_now[0])
            await asyncio.sleep(0.02)
            open_now[0] -= 1

        for offset in range(12):
            await window.submit(0, offset, f"k{offset}", offset, job)
            assert window.in_flight <= 4
        await window.drain()
        return acked, most[0]

    acked, most = _run(scenario())
    assert most == 4
    assert acked == list(range(12))


def test_one_key_runs_in_consumption_order_while_other_keys_overlap():
    async def scenario():
        log = []

        async def ack(token):
            pass

        window = Window(8, ack, ordered=True)

        def job(key, n, pause):
            async def run():
                log.append(("start", key, n))
                await asyncio.sleep(pause)
                log.append(("end", key, n))
            return run

        await window.submit(0, 0, "a", 0, job("a", 0, 0.05))
        await window.submit(0, 1, "a", 1, job("a", 1, 0.0))
        await window.submit(0, 2, "b", 2, job("b", 0, 0.0))
        await window.drain()
        return log

    log = _run(scenario())
    assert log.index(("end", "a", 0)) < log.index(("start", "a", 1))
    assert log.index(("end", "b", 0)) < log.index(("end", "a", 0))  # b did not wait behind a


def test_acks_follow_offsets_per_partition_whatever_order_jobs_finish_in():
    async def scenario():
        acked = {0: [], 1: []}

        async def ack(token):
            acked[token[0]].append(token[1])

        window = Window(16, ack, ordered=False)
        rng = random.Random(7)
        for offset in range(20):
            partition = offset % 2

            async def job(pause=rng.uniform(0, 0.03)):
                await asyncio.sleep(pause)

            await window.submit(partition, offset, offset, (partition, offset), job)
        await window.drain()
        return acked

    acked = _run(scenario())
    assert acked[0] == list(range(0, 20, 2))
    assert acked[1] == list(range(1, 20, 2))


def test_a_failed_job_holds_its_partition_back_and_frees_its_slot():
    async def scenario():
        acked = []

        async def ack(token):
            acked.append(token)

        window = Window(1, ack, ordered=False)

        async def boom():
            raise RuntimeError("bug")

        async def fine():
            pass

        await window.submit(0, 0, "a", 0, boom)
        await window.submit(0, 1, "b", 1, fine)  # the slot came back although the job failed
        await window.submit(1, 0, "c", "other", fine)
        await window.drain()
        return acked

    assert _run(scenario()) == ["other"]


def test_a_window_needs_room_for_one():
    with pytest.raises(ValueError, match="at least one"):
        Window(0, None)
