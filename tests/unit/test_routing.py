"""mesh.llm.routing: which endpoint a step goes to, and why."""

from __future__ import annotations

import pytest

from mesh.endpoints import Endpoint
from mesh.llm.routing import Load, NoRoute, candidates, choose

pytestmark = pytest.mark.unit


def ep(name, cin=0.0, cout=0.0, caps=("answer",), window=8192, concurrency=4, max_out=1024) -> Endpoint:
    return Endpoint(name=name, base_url="http://x/v1", model=name, cost_in_per_1k=cin, cost_out_per_1k=cout,
                    capabilities=caps, context_window=window, concurrency=concurrency, max_output_tokens=max_out)


CHEAP, PRICEY = ep("cheap", 0.1, 0.2), ep("pricey", 5.0, 15.0)
LOOSE = dict(prompt_tokens=1000, max_tokens=300, usd_per_s=0.001)


def test_candidates_need_the_capability_and_the_window():
    small, big, json_only = ep("small", window=1000), ep("big", window=100_000), ep("j", caps=("json",))
    assert candidates([small, big, json_only], {"answer"}, 800, 300) == [big]
    assert candidates([small, big, json_only], {"json"}, 800, 300) == [json_only]


def test_no_capable_endpoint_says_which_capability():
    with pytest.raises(NoRoute, match="capabilities json"):
        candidates([CHEAP], {"json"}, 10, 10)


def test_a_prompt_that_fits_nowhere_says_how_big_it_is():
    with pytest.raises(NoRoute, match="needs 9000 tokens.*largest context window of a capable endpoint \\(8192\\)"):
        candidates([CHEAP, PRICEY], {"answer"}, 9000, 300)


def test_the_cheaper_of_two_healthy_endpoints_wins_and_the_reason_says_so():
    loads = {"cheap": Load(latency_ms=300), "pricey": Load(latency_ms=300)}
    choice = choose([PRICEY, CHEAP], loads, **LOOSE)
    assert choice.endpoint is CHEAP
    assert choice.reason.startswith("cheap: $") and "next pricey" in choice.reason


def test_a_much_slower_cheap_endpoint_loses_when_latency_is_priced():
    loads = {"cheap": Load(latency_ms=60_000), "pricey": Load(latency_ms=200)}
    assert choose([CHEAP, PRICEY], loads, **{**LOOSE, "usd_per_s": 1.0}).endpoint is PRICEY
    assert choose([CHEAP, PRICEY], loads, **{**LOOSE, "usd_per_s": 0.0}).endpoint is CHEAP


def test_load_stretches_latency():
    a, b = ep("a", concurrency=2), ep("b", concurrency=2)
    loads = {"a": Load(in_flight=1, latency_ms=100), "b": Load(in_flight=0, latency_ms=120)}
    assert choose([a, b], loads, **{**LOOSE, "usd_per_s": 1.0}).endpoint is b


@pytest.mark.parametrize("load, avoid, word", [
    (Load(breaker_open=True), frozenset(), "breaker open"),
    (Load(in_flight=4), frozenset(), "full"),
    (Load(healthy=False), frozenset(), "failing validation"),
    (Load(), frozenset({"cheap"}), "avoided"),
])
def test_open_breakers_unhealthy_full_and_avoided_endpoints_are_passed_over(load, avoid, word):
    choice = choose([CHEAP, PRICEY], {"cheap": load}, avoid=avoid, **LOOSE)
    assert choice.endpoint is PRICEY and f"cheap ({word})" in choice.reason


def test_when_nothing_else_can_take_it_the_penalised_one_still_does():
    choice = choose([CHEAP], {"cheap": Load(breaker_open=True)}, **LOOSE)
    assert choice.endpoint is CHEAP and "no better endpoint" in choice.reason


def test_ties_break_by_name_so_replicas_agree():
    a, b = ep("a"), ep("b")
    assert choose([b, a], {}, **LOOSE).endpoint is a
