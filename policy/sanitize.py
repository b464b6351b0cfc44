"""Sanitization before prompt assembly: find sensitive values, let the policies decide, mask, account.

The retriever runs it on a step's question and packed passages before they leave for the
executor, so no prompt is ever assembled from unmasked text. Which values stay unmasked is
policy, not code: a value of kind K found in text of data class C is sent as it is only when the
Cedar policies permit ``send_unmasked`` on ``SensitiveData`` {tenant, kind K, classification C}
for the step's principal; everything else is masked. Restoring values in the final answer is the
policies' ``reveal`` action, asked per kind and class by the planner (``Sanitizer.reveal``).

What was masked goes to the audit trail as JSON (``audit_json``): per value its type, where it
was (source, start, end in the original text), its placeholder and a keyed hash; never the value.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

from mesh.security.crypto import Sealer
from policy.engine import Check, PolicyEngine
from policy.masking import PLACEHOLDER, Item, Vault, substitute
from policy.pii import Detector
from policy.scans import Scans
from schemas.models import Principal

__all__ = ["Sanitizer", "Source", "Sanitized"]


@dataclass(frozen=True)
class Source:
    """One text of a step: where it is (``question``, ``passage:<id>``, ``title:<id>``) and its data class rank."""

    name: str
    text: str
    classification: int


@dataclass(frozen=True)
class Sanitized:
    texts: list[str]
    entities: list[dict] = field(default_factory=list)
    unmasked: int = 0  # values found that the policies let through

    def audit_json(self) -> str:
        counts = Counter(e["type"] for e in self.entities)
        return json.dumps({"masked": len(self.entities), "unmasked": self.unmasked, "by_type": dict(sorted(counts.items())),
                           "entities": self.entities}, separators=(",", ":"))

    def summary(self) -> str:
        counts = Counter(e["type"] for e in self.entities)
        return f"masked {len(self.entities)}: " + ", ".join(f"{t} x{n}" for t, n in sorted(counts.items()))


def _data_check(principal: Principal, action: str, kind: str, classification: int) -> Check:
    return Check(principal, action, "SensitiveData", f"{kind}@{classification}",
                 {"tenant": principal.tenant_id, "kind": kind, "classification": classification})


class Sanitizer:
    def __init__(self, scans: Scans, vault: Vault, sealer: Sealer) -> None:
        self.scans, self.vault, self.sealer = scans, vault, sealer

    @property
    def detector(self) -> Detector:
        return self.scans.detector

    async def mask(self, engine: PolicyEngine, principal: Principal, task_id: str,
                   sources: list[Source]) -> Sanitized:
        """``sources``' texts with every value the policies do not let through replaced by its placeholder."""
        found = await self.scans.find_many(principal.tenant_id, [s.text for s in sources])
        pairs = sorted({(f.type, s.classification) for s, fs in zip(sources, found) for f in fs})
        verdicts = engine.decide([_data_check(principal, "send_unmasked", t, c) for t, c in pairs])
        through = {p for p, v in zip(pairs, verdicts) if v.allowed}
        tenant = principal.tenant_id
        hits = [(i, f) for i, (s, fs) in enumerate(zip(sources, found)) for f in fs
                if (f.type, s.classification) not in through]
        names = await self.vault.placeholders(tenant, task_id, [
            Item(f.type, sources[i].text[f.start:f.end], sources[i].classification) for i, f in hits])
        texts = [s.text for s in sources]
        entities = []
        for (i, f), name in sorted(zip(hits, names), key=lambda h: (h[0][0], -h[0][1].start)):
            value = sources[i].text[f.start:f.end]
            texts[i] = texts[i][:f.start] + name + texts[i][f.end:]  # right to left: earlier offsets hold
            entities.append({"type": f.type, "source": sources[i].name, "start": f.start, "end": f.end,
                             "placeholder": name, "hmac": self.sealer.keyed_hash(tenant, value)})
        entities.sort(key=lambda e: (e["source"] != "question", e["source"], e["start"]))
        return Sanitized(texts, entities, unmasked=sum(1 for s, fs in zip(sources, found) for f in fs
                                                       if (f.type, s.classification) in through))

    async def reveal(self, engine: PolicyEngine, principal: Principal, task_id: str, text: str) -> tuple[str, int]:
        """``text`` with the placeholders the policies let ``principal`` see (``reveal``) restored."""
        held = await self.vault.held(principal.tenant_id, task_id, {m.group(0) for m in PLACEHOLDER.finditer(text)})
        if not held:
            return text, 0
        pairs = sorted({(h.type, h.classification) for h in held})
        allowed = {p for p, v in zip(pairs, engine.decide([_data_check(principal, "reveal", t, c) for t, c in pairs]))
                   if v.allowed}
        values = {h.placeholder: h.value for h in held if (h.type, h.classification) in allowed}
        return substitute(text, values), len(values)

    async def unmask(self, tenant: str, task_id: str, text: str) -> str:
        """Every placeholder of the task restored, for the mesh's own use (searching), never for a prompt."""
        held = await self.vault.held(tenant, task_id, {m.group(0) for m in PLACEHOLDER.finditer(text)})
        return substitute(text, {h.placeholder: h.value for h in held})
