"""Execution control on the real broker and Redis, with model endpoints served over HTTP by a
test server that can be told to misbehave: DAGs, crash recovery, routing, failover, truncation,
grounding, structured output, deadlines, cancellation and token accounting."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter

import pytest
import redis

from mesh.client import Client
from mesh.endpoints import Endpoint
from mesh.io.bus import read_all
from mesh.io.keys import Keys
from mesh.ops.stack import Mesh
from mesh.security.sealing import codec_for
from mesh.wire.codec import default_codec
from mesh.wire.envelope import new_envelope
from schemas.models import (
    Principal,
    TaskStatus,
    TaskSubmitted,
    TokenUsage,
    ValidateStep,
)
from tests.integration.conftest import make_settings
from tests.integration.model_server import UNSUPPORTED, Behaviour, ModelServer

pytestmark = pytest.mark.integration

DOCS = [
    ("kafka-retention", "Kafka retention", "Kafka keeps records for seven days by default. Retention is configured "
     "per topic with retention.ms."),
    ("redis-persistence", "Redis persistence", "Redis persists data with RDB snapshots and an append-only file. "
     "The append-only file is synced to disk every second by default."),
    ("breakers", "Circuit breakers", "A circuit breaker opens after repeated failures and fails calls fast. It "
     "closes again after a successful trial call."),
    ("payments-regions", "Payments regions", "The payments service runs in Frankfurt and Dublin. Failover between "
     "the two regions takes about a minute."),
    ("audit-logs", "Audit logs", "Audit logs are retained for seven years. They are stored in write-once buckets."),
]
CHEAP, PRICEY, PLANNER, VIP = "cheap-model", "pricey-model", "plan-model", "vip-model"


@pytest.fixture(scope="module")
def xmesh(tmp_path_factory, llm):
    endpoints = (
        Endpoint(name="cheap", base_url=llm.base_url, model=CHEAP, capabilities=("answer", "json"),
                 context_window=8192, cost_in_per_1k=0.0005, cost_out_per_1k=0.0015, timeout_s=5),
        Endpoint(name="pricey", base_url=llm.base_url, model=PRICEY, capabilities=("answer", "json"),
                 context_window=32768, cost_in_per_1k=0.03, cost_out_per_1k=0.06, timeout_s=3),
        Endpoint(name="planner", base_url=llm.base_url, model=PLANNER, capabilities=("plan",), timeout_s=3),
        Endpoint(name="vip", base_url=llm.base_url, model=VIP, capabilities=("answer",), cost_in_per_1k=0.0001,
                 cost_out_per_1k=0.0001, timeout_s=5, roles=("premium",)),  # the cheapest, for premium users only
    )
    m = Mesh(make_settings(tmp_path_factory.mktemp("xmesh"), endpoints=endpoints, answer_max_tokens=400,
                           validation_attempts=3, ask_timeout_s=40, token_secret="xmesh-key",
                           sanitize=False))  # routing is under test here; test_data_protection covers masking
    m.start()
    yield m
    m.stop()


@pytest.fixture(scope="module")
def xtenant(xmesh):
    tenant = f"x{uuid.uuid4().hex[:8]}"
    client = Client(xmesh.settings)
    docs = [{"doc_id": d, "title": t, "text": x, "access": {"tenant_id": tenant}} for d, t, x in DOCS]
    from schemas.models import AccessAttributes

    for d in docs:
        d["access"] = AccessAttributes(tenant_id=tenant)
    client.ingest(docs)
    client.wait_stored(docs)
    return tenant


@pytest.fixture
def client(xmesh):
    return Client(xmesh.settings)


@pytest.fixture(autouse=True)
def fresh_routes(xmesh, llm):
    """Each test starts with healthy endpoints and no scripted behaviour left over."""
    llm.reset()
    r = redis.Redis.from_url(xmesh.settings.redis_url)
    for pattern in ("route:*", "breaker:*"):
        for key in r.scan_iter(f"{xmesh.settings.key_prefix}{pattern}"):
            r.delete(key)
    yield


def answering(llm: ModelServer, question_part: str) -> list:
    """The answering calls (not the planning ones) for questions containing ``question_part``."""
    return [c for c in llm.calls_for(question_part) if c.model != PLANNER]


def who(tenant: str) -> Principal:
    return Principal(tenant_id=tenant, user_id="dana")


def events(settings, topic: str, task_id: str, kind) -> list:
    codec = codec_for(settings)  # the mesh's: payload fields open
    out = []
    for msg in read_all(settings, Client(settings).topics.name(topic), idle_s=0.5):
        record = codec.decode(msg.value())
        if isinstance(record, kind) and record.envelope.task_id == task_id:
            out.append(record)
    return out


def checkpoint(settings, tenant: str, task_id: str) -> dict:
    r = redis.Redis.from_url(settings.redis_url)
    return {k.decode(): v.decode() for k, v in r.hgetall(Keys(settings.key_prefix).task(tenant, task_id)).items()}


def test_a_two_part_question_runs_two_chains_and_composes_an_answer_citing_both(xmesh, xtenant, client, llm):
    result = client.ask("Compare Kafka retention and Redis persistence", who(xtenant))
    assert result.status is TaskStatus.answered, result
    state = checkpoint(xmesh.settings, xtenant, result.envelope.task_id)
    plan = json.loads(state["plan"])
    assert [n["id"] for n in plan] == ["p1", "p2"] and state["n:p1"] == state["n:p2"] == "passed"
    cited = {c.doc_id for c in result.citations}
    assert {"kafka-retention", "redis-persistence"} <= cited
    assert "seven days" in result.answer and "append-only file" in result.answer
    assert "[1]" in result.answer and "[2]" in result.answer
    # the cheaper of the two healthy endpoints answered, and the step's event says why
    validated = events(xmesh.settings, "steps.validate", result.envelope.task_id, ValidateStep)
    assert {v.envelope.step_id for v in validated} == {"p1", "p2"}
    assert all(v.endpoint == "cheap" and v.route_reason.startswith("cheap: $") for v in validated)
    assert all("next pricey" in v.route_reason for v in validated)


def test_a_failing_endpoint_hands_the_step_to_another_capable_one(xmesh, xtenant, client, llm):
    llm.script(CHEAP, "error")
    result = client.ask("Which regions does the payments service run in?", who(xtenant))
    assert result.status is TaskStatus.answered and "Frankfurt" in result.answer
    calls = answering(llm, "payments service run in")
    assert [(c.model, c.status) for c in calls] == [(CHEAP, 500), (PRICEY, 200)]
    validated = events(xmesh.settings, "steps.validate", result.envelope.task_id, ValidateStep)
    assert [v.endpoint for v in validated] == ["pricey"]
    assert "after cheap failed (endpoint_error)" in validated[0].route_reason


def test_a_truncated_answer_is_retried_with_more_room_and_completes(xmesh, xtenant, client, llm):
    llm.script(CHEAP, Behaviour("length", needs=600))
    llm.script(PRICEY, Behaviour("length", needs=600))
    result = client.ask("What happens when a circuit breaker opens?", who(xtenant))
    assert result.status is TaskStatus.answered, result
    assert result.answer == "A circuit breaker opens after repeated failures and fails calls fast. [1]"
    calls = answering(llm, "circuit breaker opens")
    assert [(c.model, c.max_tokens, c.finish_reason) for c in calls] == [(CHEAP, 400, "length"),
                                                                         (PRICEY, 800, "stop")]


def test_an_unsupported_sentence_is_rejected_and_the_retry_is_grounded(xmesh, xtenant, client, llm):
    llm.script(CHEAP, "unsupported")
    result = client.ask("How long are audit logs retained?", who(xtenant))
    assert result.status is TaskStatus.answered and result.degraded is None
    assert "green cheese" not in result.answer and "seven years" in result.answer
    assert [c.model for c in answering(llm, "audit logs retained")] == [CHEAP, PRICEY]
    assert UNSUPPORTED in answering(llm, "audit logs retained")[0].content


def test_when_no_route_grounds_the_answer_it_is_degraded_and_says_so(xmesh, xtenant, client, llm):
    llm.script(CHEAP, "unsupported", "unsupported")
    llm.script(PRICEY, "unsupported", "unsupported")
    result = client.ask("How is Kafka retention configured?", who(xtenant))
    assert result.status is TaskStatus.degraded, result
    assert "green cheese" not in result.answer and "Kafka" in result.answer
    assert "could not be verified" in result.degraded
    assert len(answering(llm, "Kafka retention configured")) == 3  # validation_attempts


SCHEMA = json.dumps({"type": "object", "required": ["days", "source"], "additionalProperties": False,
                     "properties": {"days": {"type": "integer"}, "source": {"type": "string"}}})


def test_a_json_schema_task_returns_valid_json(xmesh, xtenant, client, llm):
    llm.script(CHEAP, Behaviour("raw", text='{"days": "seven"}'))
    llm.script(PRICEY, Behaviour("raw", text='```json\n{"days": 7, "source": "Kafka retention [1]"}\n```'))
    result = client.ask("How many days does Kafka keep records?", who(xtenant), output_schema=SCHEMA)
    assert result.status is TaskStatus.answered, result
    from mesh.llm.output_format import format_problems, parse_json

    assert format_problems(result.answer, SCHEMA) == [] and parse_json(result.answer)["days"] == 7
    assert [c.model for c in answering(llm, "How many days does Kafka")] == [CHEAP, PRICEY]


def test_a_json_schema_task_that_never_validates_is_a_typed_failure(xmesh, xtenant, client, llm):
    llm.script(CHEAP, *[Behaviour("raw", text="Seven days, I think. [1]")] * 3)
    llm.script(PRICEY, *[Behaviour("raw", text="Seven days, I think. [1]")] * 3)
    result = client.ask("For how long does Kafka retain records?", who(xtenant), output_schema=SCHEMA)
    assert result.status is TaskStatus.failed and result.answer == ""
    assert result.rejection.code == "invalid_json" and "not JSON" in result.rejection.message


def test_a_bad_json_schema_is_refused_at_the_door(xmesh, xtenant, client):
    result = client.ask("How long?", who(xtenant), output_schema='{"type": "objekt"}')
    assert result.status is TaskStatus.rejected and result.rejection.code == "bad_output_schema"


def test_a_models_plan_is_used_when_valid_and_the_rules_otherwise(xmesh, xtenant, client, llm):
    plan = {"steps": [{"id": "k", "question": "How long does Kafka keep records?"},
                      {"id": "a", "question": "How long are audit logs retained?", "after": ["k"]}]}
    llm.script(PLANNER, Behaviour("raw", text=json.dumps(plan)))
    result = client.ask("Tell me about retention of Kafka records and of audit logs", who(xtenant))
    assert result.status is TaskStatus.answered, result
    state = checkpoint(xmesh.settings, xtenant, result.envelope.task_id)
    assert [n["id"] for n in json.loads(state["plan"])] == ["k", "a"]
    assert "seven days" in result.answer and "seven years" in result.answer
    k, a = answering(llm, "How long does Kafka keep records?")[-1], answering(llm, "audit logs retained")[-1]
    assert k.at <= a.at  # "a" waited for "k"
    cyclic = {"steps": [{"id": "x", "question": "q", "after": ["y"]}, {"id": "y", "question": "q", "after": ["x"]}]}
    llm.script(PLANNER, Behaviour("raw", text=json.dumps(cyclic)))
    result = client.ask("How is the append-only file of Redis synced?", who(xtenant))
    state = checkpoint(xmesh.settings, xtenant, result.envelope.task_id)
    assert [n["id"] for n in json.loads(state["plan"])] == ["s1"] and result.status is TaskStatus.answered


def test_a_task_past_its_deadline_completes_as_timed_out_naming_the_unfinished_steps(xmesh, xtenant, client, llm):
    llm.script(CHEAP, Behaviour("slow", delay=4.0))
    result = client.ask("Where does payments fail over to?", who(xtenant), timeout_s=20, deadline_s=2.0)
    assert result.status is TaskStatus.timed_out
    assert result.unfinished == ["s1"] and result.rejection.code == "deadline_exceeded"
    time.sleep(3.0)  # the slow call returns; its late result must not produce a second completion
    completed = [m for m in read_all(xmesh.settings, client.topics.name("tasks.completed"), idle_s=0.5)
                 if m.key() == result.envelope.task_id.encode()]
    assert len({default_codec().decode(m.value()).envelope.event_id for m in completed}) == 1


def test_a_running_task_can_be_cancelled(xmesh, xtenant, client, llm):
    llm.script(CHEAP, Behaviour("slow", delay=2.0))
    task = client.submit("Compare audit logs and circuit breakers", who(xtenant), deadline_s=30)
    deadline = time.monotonic() + 20
    while not answering(llm, "What is audit logs?") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert client.cancel(task.envelope.task_id, who(xtenant), reason="changed my mind") == "cancelled"
    result = client.result(task.envelope.task_id, 20)
    assert result.status is TaskStatus.cancelled and result.rejection.code == "cancelled"
    assert result.unfinished  # at least the slow chain
    assert client.cancel(task.envelope.task_id, who(xtenant)) == "cancelled"  # twice is harmless
    calls = len(llm.calls)
    early = new_envelope(xtenant, "submitted").task_id  # a cancellation that overtakes its task
    assert client.cancel(early, who(xtenant), timeout_s=5) == "cancelled"
    from mesh.security.principal_tokens import issue

    late = TaskSubmitted(envelope=new_envelope(xtenant, "submitted", task_id=early), principal=who(xtenant),
                         question="What is Kafka retention?",
                         principal_token=issue("xmesh-key", who(xtenant), now_s=time.time(), ttl_s=60))
    client._publisher.send(client.topics.name("tasks.submitted"), early.encode(), client.codec.encode(late))
    client._publisher.flush()
    assert client.result(early, 20).status is TaskStatus.cancelled
    assert len(llm.calls) == calls  # no model was asked
    finished = client.ask("What is Kafka retention?", who(xtenant))
    cli = subprocess.run([sys.executable, "-m", "mesh.cli.main", "cancel", finished.envelope.task_id, "--tenant", xtenant,
                          "--json"], env={**os.environ, **xmesh.settings.to_env()}, capture_output=True, text=True,
                         timeout=60)
    assert cli.returncode == 1 and json.loads(cli.stdout) == {"task_id": finished.envelope.task_id,
                                                              "status": "answered", "seen": True}
    assert "was not cancelled: it is answered" in cli.stderr
    # the same id under another tenant: that tenant has run no such task, and the CLI says so
    other = subprocess.run([sys.executable, "-m", "mesh.cli.main", "cancel", finished.envelope.task_id, "--tenant",
                            xtenant + "-other", "--json"], env={**os.environ, **xmesh.settings.to_env()},
                           capture_output=True, text=True, timeout=60)
    assert other.returncode == 0 and json.loads(other.stdout)["seen"] is False
    assert "has run: it is marked cancelled" in other.stderr and "check the id and --tenant" in other.stderr
    assert client.task_status(finished.envelope.task_id, xtenant) == "answered"  # its own tenant's task is untouched


def test_a_planner_killed_mid_task_is_replaced_and_no_finished_step_runs_twice(xmesh, xtenant, client, llm):
    llm.script(CHEAP, Behaviour("slow", delay=1.5), Behaviour("slow", delay=3.0))
    question = "Compare Redis persistence and the payments regions"
    before = len(llm.calls)
    task = client.submit(question, who(xtenant), deadline_s=90)
    deadline = time.monotonic() + 20
    while not answering(llm, "Redis persistence") and time.monotonic() < deadline:
        time.sleep(0.05)
    planner = xmesh.workers["planner"]
    os.kill(planner.pid, signal.SIGKILL)  # mid-task: one chain is at the model, the other close behind
    planner.process.wait(10)
    xmesh.start_agent("planner", replica=1)
    result = client.result(task.envelope.task_id, 80)
    assert result.status is TaskStatus.answered, result
    assert {"redis-persistence", "payments-regions"} <= {c.doc_id for c in result.citations}
    executions = Counter(c.question for c in llm.calls[before:] if c.question in ("What is Redis persistence?",
                                                                        "What is the payments regions?"))
    assert executions == {"What is Redis persistence?": 1, "What is the payments regions?": 1}


def test_an_endpoint_that_keeps_failing_opens_its_breaker_for_every_replica(xmesh, xtenant, client, llm):
    llm.script(CHEAP, "error", "error", "error")
    for q in ("Where is the payments service?", "How does the payments failover work?",
              "What regions host payments?"):
        assert client.ask(q, who(xtenant)).status is TaskStatus.answered
    before = len(llm.calls)
    result = client.ask("Which two regions run payments?", who(xtenant))
    assert result.status is TaskStatus.answered
    assert [c.model for c in llm.calls[before:] if c.model != PLANNER] == [PRICEY]  # cheap was not even tried
    validated = events(xmesh.settings, "steps.validate", result.envelope.task_id, ValidateStep)
    assert "cheap (breaker open)" in validated[0].route_reason


def test_the_planner_accepts_only_valid_tokens_and_takes_the_principal_from_them(xmesh, xtenant, client):
    from mesh.security.principal_tokens import issue
    from schemas.models import Classification

    q = "How long does Kafka keep records?"
    forged = issue("not-the-key", who(xtenant), now_s=time.time(), ttl_s=60)
    expired = issue("xmesh-key", who(xtenant), now_s=time.time() - 3600, ttl_s=60)
    elsewhere = issue("xmesh-key", who("globex"), now_s=time.time(), ttl_s=60)
    for token, code in ((forged, "token_forged"), (expired, "token_expired"), (elsewhere, "tenant_mismatch"),
                        ("garbage", "token_invalid")):
        result = client.ask(q, who(xtenant), token=token)
        assert result.status is TaskStatus.rejected and result.rejection.code == code, (code, result.rejection)
    # the message claims clearance restricted; the token says public: the documents (internal) stay unread
    public = issue("xmesh-key", Principal(tenant_id=xtenant, user_id="dana", clearance=Classification.public),
                   now_s=time.time(), ttl_s=60)
    claimed = Principal(tenant_id=xtenant, user_id="dana", clearance=Classification.restricted)
    result = client.ask(q, claimed, token=public)
    assert result.status is TaskStatus.no_answer and result.citations == []
    assert client.ask(q, claimed).status is TaskStatus.answered  # the trusted client signs what it claims


def test_policies_decide_who_may_submit_and_which_models_each_principal_may_use(xmesh, xtenant, client, llm):
    from mesh.security.principal_tokens import issue

    def as_(user: str, *roles: str) -> tuple[Principal, str]:
        p = Principal(tenant_id=xtenant, user_id=user, roles=list(roles))
        return p, issue("xmesh-key", p, now_s=time.time(), ttl_s=60)

    eve, token = as_("eve", "suspended")
    refused = client.ask("How long does Kafka keep records?", eve, token=token)
    assert refused.status is TaskStatus.rejected and refused.rejection.code == "policy_denied"
    assert refused.rejection.policy_ids == ["suspended-users-do-nothing"]
    assert "[policy set " in refused.rejection.message

    gus, token = as_("gus", "guest")  # guests may use the built-in model only, and this mesh has none
    before = len(llm.calls)
    denied = client.ask("How long does Kafka keep records?", gus, token=token)
    assert denied.status is TaskStatus.failed and denied.rejection.code == "policy_denied"
    assert denied.rejection.policy_ids == ["guests-use-the-builtin-model-only"]
    assert [c for c in llm.calls[before:] if c.model != PLANNER] == []

    pat, token = as_("pat", "premium")
    premium = client.ask("Where does the payments service run?", pat, token=token)
    assert premium.status is TaskStatus.answered
    assert [c.model for c in answering(llm, "Where does the payments service run?")] == [VIP]
    dana = client.ask("In which regions is payments run?", who(xtenant))
    assert [c.model for c in answering(llm, "In which regions is payments run?")] == [CHEAP]
    validated = events(xmesh.settings, "steps.validate", dana.envelope.task_id, ValidateStep)
    assert "not permitted: vip (no policy permits it)" in validated[0].route_reason
    assert validated[0].envelope.policy_version == premium.envelope.policy_version != ""


def budget_cli(xmesh, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mesh.cli.main", "budget", *args], env={**os.environ,
                          **xmesh.settings.to_env()}, capture_output=True, text=True, timeout=60)


def test_past_the_soft_budget_the_cheapest_route_and_a_warning_at_the_hard_one_a_typed_rejection(
        xmesh, xtenant, client, llm):
    r = redis.Redis.from_url(xmesh.settings.redis_url)
    r.hset(Keys(xmesh.settings.key_prefix).route("cheap"), "latency_ms", 60_000)  # slow: normally pricey wins
    normal = client.ask("How is Redis data persisted?", who(xtenant))
    assert [c.model for c in answering(llm, "Redis data persisted")] == [PRICEY]
    assert budget_cli(xmesh, "set", xtenant, "--soft-tokens", "1").returncode == 0
    try:
        soft = client.ask("How often is the Redis append-only file synced?", who(xtenant))
        assert soft.status is TaskStatus.answered
        assert [c.model for c in answering(llm, "append-only file synced")] == [CHEAP]
        validated = events(xmesh.settings, "steps.validate", soft.envelope.task_id, ValidateStep)
        assert "past its soft budget" in validated[0].route_reason and len(validated[0].passages) <= 3
        usage = [u for u in events(xmesh.settings, "usage.tokens", soft.envelope.task_id, TokenUsage)
                 if u.endpoint != "planner"]
        assert usage and all(u.budget and "soft budget" in u.budget for u in usage)
        assert [u.budget for u in events(xmesh.settings, "usage.tokens", normal.envelope.task_id, TokenUsage)
                if u.endpoint != "planner"] == [None]
        shown = json.loads(budget_cli(xmesh, "show", xtenant, "--json").stdout)
        assert shown["used_tokens"] > 0 and shown["limits"]["soft_tokens"] == 1
        used = shown["used_tokens"]
        assert budget_cli(xmesh, "set", xtenant, "--hard-tokens", str(used + 10)).returncode == 0
        before = len(llm.calls)
        hard = client.ask("What does a circuit breaker do after failures?", who(xtenant))
        assert hard.status is TaskStatus.failed and hard.rejection.code == "budget_exhausted"
        assert f"hard limit of {used + 10} tokens this day" in hard.rejection.message
        assert "left" in hard.rejection.message and "resets at" in hard.rejection.message
        assert [c for c in llm.calls[before:] if c.model != PLANNER] == []  # refused before any call
    finally:
        budget_cli(xmesh, "set", xtenant, "--soft-tokens", "0", "--hard-tokens", "0")


def test_every_usage_event_matches_what_the_endpoint_reported(xmesh, xtenant, llm):
    """Last: over every call this module made, the mesh's accounting equals the server's own counts."""
    reported = Counter((c.model, c.prompt_tokens, c.completion_tokens) for c in llm.calls
                       if c.status == 200 and c.behaviour not in ("timeout", "cut_body", "no_usage"))
    codec = default_codec()
    accounted, seen = Counter(), set()
    for msg in read_all(xmesh.settings, Client(xmesh.settings).topics.name("usage.tokens"), idle_s=0.5):
        u = codec.decode(msg.value())
        # once per event, as `switchboard usage` counts: the steps the killed planner's successor gets again
        # re-send their recorded usage events, the same events
        if isinstance(u, TokenUsage) and u.envelope.tenant_id == xtenant and u.envelope.event_id not in seen:
            seen.add(u.envelope.event_id)
            accounted[(u.usage.model, u.usage.prompt_tokens, u.usage.completion_tokens)] += 1
            endpoint = xmesh.settings.endpoint(u.endpoint)
            assert u.cost_usd == pytest.approx(endpoint.cost(u.usage.prompt_tokens, u.usage.completion_tokens))
    assert sum(reported.values()) >= 15
    assert accounted == reported


def test_a_step_redelivered_after_its_model_answered_reuses_the_answer(xmesh, xtenant, client, llm):
    q = "For how many years are audit logs retained?"
    before = len(llm.calls)
    result = client.ask(q, who(xtenant))
    assert result.status is TaskStatus.answered
    task = result.envelope.task_id
    codec, topic = client.codec, client.topics.name("steps.execute")
    [raw] = [m for m in read_all(xmesh.settings, topic, idle_s=0.5) if codec.decode(m.value()).envelope.task_id == task]
    step = codec.decode(raw.value())
    calls = [c for c in llm.calls[before:] if c.model != PLANNER]
    assert len(calls) == 1 and calls[0].idempotency_key == step.envelope.idempotency_key
    # the replica died after the model answered but before the runtime's ledger recorded the step
    r = redis.Redis.from_url(xmesh.settings.redis_url)
    assert r.delete(Keys(xmesh.settings.key_prefix).ledger("executor", step.envelope.tenant_id, step.envelope.idempotency_key)) == 1
    from mesh.io.bus import Publisher

    pub = Publisher(xmesh.settings)
    pub.send(topic, raw.key(), raw.value())
    pub.flush()
    deadline = time.monotonic() + 30
    while len(validated := events(xmesh.settings, "steps.validate", task, ValidateStep)) < 2:
        assert time.monotonic() < deadline, "the redelivered step was not answered"
    assert len([c for c in llm.calls[before:] if c.model != PLANNER]) == 1  # the model was not called again
    assert validated[0].answer == validated[1].answer and validated[0].usage == validated[1].usage


def test_when_every_capable_endpoint_is_down_the_answer_comes_from_the_builtin_model_marked_degraded(
        xmesh, xtenant, client, llm):
    from mesh.io.breakers import Breakers

    s = xmesh.settings
    breakers = Breakers(s.redis_url, Keys(s.key_prefix), fail_max=s.breaker_failures, reset_s=s.breaker_reset_s)
    for name in ("cheap", "pricey"):
        for _ in range(s.breaker_failures):
            asyncio.run(breakers.get(name).failed("down for the test"))
    q = "How long does Kafka keep records?"
    before = len(llm.calls)
    result = client.ask(q, who(xtenant))
    assert result.status is TaskStatus.degraded, result
    assert "built-in extractive model" in result.degraded and "cheap breaker open" in result.degraded
    assert result.answer.startswith("Kafka keeps records for seven days")
    assert [c for c in llm.calls[before:] if c.model != PLANNER] == []  # none to an endpoint whose breaker is open
    for name in ("cheap", "pricey"):
        breakers.get(name).close()
    again = client.ask(q, who(xtenant))
    assert again.status is TaskStatus.answered and again.degraded is None


def test_an_endpoint_failing_validation_is_routed_around_and_every_verdict_counts(xmesh, xtenant, client, llm):
    s = xmesh.settings
    r = redis.Redis.from_url(s.redis_url)
    result = client.ask("Where do audit logs live?", who(xtenant))
    assert result.status is TaskStatus.answered
    assert int(r.hget(Keys(s.key_prefix).route("cheap"), "validations")) == 1  # the validator counted the verdict
    from mesh.llm.route_stats import RouteStats

    async def fail_many():
        client_ = __import__("redis.asyncio", fromlist=["from_url"]).from_url(s.redis_url)
        stats = RouteStats(client_, Keys(s.key_prefix), breaker_reset_s=s.breaker_reset_s)
        for _ in range(s.health_min_samples):
            await stats.validated("cheap", passed=False)
        await client_.aclose()
    asyncio.run(fail_many())
    answered = client.ask("Which buckets hold audit logs?", who(xtenant))
    assert answered.status is TaskStatus.answered
    [validated] = events(s, "steps.validate", answered.envelope.task_id, ValidateStep)
    assert validated.endpoint == "pricey" and "cheap (failing validation)" in validated.route_reason


def _published_steps(xmesh, steps: list) -> None:
    from mesh.io.bus import Publisher

    client, pub = Client(xmesh.settings), Publisher(xmesh.settings)
    for s in steps:
        pub.send(client.topics.name("steps.retrieve"), s.envelope.task_id.encode(), client.codec.encode(s))
    pub.flush()


def test_a_step_published_straight_to_the_broker_is_refused_dead_lettered_and_audited(xmesh, xtenant, llm):
    """An attacker with write access to the broker claims another principal on a step of its own making."""
    from mesh.security import step_grants
    from mesh.wire.topics import dlq_of
    from schemas.models import AuditRecord, Classification, DeadLetter, RetrieveStep

    mallory = Principal(tenant_id=xtenant, user_id="mallory", roles=["pii_reader"], groups=["board"],
                        clearance=Classification.restricted)
    question = f"What do the board minutes say? {uuid.uuid4().hex}"
    unsigned = RetrieveStep(envelope=new_envelope(xtenant, "retrieve"), question=question, principal=mallory)
    other_key = RetrieveStep(envelope=new_envelope(xtenant, "retrieve"), question=question, principal=mallory)
    other_key = other_key.model_copy(update={"grant": step_grants.sign(
        ["not-the-mesh-key"], other_key.envelope.task_id, xtenant, mallory)})
    _published_steps(xmesh, [unsigned, other_key])
    ids = {unsigned.envelope.task_id: "step_unsigned", other_key.envelope.task_id: "step_forged"}

    codec, topics = default_codec(), Client(xmesh.settings).topics
    deadline, reasons = time.monotonic() + 60, {}
    while time.monotonic() < deadline and len(reasons) < 2:
        for m in read_all(xmesh.settings, dlq_of(topics.name("steps.retrieve")), idle_s=0.5):
            letter = codec.decode(m.value())
            if isinstance(letter, DeadLetter) and m.key().decode() in ids:
                reasons[m.key().decode()] = letter.reason
    assert set(reasons) == set(ids), reasons
    assert "carries no grant" in reasons[unsigned.envelope.task_id]
    assert "does not match" in reasons[other_key.envelope.task_id]

    audited = {}
    for m in read_all(xmesh.settings, topics.name("audit.events"), idle_s=0.5):
        record = codec_for(xmesh.settings).decode(m.value())
        if isinstance(record, AuditRecord) and record.envelope.task_id in ids:
            audited[record.envelope.task_id] = record
    assert {t: r.reason.split(":")[0] for t, r in audited.items()} == ids
    assert all(r.decision.value == "deny" and r.agent == "retriever" and r.principal == f"{xtenant}/mallory"
               for r in audited.values())
    assert not any(question in c.prompt for c in llm.calls)  # nothing of it reached a model


def test_a_forged_step_further_down_the_chain_is_refused_too(xmesh, xtenant, llm):
    """A ValidateStep or ExecuteStep made up by an attacker is refused by the agent that reads it."""
    from mesh.io.bus import Publisher
    from mesh.wire.topics import dlq_of
    from schemas.models import DeadLetter, ExecuteStep, Usage

    mallory = Principal(tenant_id=xtenant, user_id="mallory")
    client, pub = Client(xmesh.settings), Publisher(xmesh.settings)
    execute = ExecuteStep(envelope=new_envelope(xtenant, "execute"), question="Say hello", principal=mallory)
    validate = ValidateStep(envelope=new_envelope(xtenant, "validate"), question="q", principal=mallory,
                            answer="a", usage=Usage(model="m"))
    for topic, s in (("steps.execute", execute), ("steps.validate", validate)):
        pub.send(client.topics.name(topic), s.envelope.task_id.encode(), client.codec.encode(s))
    pub.flush()
    codec, found = default_codec(), {}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(found) < 2:
        for topic, s in (("steps.execute", execute), ("steps.validate", validate)):
            for m in read_all(xmesh.settings, dlq_of(client.topics.name(topic)), idle_s=0.5):
                letter = codec.decode(m.value())
                if isinstance(letter, DeadLetter) and m.key() == s.envelope.task_id.encode():
                    found[topic] = letter
    assert {t: "carries no grant" in letter.reason for t, letter in found.items()} == {
        "steps.execute": True, "steps.validate": True}
    assert {found["steps.execute"].agent, found["steps.validate"].agent} == {"executor", "validator"}


def test_an_index_query_published_straight_to_the_broker_searches_nothing(xmesh, xtenant):
    """With allow-list null an index query searches every document of the tenant: only a retriever may ask."""
    from mesh.io.bus import Publisher
    from mesh.wire.topics import dlq_of
    from schemas.models import AccessFilter, DeadLetter, IndexQuery, IndexResult

    client, pub = Client(xmesh.settings), Publisher(xmesh.settings)
    query = IndexQuery(envelope=new_envelope(xtenant, "index.query"), query_id=uuid.uuid4().hex,
                       text="everything", filter=AccessFilter(tenant_id=xtenant), allow=None, k=50)
    pub.send(client.topics.name("index.queries"), xtenant.encode(), client.codec.encode(query))
    pub.flush()
    codec, letter = default_codec(), None
    deadline = time.monotonic() + 60
    while letter is None and time.monotonic() < deadline:
        letters = (codec.decode(m.value()) for m in read_all(xmesh.settings, dlq_of(client.topics.name("index.queries")),
                                                             idle_s=0.5))
        letter = next((d for d in letters if isinstance(d, DeadLetter) and d.agent == "index"
                       and query.envelope.task_id in d.reason), None)
    assert letter is not None and "carries no grant" in letter.reason
    results = [r for r in (codec_for(xmesh.settings).decode(m.value()) for m in read_all(
        xmesh.settings, client.topics.name("index.results"), idle_s=0.5)) if isinstance(r, IndexResult)]
    assert not any(r.query_id == query.query_id for r in results)
