"""`switchboard policy validate|test`: check the Cedar policies against their schema and against
a file of requests with expected decisions. CI runs both on the shipped policies."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from mesh.settings import Settings
from policy.engine import Check, PolicyEngine, PolicyError
from schemas.models import Classification, Principal

__all__ = ["register", "Case", "load_cases", "run_cases"]

_RANK = {c.value: c.rank for c in Classification}


@dataclass(frozen=True)
class Case:
    line: int
    name: str
    check: Check
    expect: bool
    policies: tuple[str, ...] | None


def _case(line: int, row: dict) -> Case:
    p = row["principal"]
    principal = Principal(tenant_id=p["tenant"], user_id=p["user"], roles=p.get("roles", []),
                          groups=p.get("groups", []), clearance=Classification(p.get("clearance", "internal")))
    r = dict(row["resource"])
    kind, rid = r.pop("type"), r.pop("id")
    defaults = {"Task": {"tenant": ""}, "Document": {"tenant": "", "groups": [], "classification": "internal",
                                                     "tags": []},
                "Collection": {"tenant": ""}, "Endpoint": {"roles": [], "kind": "openai"}, "Tool": {"tenant": ""}}
    if kind not in defaults:
        raise ValueError(f"resource type {kind!r} is not one of {', '.join(defaults)}")
    attrs = {**defaults[kind], **r}
    if "classification" in attrs:
        attrs["classification"] = _RANK[attrs["classification"]]
    if row["expect"] not in ("allow", "deny"):
        raise ValueError("expect is allow or deny")
    return Case(line, row.get("name", f"line {line}"), Check(principal, row["action"], kind, rid, attrs),
                row["expect"] == "allow", tuple(row["policies"]) if "policies" in row else None)


def load_cases(path: Path) -> list[Case]:
    cases = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip() and not line.lstrip().startswith("//"):
            try:
                cases.append(_case(n, json.loads(line)))
            except (ValueError, KeyError, TypeError) as err:
                raise ValueError(f"{path}:{n}: {err}") from err
    return cases


def run_cases(engine: PolicyEngine, cases: list[Case]) -> list[str]:
    """Every case whose decision (or deciding policies, when given) differs, in words; empty: all pass."""
    out = []
    for case, verdict in zip(cases, engine.decide([c.check for c in cases])):
        if verdict.allowed != case.expect:
            out.append(f"line {case.line}: {case.name}: expected {'allow' if case.expect else 'deny'}, got "
                       f"{'allow' if verdict.allowed else 'deny'} (policies: {', '.join(verdict.policy_ids) or '-'})")
        elif case.policies is not None and set(case.policies) != set(verdict.policy_ids):
            out.append(f"line {case.line}: {case.name}: decided by {', '.join(verdict.policy_ids) or '-'}, "
                       f"expected {', '.join(case.policies)}")
    return out


def _engine(settings: Settings) -> PolicyEngine:
    try:
        return PolicyEngine.load(settings.policy_dir)
    except PolicyError as err:
        print(f"invalid: {err}", file=sys.stderr)
        raise SystemExit(1)


def _validate(args, settings: Settings) -> int:
    engine = _engine(settings)
    print(f"valid: policy set {engine.version} ({len(engine.text.split('@id(')) - 1} policies) against its schema",
          file=sys.stderr)
    return 0


def _test(args, settings: Settings) -> int:
    engine = _engine(settings)
    try:
        cases = load_cases(Path(args.file))
    except (OSError, ValueError) as err:
        print(err, file=sys.stderr)
        return 2
    failures = run_cases(engine, cases)
    for f in failures:
        print(f)
    print(f"{len(cases) - len(failures)} of {len(cases)} cases pass (policy set {engine.version})", file=sys.stderr)
    return 1 if failures else 0


def register(sub) -> None:
    """Add `switchboard policy` to the CLI (entry point switchboard.commands)."""
    policy = sub.add_parser("policy", help="validate and test the Cedar policies")
    cmds = policy.add_subparsers(dest="policy_command", required=True, metavar="ACTION")
    cmds.add_parser("validate", help="check the policies against their schema (exit 1 if invalid)").set_defaults(
        fn=_validate)
    test = cmds.add_parser("test", help="run requests with expected decisions (JSON lines); exit 1 on a difference")
    test.add_argument("file", help="e.g. policy/cedar/tests.jsonl")
    test.set_defaults(fn=_test)
