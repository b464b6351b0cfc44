"""Detections kept in Redis, so a text is scanned for sensitive values once, not on every step.

The scanner agent scans each ingested passage ahead (``agents.scanner``); a passage it has not
scanned is scanned the first time a step packs it, before that step's sanitization masks it
(``policy.sanitize.Sanitizer.mask`` asks ``find_many`` for every text it sends on, and a text
known nowhere is scanned there and then): nothing reaches a prompt unscanned. The texts of one
call go through the NLP pipeline as one batch (``Detector.find_many``). Every agent, replica and
restart shares what was found.

An entry is keyed by tenant, the detector's fingerprint (its rules, types, threshold and
libraries: a new rule rescans) and a hash of the text; it holds types and offsets, never a value.
The detector's own memory of recent texts stays in front of Redis.
"""

from __future__ import annotations

import asyncio
import hashlib
import json

from mesh.io.keys import Keys
from mesh.io.redis_clients import redis_errors
from mesh.runtime.inflight import InFlight
from policy.pii import Detector, Found
from policy.scan_process import ScanProcess

__all__ = ["Scans"]

#: how long a sweep under way stays its replica's without news (renewed after every batch of documents)
_SWEEP_LEASE_S = 3600


class Scans:
    """Detections of texts, per tenant: the detector's memory, then Redis, then the detector itself (on a
    thread, or in ``process``, a worker running the same detector)."""

    def __init__(self, redis, keys: Keys, detector: Detector, ttl_s: int = 30 * 24 * 3600,
                 process: ScanProcess | None = None) -> None:
        self._redis, self._keys, self.detector, self._ttl = redis, keys, detector, ttl_s
        self._process = process
        self._fingerprint: str | None = None
        self._scanning: InFlight[list[Found]] = InFlight()  # a text another step is scanning is waited for

    async def warm(self) -> None:
        """Load the NLP pipeline (here, or in the worker process) before the first scan needs it."""
        await asyncio.to_thread(self._process.start if self._process is not None else self.detector.warm)

    def key_of(self, tenant: str, text: str) -> str:
        """Where the detections of ``text`` are kept (a test reads these to know whether a text was scanned)."""
        digest = hashlib.sha256(text.encode()).hexdigest()[:40]
        return self._keys.detections(tenant, self.fingerprint, digest)

    @property
    def fingerprint(self) -> str:
        """The detector's (hashing its rules once)."""
        if self._fingerprint is None:
            self._fingerprint = self.detector.fingerprint
        return self._fingerprint

    async def find_many(self, tenant: str, texts: list[str]) -> list[list[Found]]:
        """The detections of each text; those not known anywhere yet are found now and kept."""
        found: dict[str, list[Found]] = {}
        for text in texts:
            known = [] if not text.strip() else self.detector.known(text)
            if known is not None:
                found[text] = known
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing:
            async with redis_errors("reading remembered detections"):
                stored = await self._redis.mget([self.key_of(tenant, t) for t in missing])
            fresh = []
            for text, raw in zip(missing, stored):
                if raw is None:
                    fresh.append(text)
                    continue
                found[text] = [Found(*f) for f in json.loads(raw)]
                self.detector.remember(text, found[text])
            if fresh:
                found.update(await self._scanning.run(tenant, fresh, lambda mine: self._scan(tenant, mine)))
        return [found[t] for t in texts]

    async def keep(self, tenant: str, texts: list[str]) -> int:
        """Make sure each text's detections are kept, for another ``ttl_s``: the kept ones' expiry is renewed,
        the rest (never scanned by this detector, or expired) are scanned now. Returns how many were scanned."""
        texts = [t for t in dict.fromkeys(texts) if t.strip()]
        async with redis_errors("renewing kept detections"):
            async with self._redis.pipeline(transaction=False) as pipe:
                for text in texts:
                    pipe.expire(self.key_of(tenant, text), self._ttl)
                renewed = await pipe.execute()
        missing = [t for t, kept in zip(texts, renewed) if not kept]
        if missing:
            await self._scanning.run(tenant, missing, lambda mine: self._scan(tenant, mine))
        return len(missing)

    async def start_sweep(self, tenant: str) -> bool:
        """Whether this caller is to sweep ``tenant``'s stored texts (``keep``) for this detector now: no sweep
        by this detector is under way or was done within half the detections' lifetime."""
        async with redis_errors("starting a sweep"):
            return bool(await self._redis.set(self._swept_key(tenant), "sweeping", nx=True, ex=_SWEEP_LEASE_S))

    async def hold_sweep(self, tenant: str) -> None:
        """Keep the sweep under way ours for another lease (a replica that dies mid-sweep lets its lease run out)."""
        async with redis_errors("holding a sweep"):
            await self._redis.expire(self._swept_key(tenant), _SWEEP_LEASE_S)

    async def end_sweep(self, tenant: str, done: bool) -> None:
        """Record a finished sweep (the next is due in half the detections' lifetime, before any kept by this
        one expire), or give an unfinished one up so that the next tick starts it again."""
        async with redis_errors("ending a sweep"):
            if done:
                await self._redis.set(self._swept_key(tenant), "swept", ex=self._ttl // 2)
            else:
                await self._redis.delete(self._swept_key(tenant))

    def _swept_key(self, tenant: str) -> str:
        return self._keys.detections_swept(tenant, self.fingerprint)

    async def _scan(self, tenant: str, texts: list[str]) -> dict[str, list[Found]]:
        scanned = await (asyncio.to_thread(self.detector.find_many, texts) if self._process is None
                         else self._process.find_many(texts))
        for text, spans in zip(texts, scanned):  # the worker's findings too are remembered here
            self.detector.remember(text, spans)
        async with redis_errors("keeping detections"):
            async with self._redis.pipeline(transaction=False) as pipe:
                for text, spans in zip(texts, scanned):
                    pipe.set(self.key_of(tenant, text), json.dumps([[f.type, f.start, f.end, f.score] for f in spans]),
                             ex=self._ttl)
                await pipe.execute()
        return dict(zip(texts, scanned))
