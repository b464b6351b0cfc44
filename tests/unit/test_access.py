"""AccessFilter.permits and policy.access.read_filter: tenant, clearance and groups."""

from __future__ import annotations

import pytest

from policy.access import read_filter
from schemas.models import AccessAttributes, AccessFilter, Classification, Principal

pytestmark = pytest.mark.unit

C = Classification


def doc(tenant="acme", groups=(), classification=C.internal) -> AccessAttributes:
    return AccessAttributes(tenant_id=tenant, groups=list(groups), classification=classification)


def test_classification_ranks_in_order():
    assert [c.rank for c in (C.public, C.internal, C.confidential, C.restricted)] == [0, 1, 2, 3]


@pytest.mark.parametrize("access, allowed", [
    (doc(), True),
    (doc(tenant="globex"), False),  # another tenant, everything else fine
    (doc(tenant="globex", classification=C.public), False),  # even public documents of another tenant
    (doc(classification=C.public), True),
    (doc(classification=C.confidential), True),  # at clearance
    (doc(classification=C.restricted), False),  # above clearance
    (doc(groups=["finance"]), True),  # a shared group
    (doc(groups=["finance", "legal"]), True),  # one shared group is enough
    (doc(groups=["legal"]), False),  # no shared group
    (doc(groups=["finance"], classification=C.restricted), False),  # group does not lift clearance
])
def test_permits(access, allowed):
    f = AccessFilter(tenant_id="acme", groups=["finance", "ops"], clearance=C.confidential)
    assert f.permits(access) is allowed


def test_document_without_groups_is_readable_by_the_whole_tenant():
    no_groups = AccessFilter(tenant_id="acme", groups=[], clearance=C.internal)
    assert no_groups.permits(doc()) is True
    assert no_groups.permits(doc(groups=["finance"])) is False


@pytest.mark.parametrize("clearance", list(C))
def test_clearance_admits_exactly_the_ranks_at_or_below(clearance):
    f = AccessFilter(tenant_id="acme", clearance=clearance)
    assert [f.permits(doc(classification=c)) for c in C] == [c.rank <= clearance.rank for c in C]


def test_read_filter_from_principal():
    p = Principal(tenant_id="acme", user_id="alice", groups=["ops", "finance", "ops"], clearance=C.restricted)
    f = read_filter(p)
    assert f == AccessFilter(tenant_id="acme", groups=["finance", "ops"], clearance=C.restricted)


def test_read_filter_defaults_to_internal_clearance():
    f = read_filter(Principal(tenant_id="acme", user_id="bob"))
    assert f.clearance is C.internal and f.groups == []
    assert f.permits(doc()) and not f.permits(doc(classification=C.confidential))


def test_read_filter_never_reaches_another_tenant():
    f = read_filter(Principal(tenant_id="acme", user_id="root", groups=["admins"], clearance=C.restricted))
    assert not f.permits(doc(tenant="globex", groups=["admins"], classification=C.public))


# --- the allow-list from the Cedar policies --------------------------------------------------------

def _docs():
    from itertools import product

    out = []
    for i, (tenant, groups, cls) in enumerate(product(["acme", "globex"], [[], ["hr"], ["eng", "ops"]],
                                                      list(Classification))):
        out.append((f"d{i}", AccessAttributes(tenant_id=tenant, groups=groups, classification=cls)))
    return out


@pytest.mark.parametrize("principal", [
    Principal(tenant_id="acme", user_id="a"),
    Principal(tenant_id="acme", user_id="b", groups=["hr"], clearance=Classification.confidential),
    Principal(tenant_id="acme", user_id="c", groups=["ops"], clearance=Classification.restricted),
    Principal(tenant_id="globex", user_id="d", clearance=Classification.public),
    Principal(tenant_id="acme", user_id="e", roles=["suspended"], clearance=Classification.restricted),
])
def test_the_policies_allow_list_is_the_attribute_rule_and_grouping_changes_nothing(principal):
    from policy.access import readable
    from policy.engine import PolicyEngine

    engine = PolicyEngine.load()
    assert not engine.names_documents
    docs = _docs()
    got = readable(engine, principal, docs)
    suspended = "suspended" in principal.roles
    assert got == ([] if suspended else [d for d, a in docs if read_filter(principal).permits(a)])
    per_doc = PolicyEngine(engine.text + '\n@id("one-named-doc")\npermit(principal, action, resource == '
                           'Switchboard::Document::"d0");\n', engine.schema_text)
    assert per_doc.names_documents  # a policy naming a document: decided document by document
    extra = readable(per_doc, principal, docs)
    assert set(extra) == set(got) | ({"d0"} if not suspended else set())
