"""Every Redis key the project uses is named here, under the configured prefix.

Keys that hold a tenant's data start with ``t:<tenant>:``, so no tenant's keys can meet another's.
"""

from __future__ import annotations

__all__ = ["Keys"]


class Keys:
    """Redis key names under the configured prefix; tenant data is prefixed by tenant."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def ledger(self, agent: str, tenant: str, idempotency_key: str) -> str:
        """An agent's record for one input; per tenant, so no tenant's keys can meet another's records."""
        return f"{self.prefix}t:{tenant}:idem:{agent}:{idempotency_key}"

    def task(self, tenant: str, task_id: str) -> str:
        return f"{self.prefix}t:{tenant}:task:{task_id}"

    def tenant_of_task(self, task_key: str) -> str:
        """The tenant of a key made by ``task``."""
        return task_key[len(self.prefix) + 2:].rpartition(":task:")[0]

    def pending(self, agent: str, correlation_id: str) -> str:
        return f"{self.prefix}pending:{agent}:{correlation_id}"

    def heartbeat(self, agent: str, instance: str) -> str:
        return f"{self.prefix}agents:{agent}:{instance}"

    def leases(self, name: str) -> str:
        """Sorted set of the leases held on ``name`` (an endpoint's calls in flight), scored by expiry."""
        return f"{self.prefix}lease:{name}"

    def heartbeats(self) -> str:
        return f"{self.prefix}agents:*"

    def docs(self, tenant: str) -> str:
        """Hash doc_id -> document JSON of one tenant."""
        return f"{self.prefix}t:{tenant}:docs"
