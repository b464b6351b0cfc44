"""`switchboard policy validate|test|shadow|status|diff|promote|rollback`.

``validate`` and ``test`` check the Cedar policies against their schema and against a file of
requests with expected decisions (CI runs both on the shipped policies); the others roll a new
policy set out through ``policy.rollout``."""

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
                "Collection": {"tenant": ""}, "Endpoint": {"roles": [], "kind": "openai"}, "Tool": {"tenant": ""},
                "SensitiveData": {"tenant": "", "kind": "PERSON", "classification": "internal"}}
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


def _rollout(settings: Settings, fn):
    import asyncio

    from mesh.io.keys import Keys
    from mesh.io.redis_clients import connect
    from policy.rollout import Rollout

    async def go():
        redis = connect(settings)
        try:
            return await fn(Rollout(redis, Keys(settings.key_prefix), settings.policy_dir))
        finally:
            await redis.aclose()
    return asyncio.run(go())


def _shadow(args, settings: Settings) -> int:
    if not 0 < args.share <= 1:
        print("--share is a fraction of traffic, above 0 and at most 1", file=sys.stderr)
        return 2
    try:
        candidate = PolicyEngine.load(Path(args.dir))
    except PolicyError as err:
        print(f"invalid: {err}", file=sys.stderr)
        return 1
    _rollout(settings, lambda r: r.shadow(candidate, args.share))
    print(f"policy set {candidate.version} in shadow on {args.share:.0%} of requests; "
          "`switchboard policy diff` lists where it decides differently", file=sys.stderr)
    return 0


def _status(args, settings: Settings) -> int:
    status = _rollout(settings, lambda r: r.status())
    if args.json:
        print(json.dumps(status))
    else:
        c = status["candidate"]
        print(f"active {status['active']}; " + (f"candidate {c['version']} in shadow on {c['share']:.0%}, "
                                                 f"{status['differences']} differences" if c else "no candidate"))
    return 0


def _diff(args, settings: Settings) -> int:
    diffs = _rollout(settings, lambda r: r.diffs(args.version))
    if args.json:
        print(json.dumps(diffs))
    else:
        for d in diffs:
            print(f"{d['request']}  {d['principal']}  {d['action']}  {d['resource']}: active {d['active']}, "
                  f"candidate {d['candidate']} ({', '.join(d['candidate_policies']) or '-'})")
        print(f"{len(diffs)} differences", file=sys.stderr)
    return 0


def _switch(method: str, done: str):
    """A CLI action that switches the active set through ``Rollout.<method>`` and reports ``done``."""
    def action(args, settings: Settings) -> int:
        try:
            version = _rollout(settings, lambda r: getattr(r, method)())
        except ValueError as err:
            print(err, file=sys.stderr)
            return 1
        print(done.format(version=version), file=sys.stderr)
        return 0
    return action


_promote = _switch("promote", "policy set {version} is active (agents pick it up within a second)")
_rollback = _switch("rollback", "policy set {version} is active again")


def register(sub) -> None:
    """Add `switchboard policy` to the CLI (entry point switchboard.commands)."""
    policy = sub.add_parser("policy", help="validate and test the Cedar policies")
    cmds = policy.add_subparsers(dest="policy_command", required=True, metavar="ACTION")
    cmds.add_parser("validate", help="check the policies against their schema (exit 1 if invalid)").set_defaults(
        fn=_validate)
    test = cmds.add_parser("test", help="run requests with expected decisions (JSON lines); exit 1 on a difference")
    test.add_argument("file", help="e.g. policy/cedar/tests.jsonl")
    test.set_defaults(fn=_test)
    shadow = cmds.add_parser("shadow", help="run a candidate policy set beside the active one and record differences")
    shadow.add_argument("dir", help="a folder with policies.cedar and schema.cedarschema")
    shadow.add_argument("--share", type=float, default=0.1, help="fraction of requests evaluated (default 0.1)")
    shadow.set_defaults(fn=_shadow)
    status = cmds.add_parser("status", help="the active set, the candidate and its differences so far")
    status.add_argument("--json", action="store_true")
    status.set_defaults(fn=_status)
    diff = cmds.add_parser("diff", help="the requests the candidate decided differently")
    diff.add_argument("--version", help="a candidate's version (default: the one in shadow)")
    diff.add_argument("--json", action="store_true", help="print one JSON list")
    diff.set_defaults(fn=_diff)
    cmds.add_parser("promote", help="make the candidate active, without restarting agents").set_defaults(fn=_promote)
    cmds.add_parser("rollback", help="make the previous set active again").set_defaults(fn=_rollback)
