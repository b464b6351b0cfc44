"""mesh.runtime.fetch_wait.FetchWait: short waits while records flow, longer ones once a consumer is idle."""

from __future__ import annotations

import pytest

from mesh.runtime.fetch_wait import FetchWait

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_consumer_that_finds_records_keeps_the_short_wait():
    clock = Clock()
    wait = FetchWait(5, 40, idle_after_s=2.0, clock=clock)
    for _ in range(50):
        clock.now += 0.1
        assert wait.fetched(records=True) == 5


def test_empty_fetches_within_the_idle_time_keep_the_short_wait_then_it_doubles_up_to_the_cap():
    clock = Clock()
    wait = FetchWait(5, 40, idle_after_s=2.0, clock=clock)
    clock.now += 1.9
    assert wait.fetched(records=False) == 5  # a lull, not yet idle
    clock.now += 0.2
    assert [wait.fetched(records=False) for _ in range(5)] == [10, 20, 40, 40, 40]


def test_the_first_records_after_an_idle_spell_bring_the_short_wait_back_at_once():
    clock = Clock()
    wait = FetchWait(5, 40, idle_after_s=0.5, clock=clock)
    clock.now += 1
    for _ in range(4):
        wait.fetched(records=False)
    assert wait.wait_ms == 40
    assert wait.fetched(records=True) == 5
    clock.now += 0.4
    assert wait.fetched(records=False) == 5  # the idle time counts from the last records


def test_a_zero_wait_still_backs_off():
    clock = Clock()
    wait = FetchWait(0, 8, idle_after_s=0.0, clock=clock)
    assert [wait.fetched(records=False) for _ in range(5)] == [1, 2, 4, 8, 8]


@pytest.mark.parametrize("idle_ms", [5, 3, 0])
def test_an_idle_wait_no_longer_than_the_short_one_turns_it_off(idle_ms):
    clock = Clock()
    wait = FetchWait(5, idle_ms, idle_after_s=0.0, clock=clock)
    assert not wait.adaptive
    clock.now += 10
    assert wait.fetched(records=False) == 5


def test_the_settings_default_to_backing_off_and_the_throughput_profile_turns_it_off(monkeypatch):
    from mesh.settings import Settings

    s = Settings(broker="tansu")
    assert FetchWait(s.fetch_max_wait_ms, s.fetch_idle_wait_ms, s.fetch_idle_after_s).adaptive
    monkeypatch.setenv("SWITCHBOARD_PROFILE", "throughput")
    t = Settings(broker="tansu")
    assert not FetchWait(t.fetch_max_wait_ms, t.fetch_idle_wait_ms, t.fetch_idle_after_s).adaptive  # 50 ms already


def test_a_long_idle_spell_backs_off_further_to_the_deep_wait():
    clock = Clock()
    wait = FetchWait(5, 40, idle_after_s=2.0, clock=clock, deep_ms=320, deep_after_s=30.0)
    clock.now += 3
    assert [wait.fetched(records=False) for _ in range(5)] == [10, 20, 40, 40, 40]  # a lull: the idle wait
    clock.now += 30
    assert [wait.fetched(records=False) for _ in range(5)] == [80, 160, 320, 320, 320]
    assert wait.fetched(records=True) == 5


def test_on_kafka_the_wait_stays_long_and_only_a_long_idle_spell_makes_it_longer():
    from mesh.settings import Settings

    s, clock = Settings(broker="kafka"), Clock()
    wait = FetchWait(s.fetch_max_wait_ms, s.fetch_idle_wait_ms, s.fetch_idle_after_s, clock=clock,
                     deep_ms=s.fetch_deep_idle_wait_ms, deep_after_s=s.fetch_deep_idle_after_s)
    assert wait.adaptive
    clock.now += s.fetch_idle_after_s + 1
    assert wait.fetched(records=False) == s.fetch_max_wait_ms == 500  # a lull changes nothing
    clock.now += s.fetch_deep_idle_after_s
    assert [wait.fetched(records=False) for _ in range(5)] == [1000, 2000, 4000, 5000, 5000]
    assert wait.fetched(records=True) == 500
