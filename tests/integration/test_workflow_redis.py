"""mesh.planning.checkpoint on a real redis-server: the checkpoint's transitions are atomic and repeatable."""

from __future__ import annotations

import asyncio

import pytest

from mesh.io.keys import Keys
from mesh.io.redis_clients import async_redis
from mesh.planning.checkpoint import Workflow
from mesh.planning.dag import Node, NodeResult
from schemas.models import StepStatus
from tests.integration.stores import ON_EVERY_STORE

pytestmark = [pytest.mark.integration, ON_EVERY_STORE]


def run(coro):
    return asyncio.run(coro)


def flow(url: str) -> Workflow:
    return Workflow(async_redis(url), Keys("wf:"), ttl_s=600)


OK = NodeResult(StepStatus.passed, "fine [1]")


def test_a_dag_advances_and_a_redelivery_gets_the_same_answer(redis_url):
    async def go():
        wf = flow(redis_url)
        plan = (Node("a", "qa"), Node("b", "qb"), Node("c", "qc", ("a", "b")))
        assert await wf.start("wf:t1", b"task", plan, 10**13) == ["a", "b"]
        assert await wf.start("wf:t1", b"other", plan, 10**13) == ["a", "b"]  # a redelivered submission
        first = await wf.advance("wf:t1", "a", OK)
        assert (first.fire, first.closes, first.status) == ([], False, "running")
        second = await wf.advance("wf:t1", "b", OK)
        assert (second.fire, second.closes) == (["c"], False)
        assert (await wf.advance("wf:t1", "b", OK)).fire == ["c"]  # the planner died before sending: same again
        assert (await wf.advance("wf:t1", "a", OK)).fire == []
        last = await wf.advance("wf:t1", "c", OK)
        assert last.closes and last.status == "closing"
        assert (await wf.advance("wf:t1", "c", OK)).closes  # the closer, redelivered, closes again
        await wf.finish("wf:t1", "answered")
        state = await wf.load("wf:t1")
        assert state.status == "answered" and state.task == b"task" and set(state.results) == {"a", "b", "c"}
        assert (await wf.advance("wf:t1", "zz", OK)).status == "unknown_step"
        assert (await wf.advance("wf:nope", "a", OK)).status == "unknown"
    run(go())


def test_concurrent_replicas_lose_no_update_and_close_once(redis_url):
    async def go():
        plan = tuple(Node(f"p{i}", "q") for i in range(12))
        replicas = [flow(redis_url) for _ in range(4)]  # a connection each, like planner replicas
        await replicas[0].start("wf:t2", b"task", plan, 10**13)
        calls = [replicas[i % 4].advance("wf:t2", n.id, NodeResult(StepStatus.passed, n.id)) for i, n in
                 enumerate(plan * 2)]  # every step done twice, interleaved
        outcomes = await asyncio.gather(*calls)
        closers = {n.id for n, o in zip(plan * 2, outcomes) if o.closes}
        assert len(closers) == 1
        state = await replicas[0].load("wf:t2")
        assert all(state.nodes[n.id] == "passed" for n in plan)
        assert {k: r.answer for k, r in state.results.items()} == {n.id: n.id for n in plan}
    run(go())


def test_closing_is_decided_once_and_remembered_for_latecomers(redis_url):
    async def go():
        wf = flow(redis_url)
        await wf.start("wf:t3", b"task", (Node("s1", "q"),), 1)
        assert "wf:t3" in await wf.overdue(10**13) and "wf:t3" not in await wf.overdue(0)
        assert await wf.close("wf:t3", "timed_out", "deadline") == ("timed_out", True)
        assert await wf.close("wf:t3", "timed_out", "deadline") == ("timed_out", True)  # the sweep, again
        assert await wf.close("wf:t3", "cancelled", "cancel") == ("timed_out", False)
        assert (await wf.advance("wf:t3", "s1", OK)).closes is False  # a late answer changes nothing
        await wf.forget_deadlines(["wf:t3"])
        assert "wf:t3" not in await wf.overdue(10**13)
        assert await wf.close("wf:t4", "cancelled", "cancel", remember=True) == ("unknown", False)
        # repeated (a retry after its replica wait failed): answered as the first time
        assert await wf.close("wf:t4", "cancelled", "cancel", remember=True) == ("unknown", False)
        assert await wf.start("wf:t4", b"task", (Node("s1", "q"),), 10**13) is None
        assert await wf.load("wf:t4") is None
    run(go())
