"""Bad input on a topic goes to its dead-letter topic with the reason; the agent goes on."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import uuid

import fastavro
import pytest

from mesh.client import Client
from mesh.io.bus import Publisher, Tail, read_all
from mesh.security.sealing import codec_for
from mesh.wire.codec import MAGIC, default_codec
from mesh.wire.envelope import new_envelope
from mesh.wire.topics import Topics, dlq_of
from schemas.models import DeadLetter, Principal, TaskStatus, TaskSubmitted

pytestmark = pytest.mark.integration


def schema_violating_task(tenant: str) -> bytes:
    """A TaskSubmitted whose bytes decode but whose question is empty (the model requires one)."""
    codec = default_codec()
    good = TaskSubmitted(envelope=new_envelope(tenant, "submitted"), question="x",
                         principal=Principal(tenant_id=tenant, user_id="u"))
    body = good.model_dump(mode="python")
    body["question"] = ""
    buf = io.BytesIO()
    buf.write(MAGIC + codec.fingerprint(TaskSubmitted.__avro__))
    fastavro.schemaless_writer(buf, codec.schema(TaskSubmitted.__avro__), body)
    return buf.getvalue()


def test_garbage_and_invalid_records_are_dead_lettered_and_valid_task_still_answered(settings, tenant):
    topic = Topics(settings.topic_prefix).name("tasks.submitted")
    garbage, invalid = b"\x01not avro at all\xff", schema_violating_task(tenant)
    keys = {b"garbage-" + uuid.uuid4().hex.encode(): garbage, b"invalid-" + uuid.uuid4().hex.encode(): invalid}
    pub = Publisher(settings)
    for key, value in keys.items():
        pub.send(topic, key, value)
    pub.flush()

    result = Client(settings).ask("Is anyone there?", Principal(tenant_id=tenant, user_id="u"))
    assert result.status in (TaskStatus.answered, TaskStatus.no_answer)

    codec = default_codec()
    letters = {m.key(): codec.decode(m.value()) for m in read_all(settings, dlq_of(topic))}
    for key, value in keys.items():
        letter = letters[key]
        assert isinstance(letter, DeadLetter)
        assert letter.value == value  # the original bytes, untouched
        assert letter.topic == topic and letter.agent == "planner"
        assert letter.error_kind.value == "deterministic"
    reasons = {k.split(b"-")[0]: letters[k].reason for k in keys}
    assert "neither Avro single-object encoding" in reasons[b"garbage"]
    assert "question" in reasons[b"invalid"] and "fails validation" in reasons[b"invalid"]


def dlq_cli(settings, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mesh.cli.main", "dlq", *args], env={**os.environ, **settings.to_env()},
                          capture_output=True, text=True, timeout=120)


def test_dlq_list_shows_why_and_replay_puts_a_fixed_message_back_once(settings, tenant):
    topics, codec = Topics(settings.topic_prefix), default_codec()
    submitted = topics.name("tasks.submitted")
    garbage_key = b"garbage-" + uuid.uuid4().hex.encode()
    # a valid task (sealed, as a client sends it) that was dead-lettered earlier (say, before its schema was
    # deployed): it can be replayed
    task = TaskSubmitted(envelope=new_envelope(tenant, "submitted"), question="Anything about retention?",
                         principal=Principal(tenant_id=tenant, user_id="u"))
    letter = DeadLetter(topic=submitted, partition=0, offset=7, key=task.envelope.task_id.encode(),
                        value=codec_for(settings).encode(task), error_kind="deterministic", reason=f"unknown schema {tenant}",
                        agent="planner", failed_at=new_envelope(tenant, "x").created_at)
    pub = Publisher(settings)
    pub.send(submitted, garbage_key, b"\x01still not avro " + tenant.encode())
    pub.send(dlq_of(submitted), letter.key, codec.encode(letter))
    pub.flush()
    deadline = time.monotonic() + 30
    while True:
        listed = json.loads(dlq_cli(settings, "list", "--topic", "tasks.submitted", "--json").stdout)
        mine = {x["key"]: x for x in listed if x["key"] in (garbage_key.decode(), task.envelope.task_id)}
        if len(mine) == 2 or time.monotonic() > deadline:
            break
    assert "neither Avro single-object encoding" in mine[garbage_key.decode()]["reason"]
    assert mine[task.envelope.task_id]["reason"] == f"unknown schema {tenant}"
    assert mine[task.envelope.task_id]["agent"] == "planner" and mine[task.envelope.task_id]["topic"] == submitted

    tail = Tail(settings, topics.name("tasks.completed"))
    replayed = dlq_cli(settings, "replay", "--reason", f"unknown schema {tenant}", "--json")
    assert replayed.returncode == 0, replayed.stderr
    assert json.loads(replayed.stdout)["replayed"] == [mine[task.envelope.task_id]["id"]]
    done = tail.first(lambda m: m.key() == task.envelope.task_id.encode(), 60)
    tail.close()
    assert done is not None and codec.decode(done.value()).status in (TaskStatus.answered, TaskStatus.no_answer)
    again = json.loads(dlq_cli(settings, "replay", "--reason", f"unknown schema {tenant}", "--json").stdout)
    assert again == {"replayed": [], "skipped": [mine[task.envelope.task_id]["id"]]}  # once, unless --again
    assert dlq_cli(settings, "replay").returncode == 2  # nothing chosen: says how to choose
    missing = dlq_cli(settings, "replay", "--id", "nope:0:0")
    assert missing.returncode == 1 and "dlq list" in missing.stderr
