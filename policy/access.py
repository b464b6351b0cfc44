"""What a principal may read, decided by the Cedar policies before any search runs.

``readable`` asks the policies ``read_document`` for the tenant's documents in one batch. When no
policy names a document by id (the engine can tell), documents with the same access attributes
get the same decision, so it asks once per distinct set of attributes (tenant, groups,
classification, tags): a corpus of thousands of documents with a few dozen access profiles costs
a few dozen decisions. The result is the allow-list both BM25 and the dense search run under, so
restricted documents never enter scoring.

``read_filter`` is the same rule as an attribute filter, for the index agent's query message.
"""

from __future__ import annotations

from collections.abc import Iterable

from policy.engine import Check, PolicyEngine
from schemas.models import AccessAttributes, AccessFilter, Principal

__all__ = ["read_filter", "readable"]


def read_filter(principal: Principal) -> AccessFilter:
    """The documents ``principal`` may read: its tenant's, within its clearance and groups."""
    return AccessFilter(tenant_id=principal.tenant_id, groups=sorted(set(principal.groups)),
                        clearance=principal.clearance)


def _attrs(access: AccessAttributes, tags: tuple[str, ...] = ()) -> dict:
    return {"tenant": access.tenant_id, "groups": sorted(access.groups), "classification": access.classification.rank,
            "tags": list(tags)}


def readable(engine: PolicyEngine, principal: Principal, docs: Iterable[tuple[str, AccessAttributes]]) -> list[str]:
    """The ids of ``docs`` the policies let ``principal`` read, in the order given."""
    docs = list(docs)
    if engine.names_documents:
        checks = [Check(principal, "read_document", "Document", d, _attrs(a)) for d, a in docs]
        return [d for (d, _), v in zip(docs, engine.decide(checks)) if v.allowed]
    profiles: dict[tuple, int] = {}
    for _, a in docs:
        profiles.setdefault((a.tenant_id, tuple(sorted(a.groups)), a.classification), len(profiles))
    checks = [Check(principal, "read_document", "Document", f"profile-{i}",
                    {"tenant": t, "groups": list(g), "classification": c.rank, "tags": []})
              for (t, g, c), i in profiles.items()]
    allowed = {key for key, v in zip(profiles, engine.decide(checks)) if v.allowed}
    return [d for d, a in docs if (a.tenant_id, tuple(sorted(a.groups)), a.classification) in allowed]
