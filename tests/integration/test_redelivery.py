"""A redelivered task is not worked again: every agent replays what it recorded."""

from __future__ import annotations

import time

import pytest
import redis

from mesh.client import Client
from mesh.io.bus import Publisher, Tail
from mesh.io.keys import Keys
from mesh.security.sealing import codec_for
from mesh.wire.envelope import new_envelope
from mesh.wire.topics import Topics
from schemas.models import (
    AccessAttributes,
    Classification,
    Principal,
    RetrievalMode,
    RetrieveStep,
    TaskCompleted,
    TaskSubmitted,
)

pytestmark = pytest.mark.integration


def test_duplicate_submission_replays_the_recorded_result(settings, tenant):
    codec, topics = codec_for(settings), Topics(settings.topic_prefix)  # sealed, as a mesh's producers send
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


def test_a_redelivered_index_query_leads_to_the_same_context(settings, tenant):
    """The index agent keeps no ledger (a search has no side effect): a redelivered query is searched
    again, and its result, under the same idempotency key, is answered by the retriever's ledger with
    the ExecuteStep it sent the first time."""
    codec, topics = codec_for(settings), Topics(settings.topic_prefix)  # sealed, as a mesh's producers send
    client = Client(settings)
    docs = [{"doc_id": f"d{i}", "title": title, "text": text, "access": AccessAttributes(tenant_id=tenant)}
            for i, (title, text) in enumerate([("Retention", "Audit logs are kept for 400 days."),
                                               ("Breakers", "A breaker opens after five failures in a row.")])]
    client.ingest(docs)
    client.wait_stored(docs)
    principal = Principal(tenant_id=tenant, user_id="u", clearance=Classification.restricted)
    queries, executed = Tail(settings, topics.name("index.queries")), Tail(settings, topics.name("steps.execute"))
    pub = Publisher(settings)
    try:
        deadline = time.monotonic() + 60
        while True:  # until the index agent answers (its shard is built once the ingest settles)
            env = new_envelope(tenant, "retrieve", step_id="s1")
            step = RetrieveStep(envelope=env, question="How long are audit logs kept?", principal=principal,
                                top_k=2, mode=RetrievalMode.hybrid, candidates=10)
            key = env.task_id.encode()
            pub.send(topics.name("steps.retrieve"), key, codec.encode(step))
            pub.flush()
            first = executed.first(lambda m: m.key() == key, 30)
            assert first is not None
            if codec.decode(first.value()).degraded is None or time.monotonic() > deadline:
                break
        assert codec.decode(first.value()).degraded is None, "the index agent never answered"
        query = queries.first(lambda m: codec.decode(m.value()).query_id == env.idempotency_key, 10)
        assert query is not None
        pub.send(topics.name("index.queries"), query.key(), query.value())  # as after a crash before the commit
        pub.flush()
        again = executed.first(lambda m: m.key() == key, 30)
    finally:
        queries.close()
        executed.close()
    assert again is not None, "the retriever sent nothing for the redelivered query's result"
    assert again.value() == first.value()  # the recorded step, not a second fusion
    assert codec.decode(first.value()).passages[0].doc_id == "d0"
