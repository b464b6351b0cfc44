"""bench.chaos's accounting: what the endpoint billed, and the table's columns for a struck Redis primary."""

from __future__ import annotations

import pytest

from bench.chaos import _billed, render
from tests.integration.model_server import Call

pytestmark = pytest.mark.unit


def _call(key, behaviour="ok", status=200, prompt=10, completion=5) -> Call:
    return Call("m", "q", 64, behaviour, status, prompt, completion, idempotency_key=key)


def test_each_answered_key_is_billed_once_and_failures_not_at_all():
    calls = [_call("a"), _call("a", "replayed"), _call("b", "slow", prompt=20), _call("c", "error", 500),
             _call(None), _call("d", prompt=None)]
    assert _billed(calls) == 15 + 25


def test_a_struck_primary_adds_its_node_and_failover_columns():
    row = {"scenario": "primary", "submitted": 4, "completed": 4, "lost": 0, "duplicate_results": 0,
           "duplicate_model_calls": 0, "endpoint_replays": 0, "overspend_tokens": 0, "overcharged_tokens": 0, "degraded": 0,
           "degraded_without_fault": 0, "malformed": 0, "dead_lettered": 0, "recover_s": 0.0, "seconds": 9.0,
           "redis_node": 27379, "failover_s": 2.1, "rejoin_s": 1.0, "stall_s": 3.0}
    out = render({"machine": {"cpu": "x", "cores": 2, "memory_gib": 1, "gpu": None}, "replicas": 1,
                  "rate_per_s": 4.0, "broker": "kafka", "kafka_nodes": 1, "scenarios": [row]})
    header = out.splitlines()[1].split()
    assert {"overspend_tokens", "redis_node", "failover_s", "rejoin_s"} <= set(header)
