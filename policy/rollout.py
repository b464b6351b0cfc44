"""Policy sets in Redis: the active one, a candidate in shadow, promotion and rollback, live.

Agents ask ``Rollout.current()`` before deciding; it re-reads which sets are active and in shadow
at most every ``refresh_s`` seconds, so ``switchboard policy promote`` and ``rollback`` take effect
in every agent within about a second, without restarts. Before any set is stored, the one in
``SWITCHBOARD_POLICY_DIR`` (or the shipped one) is active.

A candidate runs in shadow on a share of requests (chosen by a hash of the task id, so a task is
either in the sample or not, in every agent): the active set decides, the candidate decides too,
and wherever the two differ the request is recorded (``Keys.policy_diff(<candidate version>)`` in
Redis, and a ``policy_shadow_differs`` log line). ``switchboard policy diff`` lists them.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import redis.asyncio as aioredis

from mesh.io.keys import Keys
from mesh.io.pipelined import Batch, Queue
from mesh.io.redis_clients import redis_errors
from mesh.observe.logs import get_logger
from policy.engine import Check, PolicyEngine, Verdict

__all__ = ["Rollout", "Policies", "in_sample"]

log = get_logger("switchboard.policy")
_DIFFS_KEPT = 10_000


def in_sample(key: str, share: float) -> bool:
    """Whether the request keyed ``key`` is in a ``share`` of traffic (stable across agents)."""
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 2**32 < share


@dataclass(frozen=True)
class Policies:
    active: PolicyEngine
    candidate: PolicyEngine | None = None
    share: float = 0.0


class Rollout:
    def __init__(self, redis: aioredis.Redis, keys: Keys, directory: Path | None, refresh_s: float = 1.0) -> None:
        self._redis, self._keys, self._refresh = redis, keys, refresh_s
        self._default = PolicyEngine.load(directory)
        self._engines = {self._default.version: self._default}
        self._current, self._read_at = Policies(self._default), 0.0

    async def _engine(self, version: str) -> PolicyEngine:
        if version not in self._engines:
            async with redis_errors("loading a policy set"):
                raw = await self._redis.hget(self._keys.policy_sets(), version)
            if raw is None:
                raise KeyError(f"policy set {version} is not stored")
            body = json.loads(raw)
            self._engines[version] = PolicyEngine(body["policies"], body["schema"])
        return self._engines[version]

    async def current(self) -> Policies:
        """The sets in force now (re-read from Redis at most every ``refresh_s``)."""
        if self._fresh():
            return self._current
        async with redis_errors("reading the policy rollout"):
            active, candidate = await self._redis.mget(self._keys.policy_active(), self._keys.policy_candidate())
        try:
            engine = await self._engine(active.decode()) if active else self._default
            shadow = json.loads(candidate) if candidate else None
            self._current = Policies(engine, await self._engine(shadow["version"]) if shadow else None,
                                     shadow["share"] if shadow else 0.0)
        except KeyError as err:  # an operator's mistake must not stop decisions: keep what we had
            log.error("policy_rollout_unreadable", error=str(err))
        self._read_at = time.monotonic()
        return self._current

    def _fresh(self, share: float = 1.0) -> bool:
        return time.monotonic() - self._read_at < self._refresh * share

    def refreshing(self) -> Queue | None:
        """The re-read ``current`` makes, as commands to send with other reads (``mesh.io.ledger.Rider``)
        when one is due; None when not. What it reads applies when its sets are loaded already; a new set
        is left for ``current`` to load. Due a little early (at 80% of ``refresh_s``), so that under load the
        handlers' ``current`` finds it fresh."""
        if self._fresh(0.8):
            return None

        def queue(b: Batch):
            b.mget(self._keys.policy_active(), self._keys.policy_candidate())
            return lambda replies: self._adopt(*replies[0])
        return queue

    def _adopt(self, active: bytes | None, candidate: bytes | None) -> None:
        shadow = json.loads(candidate) if candidate else None
        versions = [v for v in (active.decode() if active else None, shadow["version"] if shadow else None) if v]
        if all(v in self._engines for v in versions):
            self._current = Policies(self._engines[active.decode()] if active else self._default,
                                     self._engines[shadow["version"]] if shadow else None,
                                     shadow["share"] if shadow else 0.0)
            self._read_at = time.monotonic()

    async def decide(self, checks: list[Check], sample_key: str) -> tuple[PolicyEngine, list[Verdict]]:
        """The active set's verdicts (and the set); in shadow, the candidate's differences are recorded."""
        now = await self.current()
        verdicts = now.active.decide(checks)
        if now.candidate is not None and in_sample(sample_key, now.share):
            shadow = now.candidate.decide(checks)
            diffs = [{"request": sample_key, "principal": f"{c.principal.tenant_id}/{c.principal.user_id}",
                      "action": c.action, "resource": f"{c.resource_type}::{c.resource_id}",
                      "active": "allow" if a.allowed else "deny", "candidate": "allow" if b.allowed else "deny",
                      "active_policies": list(a.policy_ids), "candidate_policies": list(b.policy_ids)}
                     for c, a, b in zip(checks, verdicts, shadow) if a.allowed != b.allowed]
            if diffs:
                await self.record(now.candidate.version, diffs)
        return now.active, verdicts

    async def record(self, version: str, diffs: list[dict]) -> None:
        for d in diffs:
            log.warning("policy_shadow_differs", candidate_version=version,
                        **{k: v for k, v in d.items() if k != "request"})
        async with redis_errors("recording shadow differences"):
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.rpush(self._keys.policy_diff(version), *[json.dumps(d, sort_keys=True) for d in diffs])
                pipe.ltrim(self._keys.policy_diff(version), -_DIFFS_KEPT, -1)
                await pipe.execute()

    # --- what the CLI does --------------------------------------------------------------------------

    async def store(self, engine: PolicyEngine) -> None:
        async with redis_errors("storing a policy set"):
            await self._redis.hset(self._keys.policy_sets(), engine.version,
                                   json.dumps({"policies": engine.text, "schema": engine.schema_text}))

    async def status(self) -> dict:
        async with redis_errors("reading the policy rollout"):
            active, candidate = await self._redis.mget(self._keys.policy_active(), self._keys.policy_candidate())
            history = await self._redis.lrange(self._keys.policy_history(), 0, -1)
        shadow = json.loads(candidate) if candidate else None
        diffs = 0
        if shadow:
            async with redis_errors("reading shadow differences"):
                diffs = await self._redis.llen(self._keys.policy_diff(shadow['version']))
        return {"active": active.decode() if active else self._default.version, "candidate": shadow,
                "differences": diffs, "history": [h.decode() for h in history]}

    async def shadow(self, engine: PolicyEngine, share: float) -> None:
        """Run ``engine`` in shadow on ``share`` of requests (0 < share <= 1)."""
        await self.store(engine)
        await self._ensure_active_recorded()
        async with redis_errors("starting a shadow run"):
            await self._redis.set(self._keys.policy_candidate(), json.dumps({"version": engine.version, "share": share}))

    async def diffs(self, version: str | None = None) -> list[dict]:
        version = version or ((await self.status())["candidate"] or {}).get("version")
        if not version:
            return []
        async with redis_errors("reading shadow differences"):
            return [json.loads(r) for r in await self._redis.lrange(self._keys.policy_diff(version), 0, -1)]

    async def promote(self) -> str:
        """Make the candidate active (the active one goes on the rollback history); returns its version."""
        status = await self.status()
        if not status["candidate"]:
            raise ValueError("no candidate in shadow: `switchboard policy shadow DIR` first")
        async with redis_errors("promoting a policy set"):
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.rpush(self._keys.policy_history(), status["active"])
                pipe.set(self._keys.policy_active(), status["candidate"]["version"])
                pipe.delete(self._keys.policy_candidate())
                await pipe.execute()
        return status["candidate"]["version"]

    async def rollback(self) -> str:
        """Make the previously active set active again; returns its version."""
        async with redis_errors("rolling back a policy set"):
            previous = await self._redis.rpop(self._keys.policy_history())
            if previous is None:
                raise ValueError("nothing to roll back to: no set was promoted")
            await self._redis.set(self._keys.policy_active(), previous)
        return previous.decode()

    async def _ensure_active_recorded(self) -> None:
        await self.store(self._default)
        async with redis_errors("recording the active policy set"):
            await self._redis.set(self._keys.policy_active(), self._default.version, nx=True)
