"""Fetch waits that follow the traffic: short while records flow, longer once a consumer is idle.

tansu, the embedded broker, answers a fetch only when its wait runs out, even if records arrive
in the meantime. A consumer's fetch wait is therefore both its hop's latency (about half the
wait) and its polling rate: at a 5 ms wait every consumer fetches about 200 times a second
whether or not anything is there, and the broker answers every one.

``FetchWait`` keeps the short wait while records arrived within ``idle_after_s`` and, after that,
doubles it on each empty fetch up to ``idle_ms``; after ``deep_after_s`` without records it goes
on doubling up to ``deep_ms``, so a mesh left alone polls a few times a second at most. The
first records reset it at once. A busy consumer keeps its latency; the price is paid once per
idle spell: the first record after it waits up to the wait reached for its fetch, so a short
lull costs a few milliseconds a hop and a long one up to ``deep_ms``. Apache Kafka answers a
waiting fetch as soon as records arrive, so there the busy and idle waits are one long wait and only
``deep_ms`` is longer: it saves the broker answering empty fetches, and costs the next record nothing.
With no wait longer than the busy one nothing changes.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["FetchWait", "install"]


class FetchWait:
    """The wait of a consumer's next fetch, from whether its fetches find records; pure given ``clock``."""

    def __init__(self, busy_ms: int, idle_ms: int, idle_after_s: float,
                 clock: Callable[[], float] = time.monotonic, *, deep_ms: int = 0, deep_after_s: float = 0.0) -> None:
        self.busy_ms, self.idle_ms = busy_ms, max(idle_ms, busy_ms)
        self.deep_ms, self.deep_after_s = max(deep_ms, self.idle_ms), deep_after_s
        self.idle_after_s, self._clock = idle_after_s, clock
        self.wait_ms = busy_ms
        self._last_records = clock()

    @property
    def adaptive(self) -> bool:
        """Whether the wait ever moves: an idle or a deep-idle wait longer than the busy one."""
        return self.deep_ms > self.busy_ms

    def fetched(self, records: bool) -> int:
        """Record one fetch's outcome; returns the wait for the next fetch (ms)."""
        now = self._clock()
        if records:
            self._last_records, self.wait_ms = now, self.busy_ms
        elif now - self._last_records >= self.idle_after_s:
            deep = self.deep_after_s and now - self._last_records >= self.deep_after_s
            self.wait_ms = min(self.deep_ms if deep else self.idle_ms, max(2 * self.wait_ms, 1))
        return self.wait_ms


def install(fetcher, wait: FetchWait, gauge=None) -> None:
    """Drive aiokafka ``fetcher``'s wait by ``wait``: it reads ``_fetch_max_wait_ms`` for every fetch request.

    ``_proc_fetch_request`` returns whether the fetch brought records (or an error to hand over),
    which is exactly what ``wait`` needs to know. ``gauge`` (a Prometheus gauge) shows the wait.
    """
    if gauge is not None:
        gauge.set(wait.wait_ms)
    if not wait.adaptive:
        return
    handle = fetcher._proc_fetch_request

    async def proc_fetch_request(assignment, node_id, request):
        found = await handle(assignment, node_id, request)
        before = fetcher._fetch_max_wait_ms
        fetcher._fetch_max_wait_ms = wait.fetched(bool(found))
        if gauge is not None and fetcher._fetch_max_wait_ms != before:
            gauge.set(fetcher._fetch_max_wait_ms)
        return found

    fetcher._proc_fetch_request = proc_fetch_request
