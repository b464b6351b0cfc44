"""mesh.planning.decompose: which questions split into parts, and into which."""

from __future__ import annotations

import pytest

from mesh.planning.decompose import decompose

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("question, parts", [
    ("Compare audit log retention and access log retention",
     ["What is audit log retention?", "What is access log retention?"]),
    ("compare Kafka with RabbitMQ", ["What is Kafka?", "What is RabbitMQ?"]),
    ("Contrast Raft to Paxos.", ["What is Raft?", "What is Paxos?"]),
    ("Compare Kafka and RabbitMQ in terms of durability",
     ["What about Kafka in terms of durability?", "What about RabbitMQ in terms of durability?"]),
    ("What is the difference between BM25 and dense retrieval?", ["What is BM25?", "What is dense retrieval?"]),
    ("What are the differences between TCP and UDP?", ["What is TCP?", "What is UDP?"]),
    ("How does Redis compare to Memcached?", ["What is Redis?", "What is Memcached?"]),
    ("Postgres vs MySQL", ["What is Postgres?", "What is MySQL?"]),
    ("gRPC versus REST?", ["What is gRPC?", "What is REST?"]),
    ("What is a circuit breaker and how does it affect latency?",
     ["What is a circuit breaker?", "How does a circuit breaker affect latency?"]),
    ("What are vitamin D receptors and what do they regulate?",
     ["What are vitamin D receptors?", "What do vitamin D receptors regulate?"]),
    ("Who is the owner and what is the SLA?", ["Who is the owner?", "What is the SLA?"]),
    ("What are the retention periods of audit logs, access logs and metrics?",
     ["What are the retention periods of audit logs?", "What are the retention periods of access logs?",
      "What are the retention periods of metrics?"]),
    ("Which regions do payments, search, and billing run in?",
     ["Which regions do payments run in?", "Which regions do search run in?", "Which regions do billing run in?"]),
    ("What does the runbook say about breakers, retries, and timeouts?",
     ["What does the runbook say about breakers?", "What does the runbook say about retries?",
      "What does the runbook say about timeouts?"]),
    ("What is X? How does Y work?", ["What is X?", "How does Y work?"]),
])
def test_compositional_questions_split(question, parts):
    assert decompose(question) == parts


@pytest.mark.parametrize("question", [
    "How long are audit logs retained?",
    "What happens when a circuit breaker opens?",
    "What is the salary band for a staff engineer?",
    "Tell me about salt and pepper",
    "What is the effect of vitamin D on bone density?",
    "If the broker fails, restart it, and check the ISR",
    "Does aspirin reduce the risk of heart attack and stroke?",
    "compare",
    "Compare Kafka and kafka",  # the same thing twice is not two parts
])
def test_simple_questions_stay_whole(question):
    assert decompose(question) == [question.strip()]


def test_too_many_parts_stay_whole_rather_than_be_answered_in_part():
    q = "What is the SLA of payments, search, billing, auth, and mail?"
    assert decompose(q, max_parts=4) == [q]
    assert len(decompose(q, max_parts=5)) == 5


def test_deterministic_and_deduplicated():
    q = "What is X? What is X? How does Y work?"
    assert decompose(q) == decompose(q) == ["What is X?", "How does Y work?"]
