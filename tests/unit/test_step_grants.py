"""Step grants: the planner's signature on a task's principal, checked by every agent after it."""

import pytest

from mesh.errors import Unauthorized
from mesh.security import step_grants
from mesh.wire.envelope import new_envelope
from schemas.models import AccessFilter, Classification, IndexQuery, Principal, RetrieveStep

ANA = Principal(tenant_id="acme", user_id="ana")


def step(principal: Principal, grant: str | None, task_id: str = "t1") -> RetrieveStep:
    return RetrieveStep(envelope=new_envelope("acme", "retrieve", task_id=task_id), question="q",
                        principal=principal, grant=grant)


def test_a_grant_holds_for_its_task_and_principal_only():
    grant = step_grants.sign(["k1"], "t1", "acme", ANA)
    step_grants.check(["k1"], step(ANA, grant))
    raised = Principal(tenant_id="acme", user_id="ana", roles=["pii_reader"], groups=["board"],
                       clearance=Classification.restricted)
    for forged in (step(raised, grant), step(ANA, grant, task_id="t2"), step(ANA, "sg1.AAAA")):
        with pytest.raises(Unauthorized) as err:
            step_grants.check(["k1"], forged)
        assert err.value.code == "step_forged"


def test_a_step_without_a_grant_is_refused_when_a_secret_is_set_and_nothing_is_checked_without_one():
    with pytest.raises(Unauthorized) as err:
        step_grants.check(["k1"], step(ANA, None))
    assert err.value.code == "step_unsigned" and "planner" in str(err.value)
    assert step_grants.sign([], "t1", "acme", ANA) is None and step_grants.authority([]) is None


def test_keys_rotate_the_first_signs_every_listed_one_is_accepted():
    old = step_grants.sign(["old"], "t1", "acme", ANA)
    step_grants.authority(["new", "old"])(step(ANA, old))
    assert step_grants.sign(["new", "old"], "t1", "acme", ANA) != old
    with pytest.raises(Unauthorized):
        step_grants.authority(["new"])(step(ANA, old))


def test_an_index_query_is_signed_over_what_it_may_search():
    query = IndexQuery(envelope=new_envelope("acme", "index.query", task_id="t1"), query_id="q1", text="q",
                       filter=AccessFilter(tenant_id="acme"), allow=["d1"], version=7)
    signed = step_grants.signed_query(["k1"], query)
    step_grants.check(["k1"], signed)
    assert step_grants.signed_query([], query).grant is None
    for widened in (signed.model_copy(update={"allow": None}), signed.model_copy(update={"allow": ["d1", "d9"]}),
                    signed.model_copy(update={"version": 3}), signed.model_copy(update={"version": None})):
        with pytest.raises(Unauthorized):
            step_grants.check(["k1"], widened)
