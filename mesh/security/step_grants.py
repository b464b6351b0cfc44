"""Step grants: the planner's signature on who asked for a task, checked by every agent after it.

The planner accepts a task only with a valid principal token (``principal_tokens``). Every step it
derives carries a grant, ``sg1.<signature>``: an HMAC-SHA256, under the same shared secret, of the
task id, the tenant and the principal (canonical JSON). Retriever, executor and validator refuse a
step whose grant is missing or does not match what the step claims, so a step published straight to
a topic with someone else's principal is not served. The grant travels unchanged from step to step.
The retriever signs each index query the same way, over its task, tenant, query id, access filter,
allow-list and the store's version it searched, so the index agent searches only what a retriever
decided the principal may read, in a corpus no older than the retriever's.
Several secrets are accepted at once (the first signs), so keys rotate as principal tokens do.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable

from mesh.errors import Unauthorized
from mesh.security.principal_tokens import mac

__all__ = ["authority", "check", "sign", "signed_query"]

_PREFIX = "sg1."


def _claims(task_id: str, tenant: str, principal) -> str:
    return "\x1f".join((task_id, tenant, _canonical(principal.model_dump(mode="json"))))


def _canonical(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _query_claims(query) -> str:
    env = query.envelope
    return "\x1f".join(("index.query", env.task_id, env.tenant_id, query.query_id,
                        _canonical(query.filter.model_dump(mode="json")), _canonical(query.allow),
                        _canonical(query.version)))


def _claims_of(record) -> str:
    if hasattr(record, "query_id"):
        return _query_claims(record)
    return _claims(record.envelope.task_id, record.envelope.tenant_id, record.principal)


def sign(secrets: list[str], task_id: str, tenant: str, principal) -> str | None:
    """The grant of a task's steps; None when no secret is configured (nothing is checked then)."""
    return _PREFIX + mac(secrets[0], _claims(task_id, tenant, principal)) if secrets else None


def signed_query(secrets: list[str], query):
    """The index query with its grant (unchanged when no secret is configured)."""
    if not secrets:
        return query
    return query.model_copy(update={"grant": _PREFIX + mac(secrets[0], _query_claims(query))})


def check(secrets: list[str], record) -> None:
    """Refuse (``Unauthorized``) a step whose grant is missing or was not made for its task and principal."""
    env, grant = record.envelope, getattr(record, "grant", None)
    if not grant:
        raise Unauthorized(f"{type(record).__name__} for task {env.task_id} carries no grant: steps are accepted only "
                           "as the planner (or, for an index query, the retriever) signed them", code="step_unsigned")
    claims = _claims_of(record)
    if not (grant.startswith(_PREFIX)
            and any(hmac.compare_digest(_PREFIX + mac(s, claims), grant) for s in secrets)):
        raise Unauthorized(f"{type(record).__name__} for task {env.task_id}: its grant does not match what it "
                           "claims (altered, forged, or signed with a retired key)", code="step_forged")


def authority(secrets: list[str]) -> Callable | None:
    """The check a route runs on every record before handling it; None when no secret is configured."""
    if not secrets:
        return None
    accepted = list(secrets)
    return lambda record: check(accepted, record)
