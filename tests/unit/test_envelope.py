"""mesh.wire.envelope: deterministic idempotency keys, new envelopes and their children."""

from __future__ import annotations

from datetime import timedelta, timezone

import pytest

from mesh.wire.envelope import (
    ROOT_STEP,
    child_envelope,
    idempotency_key,
    new_envelope,
    now_ms,
)
from tests.unit.samples import TRACEPARENT

pytestmark = pytest.mark.unit


def test_idempotency_key_is_deterministic():
    assert idempotency_key("t1", "s1", "retrieve") == idempotency_key("t1", "s1", "retrieve")


@pytest.mark.parametrize("other", [("t2", "s1", "retrieve"), ("t1", "s2", "retrieve"), ("t1", "s1", "execute")])
def test_idempotency_key_differs_by_task_step_and_stage(other):
    assert idempotency_key("t1", "s1", "retrieve") != idempotency_key(*other)


def test_idempotency_key_parts_do_not_run_together():
    """("ab", "c") and ("a", "bc") are different steps and must not share a key."""
    assert idempotency_key("ab", "c", "x") != idempotency_key("a", "bc", "x")
    assert idempotency_key("t", "s1", "retrieve") != idempotency_key("t", "s", "1retrieve")


def test_now_ms_has_millisecond_precision_in_utc():
    t = now_ms()
    assert t.microsecond % 1000 == 0
    assert t.utcoffset() == timedelta(0)


def test_new_envelope():
    env = new_envelope("acme", "submitted", traceparent=TRACEPARENT, policy_version="p7")
    assert env.tenant_id == "acme" and env.step_id == ROOT_STEP
    assert env.created_at.microsecond % 1000 == 0 and env.created_at.tzinfo is not None
    assert env.idempotency_key == idempotency_key(env.task_id, ROOT_STEP, "submitted")
    assert env.causation_id is None and env.attempt == 0
    assert env.traceparent == TRACEPARENT and env.policy_version == "p7"


def test_new_envelopes_are_distinct_events_and_tasks():
    a, b = new_envelope("acme", "submitted"), new_envelope("acme", "submitted")
    assert a.event_id != b.event_id and a.task_id != b.task_id
    assert a.idempotency_key != b.idempotency_key


def test_new_envelope_with_given_task_has_stable_key():
    a = new_envelope("acme", "ingest", task_id="batch", step_id="doc:1")
    b = new_envelope("acme", "ingest", task_id="batch", step_id="doc:1")
    assert a.idempotency_key == b.idempotency_key and a.event_id != b.event_id


def test_child_envelope_keeps_task_tenant_and_trace():
    parent = new_envelope("acme", "submitted", traceparent=TRACEPARENT, policy_version="p7")
    parent = parent.model_copy(update={"tracestate": "vendor=1", "attempt": 3})
    child = child_envelope(parent, "retrieve", step_id="s1")
    assert (child.task_id, child.tenant_id, child.traceparent, child.tracestate, child.policy_version) == \
        (parent.task_id, parent.tenant_id, parent.traceparent, parent.tracestate, parent.policy_version)
    assert child.causation_id == parent.event_id
    assert child.event_id != parent.event_id
    assert child.step_id == "s1"
    assert child.attempt == 0
    assert child.idempotency_key == idempotency_key(parent.task_id, "s1", "retrieve")
    assert child.created_at.microsecond % 1000 == 0


def test_child_envelope_keeps_step_unless_told():
    parent = child_envelope(new_envelope("acme", "submitted"), "retrieve", step_id="s1")
    child = child_envelope(parent, "execute")
    assert child.step_id == "s1"
    assert child.idempotency_key != parent.idempotency_key


def test_child_of_a_redelivered_parent_has_the_same_key():
    """The same parent processed twice yields children with equal keys but distinct event ids."""
    parent = new_envelope("acme", "submitted")
    a, b = child_envelope(parent, "retrieve", step_id="s1"), child_envelope(parent, "retrieve", step_id="s1")
    assert a.idempotency_key == b.idempotency_key
    assert a.event_id != b.event_id


def test_explicit_created_at_is_kept():
    t = now_ms().astimezone(timezone.utc) - timedelta(days=1)
    assert new_envelope("acme", "x", created_at=t).created_at == t
