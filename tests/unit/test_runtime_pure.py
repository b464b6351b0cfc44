"""mesh.runtime.processor: the trace id inside a W3C traceparent, and how outages and other transient errors are retried."""

from __future__ import annotations

import pytest

from mesh.client import new_traceparent
from mesh.runtime.processor import trace_id_of

pytestmark = pytest.mark.unit


def test_trace_id_of_valid_traceparent():
    assert trace_id_of("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01") == \
        "4bf92f3577b34da6a3ce929d0e0e4736"


def test_trace_id_of_a_fresh_client_traceparent():
    tp = new_traceparent()
    assert trace_id_of(tp) == tp.split("-")[1]
    assert len(trace_id_of(tp)) == 32


@pytest.mark.parametrize("value", [
    None,
    "",
    "garbage",
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",  # three parts
    "00-4bf92f3577b34da6-00f067aa0ba902b7-01",  # short trace id
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",  # five parts
])
def test_trace_id_of_malformed_is_none(value):
    assert trace_id_of(value) is None


# --- who hears of a failure ------------------------------------------------------------------------

def _run_failing(reports: str, error: Exception):
    import asyncio

    from mesh.runtime.processor import Inbound, Processor, Route
    from mesh.wire.codec import default_codec
    from mesh.wire.topics import Topics
    from schemas.models import ExecuteStep
    from tests.unit.samples import samples

    step = next(r for r in samples() if isinstance(r, ExecuteStep))
    sent = []

    async def handle(record):
        raise error

    async def send(outputs):
        sent.extend(outputs)

    codec = default_codec()
    proc = Processor("executor", [Route("steps.execute", handle, idempotent=False, reports=reports)], codec=codec,
                     topics=Topics(""), ledger=None, send=send)
    outcome = asyncio.run(proc.process(Inbound("steps.execute", 0, 7, b"k", codec.encode(step))))
    return outcome, [(o.topic, codec.decode(o.value)) for o in sent]


def test_a_refused_step_of_a_dag_is_reported_to_the_planner_not_the_client():
    from mesh.errors import SemanticError
    from schemas.models import StepDone, StepStatus

    outcome, sent = _run_failing("planner", SemanticError("the prompt needs 9000 tokens", code="no_route"))
    assert outcome == "rejected" and [t for t, _ in sent] == ["steps.done"]
    done = sent[0][1]
    assert isinstance(done, StepDone) and done.status is StepStatus.failed
    assert done.reasons == ["no_route: the prompt needs 9000 tokens"] and done.envelope.step_id == "s1"


def test_a_crashed_step_is_dead_lettered_and_reported_to_the_planner():
    outcome, sent = _run_failing("planner", ZeroDivisionError("bug"))
    assert outcome == "dead_lettered" and [t for t, _ in sent] == ["steps.execute.dlq", "steps.done"]
    assert sent[1][1].reasons[0].startswith("handler_crashed: ZeroDivisionError")


def test_a_failed_step_of_a_dag_carries_its_failure_as_data():
    from mesh.errors import SemanticError
    from policy.engine import PolicyDenied
    from schemas.models import ErrorKind, StepFailure

    _, sent = _run_failing("planner", PolicyDenied("no endpoint alice may use", ("guests-builtin", "night"), "v7"))
    assert sent[0][1].failure == StepFailure(kind=ErrorKind.semantic, code="policy_denied", agent="executor",
                                             policy_ids=["guests-builtin", "night"], message="no endpoint alice may use [policy set v7]")
    _, sent = _run_failing("planner", SemanticError("the prompt needs 9000 tokens", code="no_route"))
    assert sent[0][1].failure == StepFailure(kind=ErrorKind.semantic, code="no_route", agent="executor",
                                             message="the prompt needs 9000 tokens")
    _, sent = _run_failing("planner", ZeroDivisionError("bug"))
    crashed = sent[1][1].failure
    assert (crashed.kind, crashed.code, crashed.agent, crashed.policy_ids) == \
        (ErrorKind.deterministic, "handler_crashed", "executor", [])


def test_a_refused_task_is_reported_to_the_client():
    from mesh.errors import SemanticError
    from schemas.models import TaskCompleted, TaskStatus

    _, sent = _run_failing("client", SemanticError("no", code="nope"))
    assert [t for t, _ in sent] == ["tasks.completed"]
    assert isinstance(sent[0][1], TaskCompleted) and sent[0][1].status is TaskStatus.rejected


def test_nobody_hears_of_a_failed_ingest_but_the_dead_letter_topic():
    _, sent = _run_failing("nobody", ZeroDivisionError("bug"))
    assert [t for t, _ in sent] == ["steps.execute.dlq"]


def _processor(attempts: int):
    from mesh.retry import RetryPolicy
    from mesh.runtime.processor import Processor
    from mesh.wire.codec import default_codec
    from mesh.wire.topics import Topics

    return Processor("t", [], codec=default_codec(), topics=Topics(""), ledger=None, send=None,
                     retry_policy=RetryPolicy(attempts=attempts, initial_s=0.0, cap_s=0.0))


def _flaky(failures: list[Exception]):
    calls = []

    async def fn():
        calls.append(1)
        if failures:
            raise failures.pop(0)
        return "done"
    return fn, calls


def test_an_outage_of_redis_is_waited_out_without_spending_the_retry_policy():
    import asyncio

    from redis.exceptions import ConnectionError as RedisConnectionError

    from mesh.errors import BrokerUnavailable, RedisUnavailable

    outage = [RedisUnavailable("redis down"), RedisConnectionError("refused"), BrokerUnavailable("broker down")]
    fn, calls = _flaky(outage)
    assert asyncio.run(_processor(attempts=1)._run(fn)) == "done"  # one attempt allowed, three outages survived
    assert len(calls) == 4


def test_other_transient_errors_exhaust_the_retry_policy():
    import asyncio

    from mesh.errors import TransientError

    fn, calls = _flaky([TransientError("endpoint down", code="endpoints_failed") for _ in range(5)])
    with pytest.raises(TransientError, match="endpoint down"):
        asyncio.run(_processor(attempts=3)._run(fn))
    assert len(calls) == 3


def test_a_route_with_only_a_batch_handler_handles_one_record_through_it():
    import asyncio

    from mesh.runtime.processor import Emit, Route

    seen = []

    async def many(records):
        seen.append(list(records))
        return [[Emit("steps.done", r)] for r in records]

    route = Route("docs.ingest", handle_many=many)
    assert asyncio.run(route.handle("r1")) == [Emit("steps.done", "r1")]
    assert seen == [["r1"]]
    with pytest.raises(TypeError, match="handle or handle_many"):
        Route("docs.ingest")
