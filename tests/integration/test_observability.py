"""Traces, logs, metrics, `trace` and `usage` on the running mesh (its agents export spans to files)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import redis

from index.encoder import resolve_backend
from mesh.io.bus import Publisher
from mesh.io.keys import Keys
from mesh.wire.topics import Topics
from schemas.models import Principal, TaskStatus
from tests.integration.test_answer_end_to_end import ingest

pytestmark = pytest.mark.integration

#: the hops of a simple question, each a span named "<agent> <topic>", and the work inside them
HOPS = {"planner tasks.submitted", "retriever steps.retrieve", "index index.queries", "retriever index.results",
        "executor steps.execute", "validator steps.validate", "planner steps.done"}
INNER = {"retrieve.bm25", "retrieve.access_filter", "retrieve.fuse", "model.call", "validate.checks"}


def cli(settings, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mesh.cli.main", *args], env={**os.environ, **settings.to_env()},
                          capture_output=True, text=True, timeout=120)


def spans_of(settings, trace_id: str, wanted: set[str], timeout_s: float = 20.0) -> list[dict]:
    """Every exported span of ``trace_id`` (the agents' file exporters flush every half second)."""
    directory = Path(settings.run_dir) / "traces"
    deadline = time.monotonic() + timeout_s
    while True:
        spans = [s for f in directory.glob("*.jsonl") for line in f.read_text().splitlines() if line.strip()
                 for s in [json.loads(line)] if s["context"]["trace_id"] == f"0x{trace_id}"]
        if wanted <= {s["name"] for s in spans} or time.monotonic() > deadline:
            return spans
        time.sleep(0.25)


def answered(settings, tenant: str, user: str = "u1"):
    client = ingest(settings, tenant)
    result = client.ask("How long are audit logs retained?", Principal(tenant_id=tenant, user_id=user))
    assert result.status is TaskStatus.answered
    return client, result


def test_one_task_is_one_trace_whose_spans_cover_every_hop(settings, tenant):
    _, result = answered(settings, tenant)
    trace_id = result.envelope.traceparent.split("-")[1]
    spans = spans_of(settings, trace_id, HOPS | INNER)
    names = {s["name"] for s in spans}
    assert HOPS <= names, f"missing hops: {HOPS - names}"
    assert INNER <= names, f"missing inner spans: {INNER - names}"
    by_id = {s["context"]["span_id"]: s for s in spans}

    def parent(name: str) -> str:
        span = next(s for s in spans if s["name"] == name)
        return by_id[span["parent_id"]]["name"]

    # the chain of causes, hop by hop, across processes
    assert parent("retriever steps.retrieve") == "planner tasks.submitted"
    assert parent("index index.queries") == "retriever steps.retrieve"
    assert parent("retriever index.results") == "index index.queries"
    assert parent("executor steps.execute") == "retriever index.results"
    assert parent("model.call") == "executor steps.execute"
    assert parent("validator steps.validate") == "executor steps.execute"
    assert parent("planner steps.done") == "validator steps.validate"
    # the planner's first span is the child of the client's submit span, named in the task's traceparent
    first = next(s for s in spans if s["name"] == "planner tasks.submitted")
    assert first["parent_id"] == "0x" + result.envelope.traceparent.split("-")[2]
    call = next(s for s in spans if s["name"] == "model.call")
    assert call["attributes"]["gen_ai.usage.input_tokens"] > 0
    assert {s["attributes"].get("switchboard.task_id") for s in spans if s["name"] in HOPS} == \
        {result.envelope.task_id}


def test_log_lines_carry_the_trace_and_span_of_their_hop(settings, tenant):
    _, result = answered(settings, tenant)
    task_id, trace_id = result.envelope.task_id, result.envelope.traceparent.split("-")[1]
    spans = spans_of(settings, trace_id, {"executor steps.execute"})
    span_ids = {s["context"]["span_id"][2:] for s in spans}
    lines = [json.loads(line) for line in (Path(settings.run_dir) / "logs" / "agent-executor.log")
             .read_text().splitlines() if line.startswith("{") and task_id in line]
    processed = [x for x in lines if x["event"] == "message_processed"]
    assert processed, "the executor logged nothing for the task"
    assert all(x["trace_id"] == trace_id for x in processed)
    assert all(x["span_id"] in span_ids for x in processed)


def test_trace_command_rebuilds_the_task_from_the_topics(settings, tenant):
    _, result = answered(settings, tenant)
    task_id = result.envelope.task_id
    out = cli(settings, "trace", task_id, "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    events = report["events"]
    topics = [e["topic"] for e in events]
    for topic in ("tasks.submitted", "steps.retrieve", "index.queries", "index.results", "steps.execute",
                  "steps.validate", "steps.done", "tasks.completed", "usage.tokens"):
        assert topic in topics, f"{topic} missing from {topics}"
    assert topics[0] == "tasks.submitted"
    assert topics.index("steps.retrieve") < topics.index("steps.execute") < topics.index("steps.validate") \
        < topics.index("tasks.completed")
    assert [e["at_ms"] for e in events] == sorted(e["at_ms"] for e in events)
    by_topic = {e["topic"]: e for e in events}
    assert by_topic["tasks.submitted"]["agent"] == "client"
    assert by_topic["steps.validate"]["agent"] == "executor"
    assert by_topic["tasks.completed"]["agent"] == "planner"
    assert "route:" in by_topic["steps.validate"]["summary"]
    assert report["status"] == "answered" and "400 days" in report["result"]["answer"]
    text = cli(settings, "trace", task_id)
    assert text.returncode == 0
    assert "└─" in text.stdout and "steps.execute" in text.stdout and "(+" in text.stdout
    assert cli(settings, "trace", "no-such-task").returncode == 1


def _metrics(settings, agent: str) -> str:
    r = redis.Redis.from_url(settings.redis_url)
    for key in r.scan_iter(Keys(settings.key_prefix).heartbeat(agent, "*")):
        beat = json.loads(r.get(key))
        with urllib.request.urlopen(f"http://127.0.0.1:{beat['metrics_port']}/metrics", timeout=5) as resp:
            return resp.read().decode()
    raise AssertionError(f"no heartbeat of {agent}")


def _value(text: str, name: str, **labels) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels``."""
    total, found = 0.0, False
    for line in text.splitlines():
        m = re.fullmatch(rf"{name}\{{(.*)\}} (\S+)", line)
        if m and all(f'{k}="{v}"' in m.group(1) for k, v in labels.items()):
            total, found = total + float(m.group(2)), True
    assert found, f"no sample {name} {labels}"
    return total


def test_metrics_are_scraped_from_running_workers(settings, tenant):
    _, result = answered(settings, tenant)
    garbage = Topics(settings.topic_prefix).name("tasks.submitted")
    pub = Publisher(settings)
    pub.send(garbage, tenant.encode(), b"not avro at all")
    pub.flush()
    time.sleep(6)  # the lag gauge is set every 5 s
    executor = _metrics(settings, "executor")
    assert _value(executor, "switchboard_messages_total", agent="executor", topic="steps.execute",
                  outcome="handled") >= 1
    assert _value(executor, "switchboard_step_seconds_count", agent="executor", topic="steps.execute") >= 1
    assert _value(executor, "switchboard_tokens_total", tenant=tenant, direction="prompt") == \
        sum(u.prompt_tokens for u in result.usage)
    assert _value(executor, "switchboard_cost_usd_total", tenant=tenant) >= 0
    assert _value(executor, "switchboard_budget_decisions_total", tenant=tenant, decision="granted") >= 1
    assert _value(executor, "switchboard_breaker_state", breaker="builtin") == 0  # closed
    assert _value(executor, "switchboard_consumer_lag", agent="executor", topic="steps.execute") >= 0
    planner = _metrics(settings, "planner")
    assert _value(planner, "switchboard_message_failures_total", agent="planner", topic="tasks.submitted",
                  kind="deterministic") >= 1
    index = _metrics(settings, "index")
    assert _value(index, "switchboard_cache_requests_total", cache="embeddings") >= 1
    agents = cli(settings, "agents", "--json")
    assert agents.returncode == 0
    workers = json.loads(agents.stdout)
    assert {"planner", "retriever", "executor", "validator", "index"} <= {a["agent"] for a in workers}
    # the index agent says where it searches and encodes: no GPU here, so FAISS, and the encoder auto picks for
    # this CPU (torch with AMX bf16, else ONNX Runtime in int8), both on the CPU
    encoder = resolve_backend(settings.encoder_backend, cuda=False)
    assert [a["info"] for a in workers if a["agent"] == "index"][0] == \
        {"vector_backend": "faiss-cpu", "encoder": f"{encoder} on cpu"}
    assert "vector_backend faiss-cpu" in cli(settings, "agents").stdout


def test_an_idle_agent_fetches_with_its_broker_s_waits_and_a_task_still_goes_through(settings, tenant):
    """Every agent's consumer follows its traffic (mesh.runtime.fetch_wait), and says so in /metrics: on tansu
    an idle consumer backs its short wait off; on Kafka, which answers a fetch when data arrives, the wait
    is long from the start and stays so."""
    if settings.broker == "kafka":
        assert settings.fetch_max_wait_ms == settings.fetch_idle_wait_ms == 500
    else:
        assert settings.fetch_idle_wait_ms > settings.fetch_max_wait_ms
    deadline = time.monotonic() + settings.fetch_idle_after_s + 20
    while (wait := _value(_metrics(settings, "validator"), "switchboard_fetch_wait_ms", agent="validator")) \
            < settings.fetch_idle_wait_ms and time.monotonic() < deadline:
        time.sleep(0.5)
    assert wait >= settings.fetch_idle_wait_ms  # idle since the last test: backed off (further after a long spell)
    _, result = answered(settings, tenant)  # the first records after the idle spell get through
    assert result.status is TaskStatus.answered


def test_usage_rolls_up_tokens_by_user_and_task_type(settings, tenant):
    client, first = answered(settings, tenant, "ann")
    second = client.ask("What happens when a circuit breaker opens?", Principal(tenant_id=tenant, user_id="bob"))
    time.sleep(1.0)
    out = cli(settings, "usage", "--tenant", tenant, "--by", "user", "--since", "1h", "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    rows = {r["key"]: r for r in report["rows"]}
    assert set(rows) == {f"{tenant}/ann", f"{tenant}/bob"}
    for user, result in (("ann", first), ("bob", second)):
        row = rows[f"{tenant}/{user}"]
        assert row["calls"] == len(result.usage)
        assert row["tokens"] == sum(u.prompt_tokens + u.completion_tokens for u in result.usage)
    assert report["total"]["calls"] == rows[f"{tenant}/ann"]["calls"] + rows[f"{tenant}/bob"]["calls"]
    by_type = json.loads(cli(settings, "usage", "--tenant", tenant, "--by", "task-type", "--json").stdout)
    assert [r["key"] for r in by_type["rows"]] == ["answer"]
    table = cli(settings, "usage", "--tenant", tenant)
    assert table.returncode == 0 and tenant in table.stdout and "total" in table.stdout
    assert cli(settings, "usage", "--since", "yesterday").returncode == 2
