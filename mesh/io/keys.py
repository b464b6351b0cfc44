"""Every Redis key the project uses is named here, under the configured prefix.

Keys that hold a tenant's data start with ``t:{<tenant>}:``, so no tenant's keys can meet another's.
Methods named in the plural (``heartbeats``, ``audit_heads``...) give ``SCAN`` patterns, not keys.
A contract test fails on a key put together anywhere else.

The braces are Redis Cluster hash tags: only what is inside them decides a key's slot, so the keys
one script or transaction touches together share a slot (a tenant's, a breaker's, an endpoint's
route, a parked query's, the policy rollout's), and Cluster can run it. ``Batch.script`` refuses a
script whose keys fall in two slots, on a single node too, so any test that runs it fails first.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from mesh.errors import InvalidInput

__all__ = ["Keys"]

# The namespace pybreaker's CircuitRedisStorage puts under a breaker's key (its BASE_NAMESPACE).
_PYBREAKER = "pybreaker"


class Keys:
    """Redis key names under the configured prefix; tenant data is prefixed by tenant."""

    def __init__(self, prefix: str) -> None:
        self.prefix = _braceless(prefix, "a key prefix")

    def __repr__(self) -> str:
        return f"Keys({self.prefix!r})"

    def _tenant(self, tenant: str) -> str:
        """Where a tenant's keys start: its id is their hash tag."""
        return f"{self.prefix}t:{{{_braceless(tenant, 'a tenant id')}}}:"

    # --- namespaces -----------------------------------------------------------------------------------

    def shared(self, cache_prefix: str | None) -> Keys:
        """The keys a replay's namespace shares with the live mesh (tenants' data keys, embeddings):
        under ``cache_prefix`` when one is set, else these."""
        return Keys(cache_prefix) if cache_prefix else self

    def replay_prefix(self, replay_id: str) -> str:
        """The key prefix of replay ``replay_id``'s namespace."""
        return f"{self.prefix}replay:{replay_id}:"

    def rebuild_prefix(self) -> str:
        """The key prefix a document store is rebuilt under before it is swapped in."""
        return f"{self.prefix}rebuild:"

    def retagged(self, old: str, tenants: Iterable[str] = ()) -> str | None:
        """The name a key written before keys had hash tags has now; None for a key whose name did not change.
        A tenant id that holds ``:`` is read right only when it is among ``tenants`` (e.g. those with data keys)."""
        if not old.startswith(self.prefix):
            return None
        head, _, tail = old[len(self.prefix):].partition(":")
        if tail.startswith("{"):
            return None  # tagged already
        if head == "t":
            tenant, rest = _tenant_and_rest(tail, tenants)
            return f"{self._tenant(tenant)}{rest}" if tenant else None
        if head == "breaker":
            name, sep, rest = tail.rpartition(":pybreaker:")
            return f"{self.breaker(name)}{sep}{rest}" if name else None
        if head == "route":
            name, sep, rest = tail.rpartition(":inflight") if tail.endswith(":inflight") else (tail, "", "")
            return f"{self.route(name)}{sep}{rest}"
        if head == "pending":
            return self._pending_retagged(tail)
        return f"{self.prefix}{{policy}}:{tail}" if head == "policy" else None

    def _pending_retagged(self, tail: str) -> str | None:
        agent, _, ref = tail.partition(":")
        if "{" in ref:
            return None
        if ref == "deadlines":
            return self.deadlines(agent)
        if ref.endswith(":claim"):
            return self.pending_claim(agent, ref.removesuffix(":claim"))
        return self.pending(agent, ref)

    def moved(self, key: str, to: Keys) -> str:
        """``key`` (one of these) under ``to``'s prefix instead."""
        return to.prefix + key[len(self.prefix):]

    # --- the runtime ----------------------------------------------------------------------------------

    def ledger(self, agent: str, tenant: str, idempotency_key: str) -> str:
        """An agent's record for one input; per tenant, so no tenant's keys can meet another's records."""
        return f"{self._tenant(tenant)}idem:{agent}:{idempotency_key}"

    def task(self, tenant: str, task_id: str) -> str:
        return f"{self._tenant(tenant)}task:{task_id}"

    def tenant_of_task(self, task_key: str) -> str:
        """The tenant of a key made by ``task``."""
        return task_key[len(self.prefix) + 3:].rpartition("}:task:")[0]

    def masks(self, tenant: str, task_id: str) -> str:
        """Hash of a task's mask placeholders and their sealed values."""
        return f"{self.task(tenant, task_id)}:masks"

    def pending(self, agent: str, correlation_id: str) -> str:
        """What an agent parked under ``correlation_id`` until its answer comes."""
        return f"{self.prefix}pending:{agent}:{{{_braceless(correlation_id, 'a correlation id')}}}"

    def pending_claim(self, agent: str, correlation_id: str) -> str:
        """Who took the parked ``correlation_id`` (its answer, or its timeout): in the parked value's slot."""
        return f"{self.pending(agent, correlation_id)}:claim"

    def deadlines(self, agent: str) -> str:
        """Sorted set of what an agent waits for (tasks, parked steps), scored by when each is overdue."""
        return f"{self.prefix}deadlines:{agent}"

    def heartbeat(self, agent: str, instance: str) -> str:
        return f"{self.prefix}agents:{agent}:{instance}"

    def agent_of_heartbeat(self, key: str) -> str:
        """The agent of a key made by ``heartbeat``."""
        return key[len(self.prefix) + len("agents:"):].split(":", 1)[0]

    def instance_of_heartbeat(self, key: str) -> str:
        """The instance of a key made by ``heartbeat``."""
        return key.rsplit(":", 1)[-1]

    def heartbeats(self) -> str:
        return f"{self.prefix}agents:*"

    def docs(self, tenant: str) -> str:
        """Hash doc_id -> document JSON of one tenant."""
        return f"{self._tenant(tenant)}docs"

    def all_docs(self) -> str:
        """Pattern: every tenant's documents hash (``docs``)."""
        return f"{self.prefix}t:{{*}}:docs"

    def tenant_of_docs(self, key: str) -> str:
        """The tenant of a key made by ``docs``."""
        return key[len(self.prefix) + len("t:{"):-len("}:docs")]

    def docs_version(self, tenant: str) -> str:
        """Counter bumped by every change to a tenant's documents."""
        return f"{self.docs(tenant)}:version"

    def tenant_docs(self, tenant: str) -> str:
        """Pattern: a tenant's documents and their version."""
        return f"{self.docs(tenant)}*"

    def replicated(self, tag: str = "") -> str:
        """Written just before each wait for replicas (WAIT counts what the connection wrote last: a repeat
        that writes nothing else still waits for everything before it). Under Cluster, one per node: in the
        slot of ``tag`` (a hash tag of a key written on that node)."""
        return f"{self.prefix}replicated:{{{tag}}}" if tag else f"{self.prefix}replicated"

    def dlq_replayed(self) -> str:
        """Set of the dead letters already replayed."""
        return f"{self.prefix}dlq:replayed"

    # --- endpoints: breakers and route statistics -----------------------------------------------------

    def breaker(self, name: str) -> str:
        """The namespace pybreaker keeps breaker ``name``'s state under."""
        return f"{self.prefix}breaker:{{{_braceless(name, 'an endpoint name')}}}"

    def breaker_state(self, name: str) -> str:
        return f"{self.breaker(name)}:{_PYBREAKER}:state"

    def breaker_opened_at(self, name: str) -> str:
        return f"{self.breaker(name)}:{_PYBREAKER}:opened_at"

    def breaker_failures(self, name: str) -> str:
        return f"{self.breaker(name)}:{_PYBREAKER}:fail_counter"

    def route(self, name: str) -> str:
        """Hash of an endpoint's latency and validation averages."""
        return f"{self.prefix}route:{{{_braceless(name, 'an endpoint name')}}}"

    def route_in_flight(self, name: str) -> str:
        """Sorted set of an endpoint's calls in flight, scored by when each must be over."""
        return f"{self.route(name)}:inflight"

    # --- data protection ------------------------------------------------------------------------------

    def deks(self) -> str:
        """Hash tenant -> its data key, wrapped by the KEK."""
        return f"{self.prefix}deks"

    def detections(self, tenant: str, fingerprint: str, digest: str) -> str:
        """The PII a detector (by ``fingerprint``) found in a text (by ``digest``): types and offsets."""
        return f"{self._tenant(tenant)}pii:{fingerprint}:{digest}"

    def detections_swept(self, tenant: str, fingerprint: str) -> str:
        """Set while (and for a while after) every stored text of a tenant is checked for detections by a
        detector (by ``fingerprint``), so one scanner replica sweeps each tenant once per period."""
        return f"{self._tenant(tenant)}pii:{fingerprint}:swept"

    def embedding(self, tenant: str, content_key: str) -> str:
        """A text's embedding vector (``content_key``: a hash of the model and the text)."""
        return f"{self._tenant(tenant)}emb:{content_key}"

    # --- budgets --------------------------------------------------------------------------------------

    def budget(self, tenant: str) -> str:
        """Hash of a tenant's stored limits and budget period."""
        return f"{self._tenant(tenant)}budget"

    def budget_spent(self, tenant: str, window: str) -> str:
        """Hash of what a tenant used in one budget ``window`` (a day or month)."""
        return f"{self.budget(tenant)}:{window}"

    def budget_held(self, tenant: str, window: str) -> str:
        """Sorted set of a window's reservations not yet settled, scored by expiry."""
        return f"{self.budget_spent(tenant, window)}:held"

    def budget_rate(self, tenant: str, now: datetime) -> str:
        """Hash of a tenant's requests and tokens in the minute of ``now``."""
        return f"{self.budget(tenant)}:rate:{now:%Y%m%d%H%M}"

    # --- policy rollout -------------------------------------------------------------------------------

    def policy_sets(self) -> str:
        """Hash version -> stored policy set."""
        return f"{self.prefix}{{policy}}:sets"

    def policy_active(self) -> str:
        """The active policy set's version."""
        return f"{self.prefix}{{policy}}:active"

    def policy_candidate(self) -> str:
        """The candidate in shadow: its version and share, JSON."""
        return f"{self.prefix}{{policy}}:candidate"

    def policy_history(self) -> str:
        """List of the versions active before, for rollback."""
        return f"{self.prefix}{{policy}}:history"

    def policy_diff(self, version: str) -> str:
        """List of the requests where candidate ``version`` decided otherwise than the active set."""
        return f"{self.prefix}{{policy}}:diff:{version}"

    def policies(self) -> str:
        """Pattern: every policy rollout key."""
        return f"{self.prefix}{{policy}}:*"

    # --- the audit trail ------------------------------------------------------------------------------

    def audit_head(self, tenant: str) -> str:
        """Hash of a tenant's audit chain head: last seq and its hash."""
        return f"{self._tenant(tenant)}audit:head"

    def audit_record(self, tenant: str, idempotency_key: str) -> str:
        """The chained record an audit event (by its idempotency key) was appended as, so a redelivery gets it back."""
        return f"{self._tenant(tenant)}audit:rec:{idempotency_key}"

    def audit_heads(self) -> str:
        """Pattern: every tenant's audit chain head."""
        return f"{self.prefix}t:{{*}}:audit:head"

    def tenant_of_audit_head(self, head_key: str) -> str:
        """The tenant of a key made by ``audit_head``."""
        return head_key[len(self.prefix) + 3:-len("}:audit:head")]


#: what follows a tenant's id in its keys (``Keys.retagged`` finds the id by them)
_TENANT_PARTS = ("idem:", "task:", "docs", "pii:", "emb:", "budget", "audit:")


def _tenant_and_rest(tail: str, known: Iterable[str]) -> tuple[str | None, str]:
    """(tenant, what follows its ``:``) of an untagged tenant key's tail ``<tenant>:<part>...``."""
    for tenant in sorted(known, key=len, reverse=True):
        if tail.startswith(f"{tenant}:") and tail[len(tenant) + 1:].startswith(_TENANT_PARTS):
            return tenant, tail[len(tenant) + 1:]
    cuts = [i for i in range(len(tail)) if tail[i] == ":" and tail[i + 1:].startswith(_TENANT_PARTS)]
    return (tail[:cuts[0]], tail[cuts[0] + 1:]) if cuts else (None, "")


def _braceless(text: str, what: str) -> str:
    """``text``, refused if it holds a brace: inside a key, Redis Cluster would read it as (the end of) a hash tag
    and scatter what must stay in one slot."""
    if "{" in text or "}" in text:
        raise InvalidInput(f"{what} may not hold {{ or }} ({text!r}): Redis Cluster reads braces in a key as its "
                           "hash tag; choose one without them", code="brace_in_key")
    return text
