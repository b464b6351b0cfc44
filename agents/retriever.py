"""The retriever: finds the context a step may use, under the principal's access filter.

In:  ``steps.retrieve`` (RetrieveStep), ``index.results`` (IndexResult).
Out: ``index.queries`` (IndexQuery, keyed by tenant), ``steps.execute`` (ExecuteStep).

It computes what the principal may read *before* any search runs and sends it with the query,
so restricted documents never enter scoring. The step waits in Redis, keyed by the query id,
until its results arrive: no agent blocks on another.
"""

from __future__ import annotations

from mesh.app import AgentContext, AgentSpec
from mesh.envelope import child_envelope
from mesh.runtime import Emit, Route
from mesh.state import redis_errors
from policy.access import read_filter
from schemas.models import ExecuteStep, IndexQuery, IndexResult, RetrieveStep

__all__ = ["spec", "index_query", "execute_step"]

_PENDING_TTL_S = 3600


def index_query(step: RetrieveStep) -> IndexQuery:
    """The search for ``step``; its id is the step's idempotency key, so a redelivery asks the same."""
    return IndexQuery(envelope=child_envelope(step.envelope, "index.query"), query_id=step.envelope.idempotency_key,
                      text=step.question, filter=read_filter(step.principal), k=step.top_k)


def execute_step(step: RetrieveStep, result: IndexResult) -> ExecuteStep:
    return ExecuteStep(envelope=child_envelope(result.envelope, "execute"), question=step.question,
                       principal=step.principal, passages=result.hits)


def routes(ctx: AgentContext) -> list[Route]:
    redis, keys, codec = ctx.redis, ctx.keys, ctx.codec

    async def retrieve(step: RetrieveStep) -> list[Emit]:
        query = index_query(step)
        async with redis_errors("parking the step"):
            await redis.set(keys.pending("retriever", query.query_id), codec.encode(step), ex=_PENDING_TTL_S)
        return [Emit("index.queries", query, key=query.filter.tenant_id)]

    async def results(result: IndexResult) -> list[Emit]:
        async with redis_errors("loading the parked step"):
            raw = await redis.get(keys.pending("retriever", result.query_id))
        if raw is None:
            return []  # not ours to continue: the step expired or was never parked
        return [Emit("steps.execute", execute_step(codec.decode(raw), result))]

    return [Route("steps.retrieve", retrieve), Route("index.results", results)]


spec = AgentSpec("retriever", routes)
