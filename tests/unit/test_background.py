"""mesh.runtime.background: work started and not awaited runs to its end, and its failure is logged."""

from __future__ import annotations

import asyncio
import gc

import pytest
from structlog.testing import capture_logs

from mesh.runtime.background import in_background

pytestmark = pytest.mark.unit


def test_work_nobody_holds_runs_to_its_end():
    async def main():
        done = asyncio.Event()

        async def work():
            await asyncio.sleep(0.01)
            done.set()

        in_background(work(), "setting an event")  # the task is dropped at once
        gc.collect()
        await asyncio.wait_for(done.wait(), 5)

    asyncio.run(main())


def test_a_failure_is_logged_with_what_failed():
    async def main():
        async def work():
            raise RuntimeError("the scan broke")

        task = in_background(work(), "scanning a question")
        await asyncio.wait([task])
        await asyncio.sleep(0)  # done callbacks run on the next turn of the loop

    with capture_logs() as logs:
        asyncio.run(main())
    failed = [e for e in logs if e["event"] == "background_failed"]
    assert failed == [{"event": "background_failed", "work": "scanning a question", "error": "the scan broke",
                       "log_level": "warning"}]
