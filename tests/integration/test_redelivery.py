"""A redelivered task is not worked again: every agent replays what it recorded."""

from __future__ import annotations


import pytest
import redis

from mesh.bus import Publisher, Tail
from mesh.client import Client
from mesh.codec import default_codec
from mesh.envelope import new_envelope
from mesh.state import Keys
from mesh.topics import Topics
from schemas.models import Principal, TaskCompleted, TaskSubmitted

pytestmark = pytest.mark.integration


def test_duplicate_submission_replays_the_recorded_result(settings, tenant):
    codec, topics = default_codec(), Topics(settings.topic_prefix)
    Client(settings)  # fails fast if the broker is gone
    task = TaskSubmitted(envelope=new_envelope(tenant, "submitted"), question="Anything about retention?",
                         principal=Principal(tenant_id=tenant, user_id="u"))
    raw, key = codec.encode(task), task.envelope.task_id.encode()
    tail = Tail(settings, topics.name("tasks.completed"))
    pub = Publisher(settings)
    pub.send(topics.name("tasks.submitted"), key, raw)
    pub.flush()
    first = tail.first(lambda m: m.key() == key, 30)
    assert first is not None
    pub.send(topics.name("tasks.submitted"), key, raw)  # the same message again, as after a crash
    pub.flush()
    second = tail.first(lambda m: m.key() == key, 30)
    tail.close()
    assert second is not None
    a, b = codec.decode(first.value()), codec.decode(second.value())
    assert isinstance(a, TaskCompleted)
    assert a.envelope.event_id == b.envelope.event_id  # the recorded result, not a second run
    assert first.value() == second.value()
    r = redis.Redis.from_url(settings.redis_url)
    ledger = Keys(settings.key_prefix).ledger("planner", task.envelope.tenant_id, task.envelope.idempotency_key)
    assert r.exists(ledger)
