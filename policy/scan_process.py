"""Scanning for sensitive values in a worker process, off the agent's interpreter lock.

spaCy's pipeline holds Python's GIL for most of a question's scan (about 4 ms). On a thread of the
retriever it took turns with the step's own first hop (access filter, BM25, parking, the index
query), so each slowed the other, and the step's second hop waited for the scan. In a process of
its own the scan runs on the other core while the hop runs here. The worker is spawned (not
forked: the agent runs threads and an event loop), caps its BLAS at one thread (idle OpenBLAS
threads spin), loads the pipeline before the agent reports ready, and is started again if it
dies. It finds what ``policy.pii.Detector`` finds, by running one.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from policy.pii import Detector, Found

__all__ = ["ScanProcess"]

_detector: Detector | None = None  # the worker's own, made by ``_load``
_blas = None  # the worker's BLAS thread limit, held for its life


def _load(entities: tuple[str, ...], threshold: float) -> None:
    """In the worker: ended with its agent, one BLAS thread, then the detector, its pipeline loaded."""
    from threadpoolctl import threadpool_limits

    global _detector, _blas
    threading.Thread(target=_exit_with, args=(os.getppid(),), daemon=True, name="exit-with-agent").start()
    _blas = threadpool_limits(1, user_api="blas")
    _detector = Detector(entities, threshold).warm()


def _exit_with(agent: int) -> None:
    """End the worker once the agent that started it is gone: an agent that is killed never shuts its pool
    down, and the worker would live on, holding its pipeline's memory."""
    while os.getppid() == agent:
        time.sleep(1)
    os._exit(0)


def _find_many(texts: list[str]) -> list[list[Found]]:
    return _detector.find_many(texts)


class ScanProcess:
    """``Detector.find_many`` in one worker process; ``start`` it before the first scan (it loads the pipeline)."""

    def __init__(self, entities: tuple[str, ...], threshold: float) -> None:
        self._args = (tuple(entities), threshold)
        self._pool: ProcessPoolExecutor | None = None
        self._starting = asyncio.Lock()  # one start at a time, however many scans find the worker gone

    def start(self) -> None:
        """Spawn the worker, unless it runs, and wait until its pipeline is loaded (a second or two); blocks."""
        if self._pool is not None:
            return
        self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_load, initargs=self._args)
        self._pool.submit(_find_many, []).result()

    async def find_many(self, texts: list[str]) -> list[list[Found]]:
        """The detections of each text, found in the worker; a worker that died is started again, once."""
        pool = self._pool or await self._started(None)
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, _find_many, texts)
        except BrokenProcessPool:
            pool = await self._started(pool)
            return await asyncio.get_running_loop().run_in_executor(pool, _find_many, texts)

    async def _started(self, broken: ProcessPoolExecutor | None) -> ProcessPoolExecutor:
        """The live worker: started if there is none, started again if it is still ``broken``."""
        async with self._starting:
            if self._pool is None or self._pool is broken:
                self.close()
                await asyncio.to_thread(self.start)
            return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
