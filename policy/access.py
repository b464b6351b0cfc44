"""What a principal may read, as a filter that searches apply before any scoring.

Today the rule is attribute-based (tenant, groups, clearance); the Cedar engine will produce
the same ``AccessFilter`` from its policies, behind this same call.
"""

from __future__ import annotations

from schemas.models import AccessFilter, Principal

__all__ = ["read_filter"]


def read_filter(principal: Principal) -> AccessFilter:
    """The documents ``principal`` may read: its tenant's, within its clearance and groups."""
    return AccessFilter(tenant_id=principal.tenant_id, groups=sorted(set(principal.groups)),
                        clearance=principal.clearance)
