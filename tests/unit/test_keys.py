"""mesh.io.keys.Keys: every Redis key of the project, byte for byte, under a sample prefix.

Stored keys outlive a release: a changed name silently loses the data under the old one (budgets,
breakers, audit heads, data keys), so each name is pinned here.
"""

from __future__ import annotations

import inspect
from datetime import datetime, timezone

import pybreaker
import pytest
from redis.crc import key_slot

from mesh.errors import InvalidInput
from mesh.io.keys import Keys

pytestmark = pytest.mark.unit

K = Keys("sb:")
NOW = datetime(2026, 3, 7, 9, 5, 59, tzinfo=timezone.utc)

EXPECTED = {
    "ledger": (K.ledger("executor", "acme", "t1/s1#0"), "sb:t:{acme}:idem:executor:t1/s1#0"),
    "task": (K.task("acme", "t1"), "sb:t:{acme}:task:t1"),
    "masks": (K.masks("acme", "t1"), "sb:t:{acme}:task:t1:masks"),
    "pending": (K.pending("retriever", "q1"), "sb:pending:retriever:{q1}"),
    "pending_claim": (K.pending_claim("retriever", "q1"), "sb:pending:retriever:{q1}:claim"),
    "deadlines": (K.deadlines("planner"), "sb:deadlines:planner"),
    "heartbeat": (K.heartbeat("index", "4242"), "sb:agents:index:4242"),
    "heartbeats": (K.heartbeats(), "sb:agents:*"),
    "docs": (K.docs("acme"), "sb:t:{acme}:docs"),
    "docs_version": (K.docs_version("acme"), "sb:t:{acme}:docs:version"),
    "all_docs": (K.all_docs(), "sb:t:{*}:docs"),
    "tenant_docs": (K.tenant_docs("acme"), "sb:t:{acme}:docs*"),
    "dlq_replayed": (K.dlq_replayed(), "sb:dlq:replayed"),
    "breaker": (K.breaker("cheap"), "sb:breaker:{cheap}"),
    "breaker_state": (K.breaker_state("cheap"), "sb:breaker:{cheap}:pybreaker:state"),
    "breaker_opened_at": (K.breaker_opened_at("cheap"), "sb:breaker:{cheap}:pybreaker:opened_at"),
    "breaker_failures": (K.breaker_failures("cheap"), "sb:breaker:{cheap}:pybreaker:fail_counter"),
    "route": (K.route("cheap"), "sb:route:{cheap}"),
    "route_in_flight": (K.route_in_flight("cheap"), "sb:route:{cheap}:inflight"),
    "deks": (K.deks(), "sb:deks"),
    "detections": (K.detections("acme", "fp1", "ab12"), "sb:t:{acme}:pii:fp1:ab12"),
    "detections_swept": (K.detections_swept("acme", "fp1"), "sb:t:{acme}:pii:fp1:swept"),
    "embedding": (K.embedding("acme", "c0ffee"), "sb:t:{acme}:emb:c0ffee"),
    "budget": (K.budget("acme"), "sb:t:{acme}:budget"),
    "budget_spent": (K.budget_spent("acme", "2026-03-07"), "sb:t:{acme}:budget:2026-03-07"),
    "budget_held": (K.budget_held("acme", "2026-03"), "sb:t:{acme}:budget:2026-03:held"),
    "budget_rate": (K.budget_rate("acme", NOW), "sb:t:{acme}:budget:rate:202603070905"),
    "policy_sets": (K.policy_sets(), "sb:{policy}:sets"),
    "policy_active": (K.policy_active(), "sb:{policy}:active"),
    "policy_candidate": (K.policy_candidate(), "sb:{policy}:candidate"),
    "policy_history": (K.policy_history(), "sb:{policy}:history"),
    "policy_diff": (K.policy_diff("v7"), "sb:{policy}:diff:v7"),
    "policies": (K.policies(), "sb:{policy}:*"),
    "audit_head": (K.audit_head("acme"), "sb:t:{acme}:audit:head"),
    "audit_record": (K.audit_record("acme", "t1/audit#0"), "sb:t:{acme}:audit:rec:t1/audit#0"),
    "audit_heads": (K.audit_heads(), "sb:t:{*}:audit:head"),
    "replicated": (K.replicated(), "sb:replicated"),  # under Cluster: K.replicated("acme") == "sb:replicated:{acme}"
    "replay_prefix": (K.replay_prefix("ab12cd34"), "sb:replay:ab12cd34:"),
    "rebuild_prefix": (K.rebuild_prefix(), "sb:rebuild:"),
}
PARSERS = {"tenant_of_task", "tenant_of_docs", "agent_of_heartbeat", "instance_of_heartbeat", "tenant_of_audit_head", "shared", "moved",
           "retagged"}

#: the names of a release without hash tags, and what they are now
BEFORE_TAGS = {
    "sb:t:acme:idem:executor:t1/s1#0": K.ledger("executor", "acme", "t1/s1#0"),
    "sb:t:acme:task:t1": K.task("acme", "t1"),
    "sb:t:acme:task:t1:masks": K.masks("acme", "t1"),
    "sb:t:a:b:docs": K.docs("a:b"),
    "sb:t:acme:docs:version": K.docs_version("acme"),
    "sb:t:acme:pii:fp1:ab12": K.detections("acme", "fp1", "ab12"),
    "sb:t:acme:emb:c0ffee": K.embedding("acme", "c0ffee"),
    "sb:t:acme:budget": K.budget("acme"),
    "sb:t:acme:budget:2026-03:held": K.budget_held("acme", "2026-03"),
    "sb:t:acme:budget:rate:202603070905": K.budget_rate("acme", NOW),
    "sb:t:acme:audit:head": K.audit_head("acme"),
    "sb:t:task:x:audit:rec:t1/audit#0": K.audit_record("task:x", "t1/audit#0"),
    "sb:breaker:cheap:pybreaker:state": K.breaker_state("cheap"),
    "sb:breaker:a:b:pybreaker:fail_counter": K.breaker_failures("a:b"),
    "sb:route:cheap": K.route("cheap"),
    "sb:route:cheap:inflight": K.route_in_flight("cheap"),
    "sb:pending:retriever:q1": K.pending("retriever", "q1"),
    "sb:pending:retriever:q1:claim": K.pending_claim("retriever", "q1"),
    "sb:pending:planner:deadlines": K.deadlines("planner"),
    "sb:policy:sets": K.policy_sets(),
    "sb:policy:diff:v7": K.policy_diff("v7"),
}


@pytest.mark.parametrize("method", sorted(EXPECTED))
def test_each_key_is_exactly_what_is_stored(method):
    made, expected = EXPECTED[method]
    assert made == expected


def test_every_key_method_is_pinned_here():
    methods = {name for name, _ in inspect.getmembers(Keys, inspect.isfunction) if not name.startswith("_")}
    assert methods == set(EXPECTED) | PARSERS


@pytest.mark.parametrize("tenant", ["acme", "a:b", "t:task:x", "a:task:b"])
def test_parsers_give_back_what_the_key_was_made_of(tenant):
    assert K.tenant_of_task(K.task(tenant, "t1")) == tenant
    assert K.tenant_of_audit_head(K.audit_head(tenant)) == tenant
    assert K.tenant_of_docs(K.docs(tenant)) == tenant
    assert K.agent_of_heartbeat(K.heartbeat("retriever", "77")) == "retriever"
    assert K.instance_of_heartbeat(K.heartbeat("retriever", "77")) == "77"


def test_shared_keys_are_under_the_cache_prefix_when_one_is_set():
    assert K.shared(None) is K and K.shared("") is K
    assert K.shared("live:").deks() == "live:deks"
    assert K.shared("live:").embedding("acme", "c") == "live:t:{acme}:emb:c"


def test_a_key_moves_to_another_namespace_with_its_name():
    ns = Keys(K.replay_prefix("r1"))
    assert K.moved(K.docs("acme"), ns) == "sb:replay:r1:t:{acme}:docs" == ns.docs("acme")
    assert K.moved(K.policy_active(), ns) == ns.policy_active()


def test_breaker_keys_are_where_pybreaker_keeps_its_state():
    storage = object.__new__(pybreaker.CircuitRedisStorage)  # its constructor writes to Redis
    storage._namespace_name = K.breaker("cheap")
    assert storage._namespace("state") == K.breaker_state("cheap")
    assert storage._namespace("opened_at") == K.breaker_opened_at("cheap")
    assert storage._namespace("fail_counter") == K.breaker_failures("cheap")


def test_a_mark_under_cluster_is_in_the_slot_of_the_tag_it_is_given():
    assert K.replicated("acme") == "sb:replicated:{acme}"
    assert key_slot(K.replicated("acme").encode()) == key_slot(K.ledger("executor", "acme", "x").encode())


@pytest.mark.parametrize("tenant", ["acme", "a:b", "t:task:x", "0"])
def test_what_is_touched_together_shares_a_slot(tenant):
    """Every group of keys a script or transaction touches at once hashes to one Redis Cluster slot."""
    groups = {
        "tenant": [K.ledger("executor", tenant, "k"), K.task(tenant, "t1"), K.masks(tenant, "t1"), K.docs(tenant),
                   K.docs_version(tenant), K.detections(tenant, "f", "d"), K.embedding(tenant, "c"),
                   K.budget(tenant), K.budget_spent(tenant, "2026-03"), K.budget_held(tenant, "2026-03"),
                   K.budget_rate(tenant, NOW), K.audit_head(tenant), K.audit_record(tenant, "t1/audit#0"),
                   K.moved(K.docs(tenant), Keys(K.rebuild_prefix()))],
        "breaker": [K.breaker_state(tenant), K.breaker_opened_at(tenant), K.breaker_failures(tenant)],
        "route": [K.route(tenant), K.route_in_flight(tenant)],
        "parked": [K.pending("retriever", tenant), K.pending_claim("retriever", tenant)],
        "policy": [K.policy_sets(), K.policy_active(), K.policy_candidate(), K.policy_history(), K.policy_diff("v1")],
    }
    for name, keys in groups.items():
        assert len({key_slot(k.encode()) for k in keys}) == 1, name


def test_tenants_spread_over_slots():
    assert len({key_slot(K.task(f"tenant-{i}", "t").encode()) for i in range(50)}) > 40


@pytest.mark.parametrize("make", [lambda: Keys("sb{1}:"), lambda: K.task("}x", "t1"), lambda: K.budget("{x"),
                                  lambda: K.breaker_state("a}b"), lambda: K.route("{r}"), lambda: K.pending("r", "q}")])
def test_a_brace_where_a_key_takes_it_for_a_hash_tag_is_refused(make):
    """``}x`` as a tenant would end its tag at once, and Redis would hash each of its keys whole."""
    with pytest.raises(InvalidInput, match="Redis Cluster reads braces"):
        make()


@pytest.mark.parametrize("old", sorted(BEFORE_TAGS))
def test_a_key_of_a_release_without_hash_tags_gets_its_name_now(old):
    """``switchboard redis retag`` renames by this: tenants with ``:`` in their id are known by their data keys."""
    assert K.retagged(old, tenants=["a:b", "task:x"]) == BEFORE_TAGS[old]


@pytest.mark.parametrize("key", [K.deks(), K.heartbeat("index", "1"), K.dlq_replayed(), K.replicated(),
                                 K.task("acme", "t1"), K.policy_active(), "other:t:acme:task:t1"])
def test_keys_whose_names_did_not_change_are_left_alone(key):
    assert K.retagged(key) is None
