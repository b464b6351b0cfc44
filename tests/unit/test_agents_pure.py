"""The pure functions of the agents: planner, retriever, executor and validator, without a bus."""

from __future__ import annotations

import json

import pytest

from agents.executor import Answered, emits_for, needs_of
from agents.planner import completion, rule_plan, start_steps
from agents.retriever import fuse, index_query
from agents.validator import next_attempt, problems, says_no_answer, verdict
from index.corpus import Corpus
from mesh.endpoints import BUILTIN, Endpoint
from mesh.llm import extractive
from mesh.llm.extractive import NO_ANSWER
from mesh.planning.dag import Composed, NodeResult, compose, plan_of_parts
from mesh.settings import Settings
from mesh.wire.envelope import child_envelope, idempotency_key
from policy.access import read_filter
from schemas.models import (
    Citation,
    ErrorKind,
    ExecuteStep,
    RetrievalMode,
    RetrieveStep,
    StepDone,
    StepFailure,
    StepStatus,
    TaskStatus,
    TaskSubmitted,
    TokenUsage,
    ValidateStep,
)
from tests.unit.samples import citation, envelope, passage, principal, usage

pytestmark = pytest.mark.unit

QUESTION = "How long does Kafka keep records?"
HITS = [passage("handbook", 0), passage("runbook", 1, text="Restart brokers one at a time. Check the ISR first.")]
S = Settings(validation_attempts=3, answer_max_tokens=300)


def execute_input(passages=HITS, question=QUESTION, **overrides) -> ExecuteStep:
    return ExecuteStep(envelope=child_envelope(envelope(), "execute", step_id="s1"), question=question,
                       principal=principal(), passages=passages, **overrides)


def validate_input(attempt: int = 0, **overrides) -> ValidateStep:
    values = dict(envelope=child_envelope(envelope(), "validate", step_id="s1", attempt=attempt), question=QUESTION,
                  principal=principal(), passages=HITS,
                  answer="Kafka keeps records for seven days by default. [1]", citations=[citation(HITS[0])],
                  finish_reason="stop", usage=usage(), endpoint="cheap", max_tokens=300)
    values.update(overrides)
    return ValidateStep(**values)


def judge(step: ValidateStep, embed=None):
    found, checked = problems(step, embed, S)
    return found, verdict(step, found, checked, S)


# --- validator ------------------------------------------------------------------------------------

def test_validator_passes_a_grounded_answer():
    step = validate_input()
    found, emit = judge(step)
    assert found == []
    done = emit.record
    assert emit.topic == "steps.done" and done.status is StepStatus.passed
    assert done.answer == step.answer and done.citations == step.citations and done.reasons == []
    assert done.envelope.causation_id == step.envelope.event_id and done.endpoint == "cheap"


def test_validator_no_answer():
    _, emit = judge(validate_input(answer=NO_ANSWER, citations=[], finish_reason="no_context"))
    assert emit.record.status is StepStatus.no_answer and emit.record.reasons == []


def test_an_uncited_refusal_from_a_model_is_a_no_answer():
    step = validate_input(answer="The passages do not answer this question.", citations=[])
    assert says_no_answer(step)
    assert judge(step)[1].record.status is StepStatus.no_answer
    assert not says_no_answer(validate_input(answer="Kafka is fast.", citations=[]))


def test_a_citation_to_a_passage_not_retrieved_is_sent_back():
    forged = Citation(doc_id="payroll", passage_id="payroll#0", title="Payroll")
    found, emit = judge(validate_input(answer="Kafka keeps records for seven days [1]. Payroll is monthly [2].",
                                       citations=[citation(HITS[0]), forged]))
    assert any(r.startswith("bad_citation") and "payroll" in r for r in found)
    assert emit.topic == "steps.execute"


def test_a_marker_naming_no_citation_fails():
    found, _ = judge(validate_input(answer="Kafka keeps records for seven days by default. [3]"))
    assert any("[3] names no retrieved passage" in r for r in found)


def test_truncation_goes_back_with_twice_the_room_avoiding_the_endpoint():
    step = validate_input(finish_reason="length", avoid=["pricey"])
    found, emit = judge(step)
    assert any(r.startswith("truncated") for r in found)
    again = emit.record
    assert emit.topic == "steps.execute" and isinstance(again, ExecuteStep)
    assert again.max_tokens == 600 and again.avoid == ["cheap", "pricey"]
    assert again.envelope.attempt == 1 and again.envelope.step_id == "s1"
    assert again.envelope.idempotency_key == idempotency_key(step.envelope.task_id, "s1", "execute", 1)
    assert again.feedback == found and again.passages == step.passages


def test_each_attempt_has_keys_of_its_own():
    first, second = validate_input(attempt=0), validate_input(attempt=1)
    a = next_attempt(first, ["x"], S).envelope.idempotency_key
    b = next_attempt(second, ["x"], S).envelope.idempotency_key
    assert a != b


def test_an_unsupported_sentence_is_sent_back_then_degraded():
    answer = ("Kafka keeps records for seven days by default. [1] "
              "Kafka was written in Haskell by penguins in Antarctica. [1]")
    found, emit = judge(validate_input(answer=answer))
    assert any(r.startswith("ungrounded") and "Haskell" in r for r in found)
    assert emit.topic == "steps.execute"
    _, last = judge(validate_input(attempt=2, answer=answer))
    done = last.record
    assert last.topic == "steps.done" and done.status is StepStatus.degraded
    assert "Haskell" not in done.answer and "seven days" in done.answer
    assert done.degraded and "could not be verified" in done.degraded
    assert done.citations == [citation(HITS[0])]


def test_a_degraded_answer_with_nothing_verifiable_says_so():
    _, emit = judge(validate_input(attempt=2, answer="Penguins run Kafka. [1]"))
    assert emit.record.status is StepStatus.degraded
    assert "No answer could be verified" in emit.record.answer and emit.record.citations == []


def test_embedding_similarity_can_support_a_paraphrase():
    paraphrase = "By default records stay around for a week. [1]"
    found, _ = judge(validate_input(answer=paraphrase))
    assert any(r.startswith("ungrounded") for r in found)  # few shared terms: lexical support fails
    same = lambda texts: __import__("numpy").ones((len(texts), 2)) / 2 ** 0.5  # noqa: E731 - everything alike
    found, _ = judge(validate_input(answer=paraphrase), embed=same)
    assert found == []


SCHEMA = json.dumps({"type": "object", "required": ["days"], "properties": {"days": {"type": "integer"}}})


def test_structured_output_must_validate_then_fails_typed():
    ok = validate_input(answer='{"days": 7, "source": "[1]"}', output_schema=SCHEMA)
    assert judge(ok)[0] == []
    bad = validate_input(answer='{"days": "seven", "source": "[1]"}', output_schema=SCHEMA)
    found, emit = judge(bad)
    assert any(r.startswith("schema_violation") for r in found) and emit.topic == "steps.execute"
    _, last = judge(validate_input(attempt=2, answer="not json [1]", output_schema=SCHEMA))
    assert last.record.status is StepStatus.failed
    assert any(r.startswith("invalid_json") for r in last.record.reasons)


def test_a_structured_answer_that_never_passes_fails_with_its_failure_as_data():
    _, last = judge(validate_input(attempt=2, answer="not json [1]", output_schema=SCHEMA))
    failure = last.record.failure
    assert (failure.kind, failure.code, failure.agent, failure.policy_ids) == \
        (ErrorKind.semantic, "invalid_json", "validator", [])
    assert "not JSON" in failure.message
    assert judge(validate_input(attempt=2, answer="Penguins run Kafka. [1]"))[1].record.failure is None  # degraded
    assert judge(validate_input())[1].record.failure is None


def test_each_problem_carries_its_code():
    found, _ = judge(validate_input(finish_reason="length", answer="Kafka keeps records [3]. Penguins run it. [1]"))
    assert [p.code for p in found] == ["truncated", "bad_citation", "ungrounded", "ungrounded"]
    found, _ = judge(validate_input(answer='{"days": "seven"}', output_schema=SCHEMA, citations=[]))
    assert [p.code for p in found] == ["schema_violation", "uncited"]


@pytest.mark.parametrize("overrides, reason", [
    (dict(answer="  "), "empty_answer"),
    (dict(citations=[]), "uncited"),
    (dict(answer=NO_ANSWER, finish_reason="no_context"), "bad_citation"),  # a no-context answer that cites
])
def test_validator_other_failures(overrides, reason):
    found, _ = judge(validate_input(**overrides))
    assert any(r.startswith(reason) for r in found), found


# --- executor -------------------------------------------------------------------------------------

def _answered(endpoint: Endpoint = BUILTIN, step: ExecuteStep | None = None) -> Answered:
    out = extractive.answer(QUESTION, (step or execute_input()).passages)
    return Answered(endpoint, out.text, out.citations, out.finish_reason, out.usage, "cheapest")


def test_executor_emits_validate_step_and_token_usage():
    step = execute_input(avoid=["x"], output_schema=None)
    paid = Endpoint(name="paid", base_url="http://m", model="m", cost_in_per_1k=1.0, cost_out_per_1k=2.0)
    emits = emits_for(step, _answered(paid), 300)
    assert [e.topic for e in emits] == ["steps.validate", "usage.tokens"]
    validate, tokens = emits[0].record, emits[1].record
    assert isinstance(validate, ValidateStep) and isinstance(tokens, TokenUsage)
    assert (validate.question, validate.principal, validate.passages) == (step.question, step.principal,
                                                                          step.passages)
    assert (validate.endpoint, validate.route_reason, validate.max_tokens, validate.avoid) == ("paid", "cheapest",
                                                                                           300, ["x"])
    assert validate.envelope.causation_id == step.envelope.event_id
    assert tokens.usage == validate.usage and tokens.user_id == "alice" and tokens.endpoint == "paid"
    u = tokens.usage
    assert tokens.cost_usd == pytest.approx((u.prompt_tokens * 1.0 + u.completion_tokens * 2.0) / 1000)
    assert emits[1].key == "acme" and emits[0].key is None  # usage by tenant, the step by task


def test_executor_output_passes_validation():
    """What the built-in model answers from real context is what the validator accepts."""
    validate = emits_for(execute_input(), _answered(), 300)[0].record
    assert judge(validate)[0] == []


def test_a_structured_step_needs_the_json_capability():
    assert needs_of(execute_input()) == {"answer"}
    assert needs_of(execute_input(output_schema=SCHEMA)) == {"json"}


# --- retriever ------------------------------------------------------------------------------------

def retrieve_input(**overrides) -> RetrieveStep:
    values = dict(envelope=child_envelope(envelope(), "retrieve", step_id="s1"), question=QUESTION,
                  principal=principal(), top_k=7)
    values.update(overrides)
    return RetrieveStep(**values)


def test_index_query_uses_the_steps_key_the_principals_filter_the_allow_list_and_the_corpus_version():
    step = retrieve_input(candidates=40)
    query = index_query(step, Corpus(17, []), ["d1", "d2"], [])
    assert query.query_id == step.envelope.idempotency_key
    assert query.filter == read_filter(step.principal)
    assert query.allow == ["d1", "d2"]
    assert (query.text, query.k, query.version) == (QUESTION, 40, 17)  # dense search sees what BM25 saw
    assert index_query(step, Corpus(17, []), None, []).allow is None
    assert query.envelope.causation_id == step.envelope.event_id


def test_index_query_of_a_redelivered_step_asks_the_same():
    step, corpus = retrieve_input(), Corpus(3, [])
    first, again = index_query(step, corpus, None, []), index_query(step, corpus, None, [])
    assert first.query_id == again.query_id
    assert first.envelope.idempotency_key == again.envelope.idempotency_key


def _p(doc: str, score: float, passage: int = 0) -> tuple[str, str, float]:
    return doc, f"{doc}#{passage}", score


def test_fuse_follows_the_mode():
    lexical, dense = [_p("a", 9.0), _p("b", 5.0)], [_p("b", 0.9), _p("c", 0.8)]
    s = Settings(fusion="rrf")
    assert [d for d, _, _ in fuse(RetrievalMode.lexical, lexical, dense, s)] == ["a", "b"]
    assert [d for d, _, _ in fuse(RetrievalMode.dense, lexical, dense, s)] == ["b", "c"]
    hybrid = [d for d, _, _ in fuse(RetrievalMode.hybrid, lexical, dense, s)]
    assert hybrid[0] == "b" and set(hybrid) == {"a", "b", "c"}  # in both lists: first under RRF
    assert [d for d, _, _ in fuse(RetrievalMode.hybrid, lexical, [], s)] == ["a", "b"]  # no dense: BM25 alone
    dense_heavy = Settings(fusion="convex", fusion_alpha=0.9)
    assert [d for d, _, _ in fuse(RetrievalMode.hybrid, lexical, dense, dense_heavy)][0] == "b"
    lexical_heavy = Settings(fusion="convex", fusion_alpha=0.1)
    assert [d for d, _, _ in fuse(RetrievalMode.hybrid, lexical, dense, lexical_heavy)][0] == "a"


def test_fuse_keeps_the_dense_sides_passage_of_a_document_both_found():
    lexical, dense = [_p("a", 9.0, passage=3)], [_p("a", 0.9, passage=1)]
    fused = fuse(RetrievalMode.hybrid, lexical, dense, Settings(fusion="rrf"))
    assert [(d, p) for d, p, _ in fused] == [("a", "a#1")]


# --- planner --------------------------------------------------------------------------------------

def task(question=QUESTION, **kw) -> TaskSubmitted:
    return TaskSubmitted(envelope=envelope(), question=question, principal=principal(), top_k=9, **kw)


def test_a_simple_question_is_one_chain():
    plan = rule_plan(task(), max_parts=4)
    assert [(n.id, n.question, n.after) for n in plan] == [("s1", QUESTION, ())]


def test_a_compositional_question_is_one_chain_per_part_but_not_when_json_is_asked():
    q = "Compare Kafka retention and Redis persistence"
    assert [n.id for n in rule_plan(task(q), 4)] == ["p1", "p2"]
    assert [n.id for n in rule_plan(task(q, output_schema=SCHEMA), 4)] == ["s1"]


def test_start_steps_names_each_chain_in_its_envelope():
    t = task("Compare Kafka retention and Redis persistence", output_schema=None)
    plan = rule_plan(t, 4)
    steps = start_steps(t, plan, ["p2"])
    assert len(steps) == 1 and steps[0].topic == "steps.retrieve"
    step = steps[0].record
    assert step.envelope.step_id == "p2" and step.question == plan[1].question
    assert step.envelope.idempotency_key == idempotency_key(t.envelope.task_id, "p2", "retrieve")
    assert (step.principal, step.top_k) == (t.principal, 9)
    assert step.envelope.causation_id == t.envelope.event_id


@pytest.mark.parametrize("status, code, kind", [
    (TaskStatus.failed, "invalid_json", ErrorKind.semantic),
    (TaskStatus.timed_out, "deadline_exceeded", ErrorKind.transient),
    (TaskStatus.cancelled, "cancelled", ErrorKind.semantic),
])
def test_completion_carries_a_typed_rejection(status, code, kind):
    composed = Composed(status, "", [], [], None, ["p2"], ["s1: invalid_json: the answer is not JSON"],
                        {"s1": StepFailure(kind=ErrorKind.semantic, code="invalid_json", agent="validator",
                                           message="the answer is not JSON")})
    done = completion(envelope(), composed)
    assert done.status is status and done.rejection.code == code and done.rejection.kind is kind
    assert done.envelope.step_id == "root" and done.unfinished == ["p2"]


def test_the_rejection_of_a_failed_task_is_its_step_failure_exactly():
    failure = StepFailure(kind=ErrorKind.semantic, code="policy_denied", agent="executor",
                          policy_ids=["guests-use-the-builtin-model-only", "night-shift"],
                          message="no endpoint alice may use (these words are never read) [policy set v3]")
    step = StepDone(envelope=child_envelope(envelope(), "done", step_id="s1"), status=StepStatus.failed,
                    usage=usage(), reasons=["budget_exhausted: not this (other-policy)"], failure=failure)
    result = NodeResult(step.status, step.answer, tuple(step.citations), (step.usage,), tuple(step.reasons),
                        step.degraded, step.failure)
    done = completion(envelope(), compose(plan_of_parts(["q"]), {"s1": result}))
    assert done.status is TaskStatus.failed
    r = done.rejection
    assert (r.kind, r.code, r.agent, r.policy_ids, r.message) == (
        ErrorKind.semantic, "policy_denied", "executor", ["guests-use-the-builtin-model-only", "night-shift"],
        failure.message)


def test_the_rejection_of_a_task_whose_every_part_failed_is_the_first_failure():
    crashed = StepFailure(kind=ErrorKind.deterministic, code="handler_crashed", agent="retriever", message="bug")
    invalid = StepFailure(kind=ErrorKind.semantic, code="invalid_json", agent="validator", message="not JSON")
    composed = compose(plan_of_parts(["x", "y"]), {"p1": NodeResult(StepStatus.failed, failure=crashed),
                                                   "p2": NodeResult(StepStatus.failed, failure=invalid)})
    r = completion(envelope(), composed).rejection
    assert (r.kind, r.code, r.agent, r.policy_ids) == (ErrorKind.deterministic, "handler_crashed", "retriever", [])
    assert r.message == "p1: bug; p2: not JSON"


def test_completion_of_an_answer_has_no_rejection():
    composed = Composed(TaskStatus.answered, "x [1]", [citation(HITS[0])], [usage()])
    done = completion(envelope(), composed)
    assert done.rejection is None and done.answer == "x [1]" and done.usage == [usage()]
