"""Cedar decisions: the policy set, its version, and batched authorization through cedarpy.

The policies (``policies.cedar``) and their schema (``schema.cedarschema``) are read once, from
``SWITCHBOARD_POLICY_DIR`` or the ones shipped in ``policy/cedar/``, and kept as parsed handles.
The version of a policy set is the SHA-256 of its text (first 16 hex digits); every decision
and every event of a task carries it. A decision names the ``@id``s of the policies that made it.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import cedarpy

from mesh.errors import SemanticError
from schemas.models import Principal

__all__ = ["PolicyEngine", "Check", "Verdict", "PolicyError", "PolicyDenied", "SHIPPED"]

SHIPPED = Path(__file__).resolve().parent / "cedar"
_NS = "Switchboard"


class PolicyError(ValueError):
    """Policies that do not parse or do not validate against the schema; the message says where."""


class PolicyDenied(SemanticError):
    """A request the policies refuse: the client gets a typed rejection naming the deciding policies."""

    def __init__(self, message: str, policy_ids: tuple[str, ...], version: str) -> None:
        super().__init__(f"{message} [policy set {version}]", code="policy_denied")
        self.policy_ids, self.version = policy_ids, version


@dataclass(frozen=True)
class Check:
    """One question for the policies: may ``principal`` do ``action`` to the resource?"""

    principal: Principal
    action: str
    resource_type: str
    resource_id: str
    resource_attrs: dict


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    policy_ids: tuple[str, ...]  # the @ids of the policies that decided (empty: nothing permitted it)
    errors: tuple[str, ...] = ()

    def explain(self, check: Check) -> str:
        by = f"policies {', '.join(self.policy_ids)}" if self.policy_ids else "no policy permits it"
        return f"{check.principal.tenant_id}/{check.principal.user_id} may not {check.action} " \
               f"{check.resource_type} {check.resource_id} ({by})"


def _user(p: Principal) -> dict:
    return {"uid": {"type": f"{_NS}::User", "id": p.user_id},
            "attrs": {"tenant": p.tenant_id, "roles": list(p.roles), "groups": list(p.groups),
                      "clearance": p.clearance.rank}, "parents": []}


class PolicyEngine:
    """A parsed, validated policy set; ``decide`` answers checks in one batch."""

    def __init__(self, policies: str, schema: str) -> None:
        result = cedarpy.validate_policies(policies, schema)
        if not result.validation_passed:
            raise PolicyError("the policies do not validate against the schema: " +
                              "; ".join(str(e) for e in result.errors))
        self.text, self.schema_text = policies, schema
        self.version = hashlib.sha256(policies.encode()).hexdigest()[:16]
        self._policies = cedarpy.PolicySet.from_str(policies)
        self._schema = cedarpy.Schema.from_str(schema)
        statics = json.loads(cedarpy.policies_to_json_str(policies))["staticPolicies"]
        self._ids = {key: (p.get("annotations") or {}).get("id", key) for key, p in statics.items()}
        #: whether a policy names a document or collection by id; if not, equal attributes mean equal decisions
        self.names_documents = bool(re.search(rf'"type":\s*"{_NS}::(Document|Collection)",\s*"id"',
                                              json.dumps(statics)))

    @classmethod
    def load(cls, directory: Path | None = None) -> PolicyEngine:
        d = Path(directory) if directory else SHIPPED
        try:
            return cls((d / "policies.cedar").read_text(encoding="utf-8"),
                       (d / "schema.cedarschema").read_text(encoding="utf-8"))
        except OSError as err:
            raise PolicyError(f"cannot read the policies in {d}: {err.strerror} (policies.cedar and "
                              "schema.cedarschema)") from err

    def decide(self, checks: list[Check]) -> list[Verdict]:
        """One verdict per check, from one batched evaluation."""
        if not checks:
            return []
        entities, seen = [], set()
        for c in checks:
            for e in (_user(c.principal), {"uid": {"type": f"{_NS}::{c.resource_type}", "id": c.resource_id},
                                           "attrs": c.resource_attrs, "parents": []}):
                key = (e["uid"]["type"], e["uid"]["id"])
                if key not in seen:
                    seen.add(key)
                    entities.append(e)
        requests = [{"principal": f'{_NS}::User::"{c.principal.user_id}"',
                     "action": f'{_NS}::Action::"{c.action}"',
                     "resource": f'{_NS}::{c.resource_type}::{json.dumps(c.resource_id)}', "context": {}}
                    for c in checks]
        handle = cedarpy.Entities.from_json_str(json.dumps(entities), self._schema)
        results = cedarpy.is_authorized_batch(requests, self._policies, handle, self._schema)
        return [Verdict(r.allowed, tuple(self._ids.get(p, p) for p in r.diagnostics.reasons),
                        tuple(str(e) for e in r.diagnostics.errors)) for r in results]
