"""mesh.planning.dag: validating plans (a model's included) and composing the answers of their chains."""

from __future__ import annotations

import json

import pytest

from mesh.planning.dag import (
    Node,
    NodeResult,
    PlanError,
    compose,
    plan_from_json,
    plan_of_parts,
    renumber,
    validate_plan,
)
from schemas.models import Citation, ErrorKind, StepFailure, StepStatus, TaskStatus, Usage

pytestmark = pytest.mark.unit

LIMITS = dict(max_nodes=4, max_question_chars=200)
A, B, C = (Citation(doc_id=d, passage_id=f"{d}#0", title=d.upper()) for d in "abc")


def test_plan_of_parts():
    assert plan_of_parts(["q"]) == (Node("s1", "q"),)
    assert plan_of_parts(["x", "y"]) == (Node("p1", "x"), Node("p2", "y"))


def test_a_models_plan_is_parsed_and_checked():
    text = '```json\n{"steps": [{"id": "p1", "question": "What is X?"}, ' \
           '{"id": "p2", "question": "How does X affect Y?", "after": ["p1"]}]}\n```'
    assert plan_from_json(text, **LIMITS) == (Node("p1", "What is X?"), Node("p2", "How does X affect Y?", ("p1",)))


@pytest.mark.parametrize("steps, why", [
    ([], "no steps"),
    ([{"id": f"p{i}", "question": "q"} for i in range(5)], "at most 4"),
    ([{"id": "a", "question": "q", "after": ["b"]}, {"id": "b", "question": "q", "after": ["a"]}], "cycle"),
    ([{"id": "a", "question": "q", "after": ["a"]}], "cycle"),
    ([{"id": "a", "question": "q", "after": ["zz"]}], "unknown steps"),
    ([{"id": "a", "question": "q"}, {"id": "a", "question": "r"}], "repeat"),
    ([{"id": "a b", "question": "q"}], "letters"),
    ([{"id": "root", "question": "q"}], "letters"),
    ([{"id": "a", "question": "  "}], "empty question"),
    ([{"id": "a", "question": "x" * 201}], "over 200"),
])
def test_bad_plans_are_refused_with_the_reason(steps, why):
    with pytest.raises(PlanError, match=why):
        plan_from_json(json.dumps({"steps": steps}), **LIMITS)


@pytest.mark.parametrize("text", ["not json", '{"plan": []}', '{"steps": [{"question": "q"}]}', "[1, 2]"])
def test_a_plan_that_is_not_a_plan_is_refused(text):
    with pytest.raises(PlanError):
        plan_from_json(text, **LIMITS)


def test_a_diamond_is_a_dag():
    plan = (Node("a", "q"), Node("b", "q", ("a",)), Node("c", "q", ("a",)), Node("d", "q", ("b", "c")))
    assert validate_plan(plan, **LIMITS) == plan


def test_renumber_merges_citations():
    merged = [B]
    assert renumber("x [1] y [2] z [9]", [A, B], merged) == "x [2] y [1] z [9]"
    assert merged == [B, A]


def ok(answer: str, *cites: Citation, tokens: int = 10) -> NodeResult:
    return NodeResult(StepStatus.passed, answer, cites, (Usage(model="m", prompt_tokens=tokens),))


def test_one_chain_is_the_answer_itself():
    plan = plan_of_parts(["q"])
    out = compose(plan, {"s1": ok("Seven days. [1]", A)})
    assert (out.status, out.answer, out.citations, out.degraded) == (TaskStatus.answered, "Seven days. [1]", [A], None)


def test_parts_are_composed_with_one_citation_list():
    plan = plan_of_parts(["What is X?", "What is Y?"])
    out = compose(plan, {"p1": ok("X is a [1] and b [2].", A, B), "p2": ok("Y is c [1] and b [2].", C, B, tokens=5)})
    assert out.status is TaskStatus.answered
    assert out.answer == "What is X? X is a [1] and b [2].\n\nWhat is Y? Y is c [3] and b [2]."
    assert out.citations == [A, B, C]
    assert [u.prompt_tokens for u in out.usage] == [10, 5]


def test_a_failed_part_degrades_the_task_and_is_named():
    plan = plan_of_parts(["What is X?", "What is Y?"])
    failed = NodeResult(StepStatus.failed, reasons=("invalid_json: nope",))
    out = compose(plan, {"p1": ok("X. [1]", A), "p2": failed})
    assert out.status is TaskStatus.degraded and "What is Y? could not be answered" in out.degraded
    assert out.answer == "What is X? X. [1]" and out.reasons == ["p2: invalid_json: nope"]


def test_every_part_failed_is_a_failure():
    plan = plan_of_parts(["x", "y"])
    failed = NodeResult(StepStatus.failed, reasons=("no_route: too big",))
    assert compose(plan, {"p1": failed, "p2": failed}).status is TaskStatus.failed


def test_no_answer_parts():
    plan = plan_of_parts(["What is X?", "What is Y?"])
    none = NodeResult(StepStatus.no_answer, "I found nothing.")
    assert compose(plan, {"p1": none, "p2": none}).status is TaskStatus.no_answer
    mixed = compose(plan, {"p1": ok("X. [1]", A), "p2": none})
    assert mixed.status is TaskStatus.answered and "What is Y? No document you may read answers this." in mixed.answer


def test_a_timed_out_task_keeps_what_finished_and_names_the_rest():
    plan = plan_of_parts(["What is X?", "What is Y?"])
    out = compose(plan, {"p1": ok("X. [1]", A)}, closed=TaskStatus.timed_out)
    assert out.status is TaskStatus.timed_out and out.unfinished == ["p2"]
    assert out.answer == "What is X? X. [1]" and "unfinished: p2" in out.degraded
    cancelled = compose(plan_of_parts(["q"]), {}, closed=TaskStatus.cancelled)
    assert cancelled.status is TaskStatus.cancelled and cancelled.unfinished == ["s1"] and cancelled.answer == ""


def test_node_results_round_trip_through_json():
    r = NodeResult(StepStatus.degraded, "a [1]", (A,), (Usage(model="m", completion_tokens=3),), ("why",), "note")
    assert NodeResult.from_json(r.to_json()) == r


DENIED = StepFailure(kind=ErrorKind.semantic, code="policy_denied", agent="executor", policy_ids=["guests"],
                     message="no endpoint you may use (guests)")


def test_failures_are_composed_as_data_by_node():
    plan = plan_of_parts(["What is X?", "What is Y?", "What is Z?"])
    denied = NodeResult(StepStatus.failed, reasons=("policy_denied: no endpoint you may use (guests)",), failure=DENIED)
    out = compose(plan, {"p1": ok("X. [1]", A), "p2": denied, "p3": denied})
    assert out.failures == {"p2": DENIED, "p3": DENIED}
    single = compose(plan_of_parts(["q"]), {"s1": denied})
    assert single.status is TaskStatus.failed and single.failures == {"s1": DENIED}
    assert compose(plan, {"p1": ok("X. [1]", A)}).failures == {}


def test_a_failed_node_reported_without_a_failure_is_a_step_failed_and_its_reasons_are_not_read():
    out = compose(plan_of_parts(["q"]), {"s1": NodeResult(StepStatus.failed, reasons=("policy_denied: no (a, b)",))})
    assert out.failures["s1"] == StepFailure(kind=ErrorKind.semantic, code="step_failed", agent="",
                                             message="policy_denied: no (a, b)")


def test_node_results_keep_their_failure_through_json_and_read_checkpoints_written_before_it():
    r = NodeResult(StepStatus.failed, reasons=("why",), failure=DENIED)
    assert NodeResult.from_json(r.to_json()) == r
    old = json.dumps({"status": "failed", "answer": "", "citations": [], "usage": [], "reasons": ["why"],
                      "degraded": None})
    assert NodeResult.from_json(old) == NodeResult(StepStatus.failed, reasons=("why",))
