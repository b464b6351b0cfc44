"""Cedar decision latency, single and batched, and the cost of an allow-list for 10,000 documents.

    python -m bench.policy [--decisions 2000] [--docs 10000] [--json]

Runs the shipped policies through ``policy.engine`` in one process: each row is measured side by
side with the others, so their ratios compare. The allow-list rows time ``policy.access.readable``
over a synthetic corpus with 30 access profiles, grouped (the default, one decision per profile)
and per document (what a policy naming a document by id forces).
"""

from __future__ import annotations

import sys
import time

import numpy as np

from bench.common import machine, machine_line, main_of, table
from policy.access import readable
from policy.engine import Check, PolicyEngine
from schemas.models import AccessAttributes, Classification, Principal

WHO = Principal(tenant_id="acme", user_id="dana", groups=["eng", "ops"], clearance=Classification.confidential)


def _checks(n: int) -> list[Check]:
    out = []
    for i in range(n):
        kind = i % 3
        if kind == 0:
            out.append(Check(WHO, "submit_task", "Task", f"t{i}", {"tenant": "acme"}))
        elif kind == 1:
            out.append(Check(WHO, "use_model", "Endpoint", f"e{i % 7}", {"roles": [] if i % 2 else ["premium"],
                                                                         "kind": "openai"}))
        else:
            out.append(Check(WHO, "read_document", "Document", f"d{i}", {
                "tenant": "acme", "groups": [["eng"], ["hr"], []][i % 3], "classification": i % 4, "tags": []}))
    return out


def _us(samples: list[float], q: float) -> float:
    return round(float(np.percentile(np.array(samples) * 1e6, q)), 1)


def _corpus(n: int) -> list[tuple[str, AccessAttributes]]:
    groups = [[], ["eng"], ["hr"], ["sales"], ["eng", "security"], ["ops"], ["finance"], ["legal"]]
    classes = list(Classification)
    return [(f"doc{i}", AccessAttributes(tenant_id="acme", groups=groups[i % 8] if i % 30 < 29 else ["g" + str(i % 7)],
                                         classification=classes[i % 4])) for i in range(n)]


def run(args) -> dict:
    engine = PolicyEngine.load()
    checks = _checks(args.decisions)
    engine.decide(checks[:10])  # warm
    single = []
    for c in checks:
        t0 = time.perf_counter()
        engine.decide([c])
        single.append(time.perf_counter() - t0)
    batches = []
    for start in range(0, len(checks), 256):
        part = checks[start:start + 256]
        t0 = time.perf_counter()
        engine.decide(part)
        batches.append((time.perf_counter() - t0) / len(part))
    rows = [{"what": "one decision per call", "p50_us": _us(single, 50), "p99_us": _us(single, 99)},
            {"what": "batches of 256, per decision", "p50_us": _us(batches, 50), "p99_us": _us(batches, 99)}]
    docs = _corpus(args.docs)
    per_doc = PolicyEngine(engine.text + '\n@id("bench-named")\npermit(principal, action, resource == '
                           'Switchboard::Document::"nothing");\n', engine.schema_text)
    allow = []
    for label, eng in (("grouped by access profile", engine), ("document by document", per_doc)):
        t0 = time.perf_counter()
        allowed = readable(eng, WHO, docs)
        ms = (time.perf_counter() - t0) * 1000
        profiles = len({(a.tenant_id, tuple(a.groups), a.classification) for _, a in docs})
        allow.append({"what": f"allow-list of {args.docs} docs, {label}", "ms": round(ms, 1),
                      "decisions": profiles if eng is engine else len(docs), "allowed": len(allowed)})
    assert allow[0]["allowed"] == allow[1]["allowed"]  # grouping must not change the answer
    return {"benchmark": "policy", "policy_version": engine.version, "decisions": args.decisions,
            "machine": machine(), "latency": rows, "allow_list": allow}


def _arguments(p) -> None:
    p.add_argument("--decisions", type=int, default=2000, help="decisions timed, single and batched")
    p.add_argument("--docs", type=int, default=10_000, help="documents in the allow-list corpus")


def _render(r: dict) -> str:
    return "\n".join([f"Cedar (cedarpy) via policy.engine, policy set {r['policy_version']}; {machine_line(r['machine'])}",
                      table(r["latency"], ["what", "p50_us", "p99_us"]), "",
                      table(r["allow_list"], ["what", "decisions", "ms", "allowed"])])


main = main_of("python -m bench.policy", __doc__, _arguments, run, _render)

if __name__ == "__main__":
    sys.exit(main())
