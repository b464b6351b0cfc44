"""policy.engine and policy.policy_cli on the shipped Cedar policies: every expected decision holds."""

from __future__ import annotations

import pytest

from policy.engine import SHIPPED, Check, PolicyEngine, PolicyError
from policy.policy_cli import load_cases, run_cases
from schemas.models import Classification, Principal

pytestmark = pytest.mark.unit

ENGINE = PolicyEngine.load()


def test_the_shipped_policies_decide_every_shipped_case_as_expected():
    cases = load_cases(SHIPPED / "tests.jsonl")
    assert len(cases) >= 12
    assert run_cases(ENGINE, cases) == []


def test_a_wrong_expectation_is_reported_with_the_deciding_policies():
    cases = load_cases(SHIPPED / "tests.jsonl")
    flipped = [c.__class__(c.line, c.name, c.check, not c.expect, c.policies) for c in cases[:1]]
    out = run_cases(ENGINE, flipped)
    assert out == ["line 1: a user submits for their tenant: expected deny, got allow (policies: submit-own-tenant)"]


def test_the_version_is_the_hash_of_the_text_and_changes_with_it():
    again = PolicyEngine(ENGINE.text, ENGINE.schema_text)
    assert again.version == ENGINE.version and len(ENGINE.version) == 16
    other = PolicyEngine(ENGINE.text + "\n// a comment\n", ENGINE.schema_text)
    assert other.version != ENGINE.version


@pytest.mark.parametrize("text, why", [
    ("permit(principal, action, resource) when { principal.nosuch == 1 };", "do not validate"),
    ('permit(principal, action == Switchboard::Action::"fly", resource);', "do not validate"),
])
def test_policies_that_do_not_validate_are_refused(text, why):
    with pytest.raises(PolicyError, match=why):
        PolicyEngine(text, ENGINE.schema_text)


def test_a_batch_gives_one_verdict_per_check_with_the_deciding_ids():
    dana = Principal(tenant_id="acme", user_id="dana", groups=["eng"], clearance=Classification.internal)
    eve = Principal(tenant_id="acme", user_id="eve", roles=["suspended"])
    checks = [Check(dana, "submit_task", "Task", "t1", {"tenant": "acme"}),
              Check(eve, "submit_task", "Task", "t2", {"tenant": "acme"}),
              Check(dana, "read_document", "Document", "d1", {"tenant": "acme", "groups": ["hr"],
                                                              "classification": 1, "tags": []})]
    verdicts = ENGINE.decide(checks)
    assert [v.allowed for v in verdicts] == [True, False, False]
    assert verdicts[1].policy_ids == ("suspended-users-do-nothing",)
    assert "no policy permits it" in verdicts[2].explain(checks[2])
