"""The pure functions of the agents: planner, retriever, executor and validator, without a bus."""

from __future__ import annotations

import pytest

from agents.executor import execute
from agents.planner import STEP, completion_status, first_step
from agents.retriever import fuse, index_query
from mesh.settings import Settings
from schemas.models import Passage, RetrievalMode
from agents.validator import problems, verdict
from mesh.envelope import child_envelope, idempotency_key
from mesh.extractive import NO_ANSWER
from policy.access import read_filter
from schemas.models import (Citation, ExecuteStep, RetrieveStep, StepStatus, TaskStatus, TaskSubmitted,
                            TokenUsage, ValidateStep)
from tests.unit.samples import citation, envelope, passage, principal, usage

pytestmark = pytest.mark.unit

QUESTION = "How long does Kafka keep records?"
HITS = [passage("handbook", 0), passage("runbook", 1, text="Restart brokers one at a time. Check the ISR first.")]


def execute_input(passages=HITS, question=QUESTION) -> ExecuteStep:
    return ExecuteStep(envelope=child_envelope(envelope(), "execute", step_id="s1"), question=question,
                       principal=principal(), passages=passages)


def validate_input(**overrides) -> ValidateStep:
    values = dict(envelope=child_envelope(envelope(), "validate", step_id="s1"), question=QUESTION,
                  principal=principal(), passages=HITS,
                  answer="Kafka keeps records for seven days by default. [1]", citations=[citation(HITS[0])],
                  finish_reason="stop", usage=usage())
    values.update(overrides)
    return ValidateStep(**values)


# --- validator ------------------------------------------------------------------------------------

def test_validator_passes_a_grounded_answer():
    step = validate_input()
    assert problems(step) == []
    done = verdict(step)
    assert done.status is StepStatus.passed
    assert done.answer == step.answer and done.citations == step.citations and done.reasons == []
    assert done.envelope.causation_id == step.envelope.event_id
    assert done.envelope.task_id == step.envelope.task_id


def test_validator_no_answer():
    done = verdict(validate_input(answer=NO_ANSWER, citations=[], finish_reason="no_context"))
    assert done.status is StepStatus.no_answer and done.reasons == []


def test_validator_fails_a_citation_to_a_passage_not_retrieved():
    forged = Citation(doc_id="payroll", passage_id="payroll#0", title="Payroll")
    done = verdict(validate_input(citations=[citation(HITS[0]), forged]))
    assert done.status is StepStatus.failed
    assert any(r.startswith("bad_citation") and "payroll" in r for r in done.reasons)
    assert done.citations == []  # a failed step passes on no citations


def test_validator_fails_a_citation_to_the_right_document_but_another_passage():
    done = verdict(validate_input(citations=[Citation(doc_id="handbook", passage_id="handbook#7")]))
    assert done.status is StepStatus.failed


def test_validator_fails_truncation():
    done = verdict(validate_input(finish_reason="length"))
    assert done.status is StepStatus.failed
    assert any(r.startswith("truncated") for r in done.reasons)


@pytest.mark.parametrize("overrides, reason", [
    (dict(answer="  "), "empty_answer"),
    (dict(citations=[]), "uncited"),
    (dict(answer=NO_ANSWER, finish_reason="no_context"), "bad_citation"),  # a no-context answer that cites
])
def test_validator_other_failures(overrides, reason):
    done = verdict(validate_input(**overrides))
    assert done.status is StepStatus.failed
    assert any(r.startswith(reason) for r in done.reasons), done.reasons


# --- executor -------------------------------------------------------------------------------------

def test_executor_emits_validate_step_and_token_usage():
    step = execute_input()
    emits = execute(step)
    assert [e.topic for e in emits] == ["steps.validate", "usage.tokens"]
    validate, tokens = emits[0].record, emits[1].record
    assert isinstance(validate, ValidateStep) and isinstance(tokens, TokenUsage)
    assert (validate.question, validate.principal, validate.passages) == (step.question, step.principal,
                                                                          step.passages)
    assert validate.envelope.causation_id == step.envelope.event_id
    assert tokens.usage == validate.usage and tokens.user_id == "alice"
    assert validate.envelope.idempotency_key != tokens.envelope.idempotency_key


def test_executor_keys_token_usage_by_tenant_and_the_step_by_task():
    emits = execute(execute_input())
    assert emits[1].key == "acme"
    assert emits[0].key is None  # default: the task id


def test_executor_output_passes_validation():
    """What the built-in model answers from real context is what the validator accepts."""
    validate = execute(execute_input())[0].record
    assert validate.finish_reason == "stop"
    assert verdict(validate).status is StepStatus.passed


def test_executor_without_context_gives_a_no_answer_the_validator_accepts():
    validate = execute(execute_input(passages=[]))[0].record
    assert validate.answer == NO_ANSWER and validate.finish_reason == "no_context"
    assert verdict(validate).status is StepStatus.no_answer


# --- retriever ------------------------------------------------------------------------------------

def retrieve_input(**overrides) -> RetrieveStep:
    values = dict(envelope=child_envelope(envelope(), "retrieve", step_id="s1"), question=QUESTION,
                  principal=principal(), top_k=7)
    values.update(overrides)
    return RetrieveStep(**values)


def test_index_query_uses_the_steps_key_the_principals_filter_and_the_allow_list():
    step = retrieve_input(candidates=40)
    query = index_query(step, ["d1", "d2"])
    assert query.query_id == step.envelope.idempotency_key
    assert query.filter == read_filter(step.principal)
    assert query.allow == ["d1", "d2"]
    assert (query.text, query.k) == (QUESTION, 40)
    assert index_query(step, None).allow is None
    assert query.envelope.causation_id == step.envelope.event_id


def test_index_query_of_a_redelivered_step_asks_the_same():
    step = retrieve_input()
    assert index_query(step, None).query_id == index_query(step, None).query_id
    assert index_query(step, None).envelope.idempotency_key == index_query(step, None).envelope.idempotency_key


def _p(doc: str, score: float) -> Passage:
    return Passage(doc_id=doc, passage_id=f"{doc}#0", text=f"text of {doc}", score=score)


def test_fuse_follows_the_mode():
    lexical, dense = [_p("a", 9.0), _p("b", 5.0)], [_p("b", 0.9), _p("c", 0.8)]
    s = Settings(fusion="rrf")
    assert [p.doc_id for p in fuse(RetrievalMode.lexical, lexical, dense, s)] == ["a", "b"]
    assert [p.doc_id for p in fuse(RetrievalMode.dense, lexical, dense, s)] == ["b", "c"]
    hybrid = [p.doc_id for p in fuse(RetrievalMode.hybrid, lexical, dense, s)]
    assert hybrid[0] == "b" and set(hybrid) == {"a", "b", "c"}  # in both lists: first under RRF
    assert [p.doc_id for p in fuse(RetrievalMode.hybrid, lexical, [], s)] == ["a", "b"]  # no dense: BM25 alone
    dense_heavy = Settings(fusion="convex", fusion_alpha=0.9)
    assert [p.doc_id for p in fuse(RetrievalMode.hybrid, lexical, dense, dense_heavy)][0] == "b"
    lexical_heavy = Settings(fusion="convex", fusion_alpha=0.1)
    assert [p.doc_id for p in fuse(RetrievalMode.hybrid, lexical, dense, lexical_heavy)][0] == "a"


# --- planner --------------------------------------------------------------------------------------

def test_first_step():
    task = TaskSubmitted(envelope=envelope(), question=QUESTION, principal=principal(), top_k=9)
    step = first_step(task)
    assert isinstance(step, RetrieveStep)
    assert step.envelope.step_id == STEP
    assert step.envelope.causation_id == task.envelope.event_id
    assert step.envelope.task_id == task.envelope.task_id
    assert step.envelope.idempotency_key == idempotency_key(task.envelope.task_id, STEP, "retrieve")
    assert (step.question, step.principal, step.top_k) == (QUESTION, task.principal, 9)


@pytest.mark.parametrize("step, task", [(StepStatus.passed, TaskStatus.answered),
                                        (StepStatus.no_answer, TaskStatus.no_answer),
                                        (StepStatus.failed, TaskStatus.failed)])
def test_completion_status(step, task):
    assert completion_status(step) is task
