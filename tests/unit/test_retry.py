"""mesh.retry: only retriable errors are retried, at most ``attempts`` times, with bounded jitter."""

from __future__ import annotations

import asyncio
import random

import pytest

from mesh.errors import DeterministicError, SemanticError, TransientError
from mesh.retry import RetryPolicy, retry

pytestmark = pytest.mark.unit

FAST = RetryPolicy(attempts=4, initial_s=0.001, multiplier=2.0, cap_s=0.002)


class Flaky:
    """Raises the given errors in turn, then returns ``"ok"``; counts calls."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def test_transient_errors_are_retried_until_success():
    fn = Flaky(TransientError("t1"), TransientError("t2"))
    seen = []
    result = asyncio.run(retry(FAST, fn, lambda attempt, err, pause: seen.append((attempt, str(err), pause))))
    assert result == "ok"
    assert fn.calls == 3
    assert [(a, e) for a, e, _ in seen] == [(1, "t1"), (2, "t2")]
    assert all(0 <= pause <= FAST.cap_s for _, _, pause in seen)


def test_success_first_time_calls_once():
    fn = Flaky()
    assert asyncio.run(retry(FAST, fn)) == "ok"
    assert fn.calls == 1


@pytest.mark.parametrize("error", [DeterministicError("bad bytes"), SemanticError("refused"),
                                   ValueError("a bug")])
def test_non_retriable_errors_propagate_at_once(error):
    fn = Flaky(error)
    retried = []
    with pytest.raises(type(error)):
        asyncio.run(retry(FAST, fn, lambda *a: retried.append(a)))
    assert fn.calls == 1
    assert retried == []


def test_stops_after_attempts_and_raises_the_last_error():
    fn = Flaky(*(TransientError(f"t{i}") for i in range(10)))
    with pytest.raises(TransientError, match="t3"):
        asyncio.run(retry(FAST, fn))
    assert fn.calls == FAST.attempts == 4


def test_single_attempt_never_retries():
    fn = Flaky(TransientError("t"))
    with pytest.raises(TransientError):
        asyncio.run(retry(RetryPolicy(attempts=1, initial_s=0.001, cap_s=0.001), fn))
    assert fn.calls == 1


def test_a_permanent_error_after_transient_ones_stops_retrying():
    fn = Flaky(TransientError("t"), DeterministicError("d"), TransientError("never reached"))
    with pytest.raises(DeterministicError):
        asyncio.run(retry(FAST, fn))
    assert fn.calls == 2


@pytest.mark.parametrize("attempt", range(1, 12))
def test_delay_is_within_the_exponential_bound(attempt):
    policy = RetryPolicy(initial_s=0.05, multiplier=2.0, cap_s=2.0)
    bound = min(policy.cap_s, policy.initial_s * policy.multiplier ** (attempt - 1))
    rng = random.Random(attempt)
    delays = [policy.delay(attempt, rng) for _ in range(300)]
    assert all(0 <= d <= bound for d in delays)
    # full jitter: the delays spread over the whole range, not just near zero or the bound
    assert max(delays) > 0.9 * bound and min(delays) < 0.1 * bound


def test_delay_grows_then_caps():
    policy = RetryPolicy(initial_s=1.0, multiplier=3.0, cap_s=5.0)
    rng = random.Random(7)
    first = max(policy.delay(1, rng) for _ in range(200))
    third = max(policy.delay(3, rng) for _ in range(200))
    assert first <= 1.0 < third <= 5.0
    assert max(policy.delay(30, rng) for _ in range(200)) <= 5.0


def test_the_schedule_is_the_bound_of_each_pause_in_order():
    policy = RetryPolicy(attempts=6, initial_s=0.1, multiplier=2.0, cap_s=1.0)
    assert policy.schedule() == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0])
    assert RetryPolicy(attempts=1).schedule() == []


def test_the_retry_loop_sleeps_under_the_schedule_between_tries(monkeypatch):
    policy = RetryPolicy(attempts=5, initial_s=0.01, multiplier=3.0, cap_s=0.05)
    pauses: list[float] = []
    flaky = Flaky(*[TransientError("down")] * 4)
    assert asyncio.run(retry(policy, flaky, lambda n, err, pause: pauses.append(pause))) == "ok"
    assert flaky.calls == 5 and len(pauses) == 4
    assert all(0 <= p <= bound for p, bound in zip(pauses, policy.schedule()))


@pytest.mark.parametrize("bad", [dict(attempts=0), dict(initial_s=-1), dict(multiplier=0.5),
                                 dict(initial_s=2.0, cap_s=1.0)])
def test_a_nonsensical_policy_is_refused_with_what_it_needs(bad):
    with pytest.raises(ValueError, match="needs attempts >= 1"):
        RetryPolicy(**bad)


def test_policies_are_data_per_agent_and_per_endpoint():
    from mesh.settings import Settings

    s = Settings(retry={"executor": {"attempts": 6, "initial_s": 0.2, "multiplier": 3, "cap_s": 4},
                        "default": {"attempts": 2}},
                 endpoints=[{"name": "local", "base_url": "http://x/v1", "model": "m",
                             "retry": {"attempts": 3, "initial_s": 0.5, "cap_s": 2}}])
    assert s.retry_policy("executor", RetryPolicy()).schedule() == pytest.approx([0.2, 0.6, 1.8, 4.0, 4.0])
    assert s.retry_policy("planner", RetryPolicy()) == RetryPolicy(attempts=2)
    assert Settings().retry_policy("planner", RetryPolicy(attempts=9)) == RetryPolicy(attempts=9)
    assert s.endpoint("local").retry.schedule() == pytest.approx([0.5, 1.0])
    assert Settings().endpoints[0].retry.attempts == 1  # fail over at once unless told otherwise
