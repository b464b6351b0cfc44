"""The retriever: finds the context a step may use, under the principal's access filter.

In:  ``steps.retrieve`` (RetrieveStep), ``index.results`` (IndexResult).
Out: ``index.queries`` (IndexQuery, keyed by tenant), ``steps.execute`` (ExecuteStep).

Before any search runs it asks the Cedar policies (``read_document``, ``policy.access.readable``)
for the allow-list of documents the principal may read, memoised per principal and store version; BM25
(here, with statistics over the allowed documents only) and the dense search (the index agent)
both run under it, so restricted documents never enter scoring. The two rankings are fused
(RRF or a convex combination) and the best passages packed into the step's token budget. When it
sanitizes, the packed passages and titles are masked before they leave; the scanner agent scans
them ahead, and one it has not scanned (yet) is scanned then, the first time a step packs it
(``policy.scans``), so no passage reaches a prompt unscanned.
While the index agent works, the step waits in Redis; if no answer comes within
``index_timeout_ms`` a timer continues it from BM25 alone, marked degraded. No agent blocks.
Those timeouts feed the index agent's breaker (``mesh.io.breakers``, shared by every replica):
while it is open, steps go straight to BM25 alone, marked degraded, without waiting; after
``breaker_reset_s`` one query probes the index again.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator

import numpy as np

from index.bm25 import BM25
from index.corpus import Corpus, best_per_doc
from index.fusion import convex, rrf
from index.packing import pack
from index.store import DocStore, PerTenant
from mesh.io.breakers import Breakers, SharedBreaker
from mesh.io.keys import Keys
from mesh.io.pipelined import Batch, Queue, after, run, together
from mesh.io.redis_clients import redis_errors
from mesh.observe.tracing import tracer
from mesh.runtime.background import in_background
from mesh.runtime.processor import Emit, Route
from mesh.runtime.spec import AgentContext, AgentSpec, Parts, Timer
from mesh.security import step_grants
from mesh.settings import Settings
from mesh.wire.codec import AvroCodec
from mesh.wire.envelope import Envelope, child_envelope
from policy.access import read_filter, readable
from policy.engine import PolicyEngine
from policy.rollout import Policies, Rollout, in_sample
from policy.sanitize import Sanitizer
from policy.step_sanitizer import sanitized, sanitizer_for
from schemas.models import (
    ExecuteStep,
    IndexQuery,
    IndexResult,
    Passage,
    Principal,
    RetrievalMode,
    RetrieveStep,
)

_tracer = tracer("switchboard.retriever")

__all__ = ["spec", "ParkedSteps", "Retriever", "fuse", "index_query"]

_PENDING_TTL_S = 3600
#: KEYS: the parked step, its claim; ARGV: owner, TTL. The step if ``owner`` holds (or now takes) the claim.
_CLAIM = """
local body = redis.call('GET', KEYS[1])
if not body then return nil end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'EX', ARGV[2]) then return body end
if redis.call('GET', KEYS[2]) == ARGV[1] then return body end
return nil
"""

Hit = tuple[str, str, float]  # doc id, passage id, score


# --- pure functions ------------------------------------------------------------------------------------

def index_query(step: RetrieveStep, corpus: Corpus, allow: list[str] | None, secrets: list[str]) -> IndexQuery:
    """The dense search for ``step`` in ``corpus``'s version (the one BM25 searched), signed for the index
    agent; its id is the step's idempotency key, so a redelivery asks the same."""
    query = IndexQuery(envelope=child_envelope(step.envelope, "index.query"), query_id=step.envelope.idempotency_key,
                       text=step.question, filter=read_filter(step.principal), allow=allow, k=step.candidates,
                       version=corpus.version)
    return step_grants.signed_query(secrets, query)


def fuse(mode: RetrievalMode, lexical: list[Hit], dense: list[Hit], settings: Settings) -> list[Hit]:
    """One ranking (a passage per document) from the two searches' hits, as ``mode`` asks."""
    if mode is RetrievalMode.lexical or not dense:
        return lexical
    if mode is RetrievalMode.dense:
        return dense
    passage_of = {d: p for d, p, _ in lexical}
    passage_of.update({d: p for d, p, _ in dense})  # the dense side's passage is the semantically closest
    lx, dn = [(d, s) for d, _, s in lexical], [(d, s) for d, _, s in dense]
    fused = rrf([lx, dn], settings.rrf_k) if settings.fusion == "rrf" else convex(lx, dn, settings.fusion_alpha)
    return [(d, passage_of[d], round(s, 9)) for d, s in fused]


def _lexical(corpus: Corpus, bm25: BM25, question: str, allowed: np.ndarray, k: int) -> list[Hit]:
    """(doc id, passage id, score) of the k best documents by BM25, under the allowed rows."""
    scores, rows = bm25.search(question, k * 3, allowed)
    return [(d, corpus.rows[r].passage_id, round(float(s), 6))
            for d, r, s in best_per_doc(scores, rows, corpus.doc_of_row, k)]


def _present(corpus: Corpus, hits: list[Hit]) -> list[Hit]:
    """The hits whose passage the corpus still holds (one gone since, by an update, is dropped)."""
    return [h for h in hits if h[1] in corpus.row_of_passage]


def _passages(corpus: Corpus, hits: list[Hit]) -> Iterator[Passage]:
    """Present hits with their text from the corpus, made as they are asked for: packing takes a few of a
    hundred, and the ranking needs none."""
    for doc_id, passage_id, score in hits:
        r = corpus.rows[corpus.row_of_passage[passage_id]]
        yield Passage(doc_id=doc_id, passage_id=passage_id, title=r.title, text=r.text, score=score)


def reader_key(version: str, who: Principal) -> tuple:
    """What a principal's allow-list depends on, besides the documents: the policies and who they are."""
    return version, who.user_id, tuple(sorted(who.groups)), tuple(sorted(who.roles)), who.clearance


def read_diffs(who: Principal, ours: set[str], theirs: set[str], task_id: str) -> list[dict]:
    """The documents the candidate policies (``theirs``) would decide otherwise than the active (``ours``)."""
    return [{"request": task_id, "principal": f"{who.tenant_id}/{who.user_id}", "action": "read_document",
             "resource": f"Document::{d}", "active": "allow" if d in ours else "deny",
             "candidate": "allow" if d in theirs else "deny", "active_policies": [], "candidate_policies": []}
            for d in sorted(ours ^ theirs)]


def execute_step(step: RetrieveStep, envelope: Envelope, question: str, packed: list[Passage],
                 ranked: list[Hit], degraded: str | None) -> ExecuteStep:
    """The step for the executor: the (sanitized) question and packed context, and the ranking they came from."""
    return ExecuteStep(envelope=child_envelope(envelope, "execute"), question=question, principal=step.principal,
                       passages=packed, ranking=[d for d, _, _ in ranked], scores=[s for _, _, s in ranked],
                       degraded=degraded, output_schema=step.output_schema, grant=step.grant)


async def build_bm25(corpus: Corpus) -> BM25:
    return await asyncio.to_thread(BM25, [r.searchable for r in corpus.rows])


# --- collaborators -------------------------------------------------------------------------------------

class ParkedSteps:
    """Steps waiting in Redis for the index agent's answer, each with a deadline; exactly one of the
    answer and the timeout claims a step."""

    def __init__(self, redis, keys: Keys, codec: AvroCodec, timeout_s: float) -> None:
        self._redis, self._keys, self._codec, self._timeout_s = redis, keys, codec, timeout_s
        self._deadlines = keys.deadlines("retriever")
        self._claim = redis.register_script(_CLAIM)

    async def park(self, query_id: str, step: RetrieveStep, lexical: list[Hit]) -> None:
        """Park the step, with the message's ledger entry (``mesh.io.pipelined.after``), so before the index
        query is sent: the step and its deadline (still ahead, so no sweep finds it before the step lands, even
        where Redis Cluster writes the two on different primaries at once)."""
        parked = json.dumps({"step": self._codec.encode(step).hex(), "lexical": lexical})

        def queue(b: Batch) -> None:
            b.pipe.set(self._keys.pending("retriever", query_id), parked, ex=_PENDING_TTL_S)
            b.pipe.zadd(self._deadlines, {query_id: time.time() + self._timeout_s})
        await after(self._redis, queue, "parking the step")

    async def claim(self, query_id: str, owner: str) -> tuple[RetrieveStep, list[Hit]] | None:
        """Take a parked step (and its BM25 hits) for ``owner``; None if another owner took it.

        A claim is idempotent for its owner (a retried or redelivered handler claims again and gets
        the step again), and the parked step stays until it expires, so a failure after the claim
        (Redis restarting mid-handler) never loses the step.
        """
        return await run(self._redis, self.claiming(query_id, owner), "claiming a parked step")

    def claiming(self, query_id: str, owner: str) -> Queue:
        """``claim`` as commands for a batch (``mesh.io.pipelined``): idempotent for its owner, so it can ride
        on the ledger read of the answer that claims."""
        def queue(b: Batch):
            b.script(self._claim, self._claim_keys(query_id), [owner, _PENDING_TTL_S])
            return lambda replies: self._claimed(replies[0])
        return queue

    def _claim_keys(self, query_id: str) -> list[str]:
        return [self._keys.pending("retriever", query_id), self._keys.pending_claim("retriever", query_id)]

    def _claimed(self, raw: bytes | None) -> tuple[RetrieveStep, list[Hit]] | None:
        if raw is None:
            return None
        body = json.loads(raw)
        return self._codec.decode(bytes.fromhex(body["step"])), [tuple(h) for h in body["lexical"]]

    async def answered(self, query_id: str) -> None:
        """Stop watching the step's deadline: with the message's ledger entry."""
        def queue(b: Batch) -> None:
            b.pipe.zrem(self._deadlines, query_id)
        await after(self._redis, queue, "clearing a step's deadline")

    async def overdue(self) -> list[bytes]:
        """The ids of (up to 100) steps past their deadline."""
        async with redis_errors("reading overdue steps"):
            return await self._redis.zrangebyscore(self._deadlines, "-inf", time.time(), start=0, num=100)

    async def forget(self, query_ids: list[bytes]) -> None:
        async with redis_errors("clearing overdue steps"):
            await self._redis.zrem(self._deadlines, *query_ids)


# --- the agent -----------------------------------------------------------------------------------------

class Retriever:
    """The handlers: a step (BM25 now, the dense search asked for), the index agent's answer, the
    timeouts' sweep; and the warm-up."""

    def __init__(self, corpora: PerTenant[BM25], rollout: Rollout, breaker: SharedBreaker, parked: ParkedSteps,
                 sanitizer: Sanitizer | None, *, context_tokens: int, index_timeout_ms: int,
                 fusion: Settings, token_secrets: list[str] = ()) -> None:
        self._corpora, self._rollout, self._breaker, self._parked = corpora, rollout, breaker, parked
        self._sanitizer, self._token_secrets = sanitizer, list(token_secrets)
        self._context_tokens, self._timeout_ms = context_tokens, index_timeout_ms
        self._fusion = fusion  # what ``fuse`` reads: fusion, rrf_k, fusion_alpha
        self._swept: list[bytes] = []  # the timeouts sent by the last sweep, forgotten once they are acknowledged

    async def warmup(self) -> None:  # load the NER pipeline before reporting ready, not on the first step
        if self._sanitizer is not None:
            await self._sanitizer.scans.warm()

    def retrieving(self, step: RetrieveStep) -> Queue:
        """What ``retrieve`` reads first (the store's version, the index breaker's state), with the ledger's read."""
        return together(self._corpora.version_reading(step.principal.tenant_id), self._breaker.state_reading())

    async def retrieve(self, step: RetrieveStep, fetched: tuple[int, str] | None = None) -> list[Emit]:
        if step.mode is not RetrievalMode.lexical:
            self._scan_question(step)
        version, breaker = fetched or (None, None)
        corpus, bm25 = await self._corpora.get(step.principal.tenant_id, version)
        allowed, mask = await self._allowed(step, corpus, await self._rollout.current())
        with _tracer.start_as_current_span("retrieve.bm25"):
            lexical = _lexical(corpus, bm25, step.question, mask, step.candidates)
        if step.mode is RetrievalMode.lexical:
            return await self._execute(step, corpus, lexical, step.envelope)
        if not await self._breaker.allow(breaker):
            return await self._execute(step, corpus, lexical, step.envelope,
                                       degraded="index agent unavailable (its breaker is open): BM25 only")
        query = index_query(step, corpus, None if len(allowed) == len(corpus.docs) else allowed, self._token_secrets)
        await self._parked.park(query.query_id, step, lexical)
        return [Emit("index.queries", query, key=step.principal.tenant_id)]

    async def _allowed(self, step: RetrieveStep, corpus: Corpus, now: Policies) -> tuple[list[str], np.ndarray]:
        """The documents (and rows) the principal may read, memoised per principal and store version;
        the candidate policies' differences recorded for the steps in their sample."""
        who = step.principal
        docs = lambda: [(d.doc_id, d.access) for d in corpus.docs.values()]  # noqa: E731 (built only when needed)
        with _tracer.start_as_current_span("retrieve.access_filter") as span:
            allowed, mask = corpus.allowed_by(reader_key(now.active.version, who),
                                              lambda: readable(now.active, who, docs()))
            span.set_attributes({"switchboard.allowed": len(allowed), "switchboard.documents": len(corpus.docs)})
        if now.candidate is not None and in_sample(step.envelope.task_id, now.share):
            await self._shadow_reads(now.candidate, who, docs(), allowed, step.envelope.task_id)
        return allowed, mask

    async def _shadow_reads(self, candidate: PolicyEngine, who: Principal, docs, allowed: list[str],
                            task_id: str) -> None:
        """Record every document the candidate policies would decide differently for this reader."""
        diffs = read_diffs(who, set(allowed), set(readable(candidate, who, docs)), task_id)
        if diffs:
            await self._rollout.record(candidate.version, diffs)

    def claiming(self, result: IndexResult) -> Queue:
        """``results``' claim of its parked step (idempotent for its owner) and the store's version, with the
        ledger's read."""
        return together(self._parked.claiming(result.query_id, f"result:{result.envelope.idempotency_key}"),
                        self._corpora.version_reading(result.envelope.tenant_id))

    async def results(self, result: IndexResult,
                      fetched: tuple[tuple[RetrieveStep, list[Hit]] | None, int] | None = None) -> list[Emit]:
        claimed = await self._claim(result.query_id, f"result:{result.envelope.idempotency_key}",
                                    fetched, result.envelope.tenant_id)
        if claimed is None:
            return []  # already continued (timed out), or never ours
        await self._parked.answered(result.query_id)
        await self._breaker.succeeded()
        step, corpus, lexical = claimed
        dense = _present(corpus, [(h.doc_id, h.passage_id, h.score) for h in result.hits])
        with _tracer.start_as_current_span("retrieve.fuse", attributes={"switchboard.dense_hits": len(dense)}):
            fused = fuse(step.mode, lexical, dense, self._fusion)
        return await self._execute(step, corpus, fused, result.envelope)

    async def sweep(self) -> list[Emit]:
        """Continue the steps whose index answer is overdue from BM25 alone, marked degraded."""
        overdue = await self._parked.overdue()
        out = []
        for query_id in overdue:
            claimed = await self._claim(query_id.decode(), "timeout")
            if claimed is not None:
                await self._breaker.failed(f"no answer within {self._timeout_ms} ms")
                step, corpus, lexical = claimed
                out += await self._execute(step, corpus, lexical, step.envelope, degraded=(
                    f"index agent did not answer within {self._timeout_ms} ms: BM25 only"))
        self._swept = overdue
        return out

    async def forget_swept(self) -> None:
        """Once the timeouts' steps were sent (a failed send leaves them due: the next sweep sends them again)."""
        if self._swept:
            await self._parked.forget(self._swept)

    async def _claim(self, query_id: str, owner: str, fetched: tuple | None = None,
                     tenant: str | None = None) -> tuple[RetrieveStep, Corpus, list[Hit]] | None:
        """A parked step for ``owner`` (see ``ParkedSteps.claim``), with its corpus and BM25 hits;
        ``fetched``: the claim, and the store's version of ``tenant``, read already (``claiming``)."""
        claimed, version = fetched or (await self._parked.claim(query_id, owner), None)
        if claimed is None:
            return None
        step, lexical = claimed
        corpus, _ = await self._corpora.get(step.principal.tenant_id,
                                            version if step.principal.tenant_id == tenant else None)
        return step, corpus, _present(corpus, lexical)

    async def _execute(self, step: RetrieveStep, corpus: Corpus, ranked: list[Hit], envelope: Envelope,
                       degraded: str | None = None) -> list[Emit]:
        """The step for the executor: its context packed, and (unless off) sanitized, with the audit of that."""
        packed = pack(_passages(corpus, ranked), self._context_tokens, step.top_k)
        question, audit = step.question, []
        if self._sanitizer is not None:
            classes = {d: corpus.docs[d].access.classification.rank for d in {p.doc_id for p in packed}
                       if d in corpus.docs}
            question, packed, audit = await sanitized(self._sanitizer, (await self._rollout.current()).active, step,
                                                      packed, classes, envelope)
        return [Emit("steps.execute", execute_step(step, envelope, question, packed, ranked, degraded)), *audit]

    def _scan_question(self, step: RetrieveStep) -> None:
        """Scan the question from the start of a step that asks the index, beside the access filter, BM25 and
        the index agent's search: the scan is the longest piece of the step's path, and its sanitization then
        finds the question scanned, or waits for the scan under way (``Scans`` scans a text once at a time; a
        failure only means the step scans it itself). A lexical step is sanitized right after BM25, and
        scans its question there, in one Redis read with its passages."""
        if self._sanitizer is not None:
            in_background(self._sanitizer.scans.find_many(step.principal.tenant_id, [step.question]),
                          "scanning a question")


# --- wiring --------------------------------------------------------------------------------------------

def routes(ctx: AgentContext) -> Parts:
    redis, keys, s = ctx.redis, ctx.keys, ctx.settings
    rollout = Rollout(redis, keys, s.policy_dir)
    retriever = Retriever(PerTenant(DocStore(redis, keys, ctx.sealer), build_bm25), rollout,
                          Breakers(s, keys, fail_max=s.breaker_failures, reset_s=s.breaker_reset_s).get("index"),
                          ParkedSteps(redis, keys, ctx.codec, s.index_timeout_ms / 1000),
                          sanitizer_for(ctx, in_worker=s.scan_process) if s.sanitize else None,
                          context_tokens=s.context_tokens, index_timeout_ms=s.index_timeout_ms, fusion=s,
                          token_secrets=s.token_secrets)
    return Parts([Route("steps.retrieve", retriever.retrieve, reports="planner", prefetch=retriever.retrieving,
                        authority=step_grants.authority(s.token_secrets)),
                  Route("index.results", retriever.results, reports="planner", prefetch=retriever.claiming)],
                 timers=[Timer(max(0.05, s.index_timeout_ms / 4000), retriever.sweep, after=retriever.forget_swept)],
                 warmup=retriever.warmup, riders=[rollout.refreshing])


spec = AgentSpec("retriever", routes)
