"""policy.admission.admit: which tasks the planner accepts, and the typed reason for the rest."""

from __future__ import annotations

import pytest

from mesh.errors import SemanticError
from policy.admission import admit
from schemas.models import ErrorKind, TaskSubmitted
from tests.unit.samples import envelope, principal

pytestmark = pytest.mark.unit

NOW = 1_700_000_000_000
LIMIT = 100


def task(question="How long does Kafka keep records?", tenant="acme", deadline_ms=None) -> TaskSubmitted:
    return TaskSubmitted(envelope=envelope(), question=question, principal=principal(tenant_id=tenant),
                         deadline_ms=deadline_ms)


def check(t: TaskSubmitted) -> None:
    admit(t, max_question_chars=LIMIT, now_ms=NOW)


@pytest.mark.parametrize("t", [
    task(),
    task(deadline_ms=NOW + 1),
    task(question="x" * LIMIT),  # exactly at the limit
], ids=["plain", "deadline_ahead", "at_limit"])
def test_accepts_a_good_task(t):
    assert check(t) is None


@pytest.mark.parametrize("t, code", [
    (task(tenant="globex"), "tenant_mismatch"),
    (task(question="   \n\t "), "empty_question"),
    (task(question="x" * (LIMIT + 1)), "question_too_long"),
    (task(deadline_ms=NOW), "deadline_passed"),
    (task(deadline_ms=NOW - 60_000), "deadline_passed"),
], ids=["tenant", "blank", "too_long", "deadline_now", "deadline_past"])
def test_refuses_with_code(t, code):
    with pytest.raises(SemanticError) as info:
        check(t)
    assert info.value.code == code
    assert info.value.kind is ErrorKind.semantic and not info.value.retriable


def test_too_long_message_says_how_to_fix_it():
    with pytest.raises(SemanticError, match="SWITCHBOARD_MAX_QUESTION_CHARS"):
        check(task(question="x" * (LIMIT + 1)))


@pytest.mark.parametrize("question, code", [
    ("\x00\x00\x00", "question_without_words"),
    ("?!? ...", "question_without_words"),
    ("a\rb", "question_control_characters"),
    ("what is\u202e x", "question_control_characters"),
    ("see \x1b]0;pwned\x07 here", "question_control_characters"),
], ids=["nul_bytes", "punctuation", "carriage_return", "bidi_override", "osc_sequence"])
def test_refuses_a_question_another_client_did_not_normalise(question, code):
    """The planner takes the question as the client sent it, or refuses it with the reason: a control or
    direction character never reaches a prompt, and a question with no word is not answered."""
    with pytest.raises(SemanticError) as info:
        check(task(question=question))
    assert info.value.code == code and "question" in info.value.message
