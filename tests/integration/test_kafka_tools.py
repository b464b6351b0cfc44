"""Apache Kafka's own tools as the outside observer of the mesh: kafka-consumer-groups shows every
agent's group with its members and, once the answers are in, nothing left unconsumed;
kafka-topics and kafka-configs show the topics as the mesh created them.

Kafka only: tansu answers the Kafka protocol but is not Kafka, and these are Kafka's tools. On
Kafka the tests fail, never skip, when the tools or Java are missing.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from mesh.runtime.registry import agent_names, input_topics
from mesh.runtime.spec import group_id
from mesh.wire.topics import Topics
from schemas.models import Principal, TaskStatus
from tests.integration import kafka_tools
from tests.integration.conftest import make_settings
from tests.integration.test_answer_end_to_end import ingest

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(make_settings(Path(".run")).broker != "kafka",
                                 reason="Kafka's own tools observe Apache Kafka; tansu is not Kafka "
                                        "(run with SWITCHBOARD_BROKER=kafka)")]

QUESTIONS = ["How long are audit logs retained?", "What happens when a circuit breaker opens?",
             "Which volcano erupted in 1815?"]


def input_partitions(settings, agent: str) -> set[tuple[str, int]]:
    """Every partition of every topic ``agent`` consumes."""
    topics = Topics(settings.topic_prefix)
    return {(topics.name(t), p) for t in input_topics(agent, settings) for p in range(settings.partitions)}


def shortfalls(settings, members: dict[str, dict[str, int]], offsets: list[kafka_tools.Offset]) -> dict[str, list[str]]:
    """Per agent, what the tools show short of "a group with members that consumed all its input":
    every partition of its input topics listed, owned by a listed member, with no lag."""
    short = {}
    for agent in agent_names():
        group = group_id(settings, agent)
        wanted = input_partitions(settings, agent)
        rows = {(o.topic, o.partition): o for o in offsets if o.group == group and (o.topic, o.partition) in wanted}
        problems = [] if members.get(group) else ["no member"]
        problems += [f"{t}[{p}] not listed" for t, p in sorted(wanted - rows.keys())]
        problems += [f"{t}[{p}] lag {o.lag}" for (t, p), o in sorted(rows.items()) if o.lag]
        problems += [f"{t}[{p}] owned by {o.owner}, not a member" for (t, p), o in sorted(rows.items())
                     if o.owner not in members.get(group, {})]
        if problems:
            short[agent] = problems
    return short


def test_every_agent_group_has_members_and_no_lag_once_answers_are_in(settings, tenant):
    client = ingest(settings, tenant)
    for question in QUESTIONS:
        assert client.ask(question, Principal(tenant_id=tenant, user_id="u1")).status in (
            TaskStatus.answered, TaskStatus.no_answer)

    deadline = time.monotonic() + 60  # commits come every 2 s; a JVM start takes seconds on a busy machine
    while True:
        members = kafka_tools.group_members(settings.bootstrap_servers)
        offsets = kafka_tools.group_offsets(settings.bootstrap_servers)
        short = shortfalls(settings, members, offsets)
        if not short or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert not short, f"kafka-consumer-groups shows groups short of their input: {short}"
    submitted = [o for o in offsets if o.group == group_id(settings, "planner")
                 and o.topic == Topics(settings.topic_prefix).name("tasks.submitted")]
    assert sum(o.committed or 0 for o in submitted) >= len(QUESTIONS)  # the questions went through these offsets


def test_topics_have_the_partitions_replication_and_retention_they_were_created_with(settings):
    wanted = Topics(settings.topic_prefix).all()
    described = kafka_tools.topics(settings.bootstrap_servers)
    assert {t: (described[t].partitions, described[t].replication_factor) for t in wanted if t in described} == \
        {t: (settings.partitions, settings.replication_factor) for t in wanted}
    assert all(len(described[t].leaders) == settings.partitions and -1 not in described[t].leaders for t in wanted)

    configs = kafka_tools.topic_configs(settings.bootstrap_servers)
    retention_ms = str(int(settings.retention_hours * 3600 * 1000))
    assert {t: configs.get(t, {}).get("retention.ms") for t in wanted} == {t: retention_ms for t in wanted}
