"""Precision and recall of the sanitizer's detector per entity type, and its throughput.

    python -m bench.sanitize [--data bench/data/pii_sentences.jsonl] [--split test|dev|all]
                             [--baseline REV] [--examples] [--json]

Runs ``policy.pii.Detector`` (Presidio with spaCy's small English pipeline, offline, plus the
project's recognizers) over the project's labelled set (``bench/pii_corpus.py`` generates it;
tuning looked only at the ``dev`` split, so ``test`` is the honest figure). A found span counts
as a true positive when it overlaps a labelled span of the same type; a labelled span is
recalled when some found span of its type overlaps it. The ``masked`` column is what protection
depends on: the share of labelled values masked under any type (a name the NER calls an
organisation is still masked, but is a miss in the per-type recall). Targets on it: at least 0.99
for every structured type, 0.97 for person names, 0.95 for locations and organisations. Hard
negatives (sentences with no sensitive value that look as if they had one: order numbers,
versions, amounts, dates, product names) may be masked needlessly at most 2 times in 80.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path

from bench.common import machine, machine_line, main_of, percentile_ms, table
from policy.pii import ENTITY_TYPES, STRUCTURED, Detector

DATA = Path(__file__).resolve().parent / "data" / "pii_sentences.jsonl"


NEEDLESS_PER_80 = 2


def target_masked(kind: str) -> float:
    return 0.99 if kind in STRUCTURED else 0.97 if kind == "PERSON" else 0.95


def score(rows: list[dict], found: list[list[tuple[str, int, int]]]) -> list[dict]:
    """Per type: labelled, found, true positives, precision, recall, and whether the targets are met."""
    tp_found, tp_gold, n_found, n_gold, masked = Counter(), Counter(), Counter(), Counter(), Counter()
    for row, spans in zip(rows, found):
        gold = [(s["type"], s["start"], s["end"]) for s in row["spans"]]
        for t, a, b in gold:
            n_gold[t] += 1
            tp_gold[t] += any(ft == t and fa < b and a < fb for ft, fa, fb in spans)
            masked[t] += any(fa < b and a < fb for _, fa, fb in spans)  # masked, whatever type it was given
        for t, a, b in spans:
            n_found[t] += 1
            tp_found[t] += any(gt == t and a < gb and ga < b for gt, ga, gb in gold)
    out = []
    for t in ENTITY_TYPES:
        p = tp_found[t] / n_found[t] if n_found[t] else 1.0
        r = tp_gold[t] / n_gold[t] if n_gold[t] else 1.0
        share = masked[t] / n_gold[t] if n_gold[t] else 1.0
        out.append({"type": t, "labelled": n_gold[t], "found": n_found[t], "precision": round(p, 3),
                    "recall": round(r, 3), "masked": round(share, 3), "target_masked": target_masked(t),
                    "met": "yes" if share >= target_masked(t) else "NO"})
    return out


def needless(rows: list[dict], found: list[list[tuple[str, int, int]]]) -> dict:
    """Hard negatives (rows marked ``negative``) with anything masked in them, and that per 80."""
    hits = [row["text"] for row, spans in zip(rows, found) if row.get("negative") and spans]
    n = sum(1 for row in rows if row.get("negative"))
    per_80 = round(80 * len(hits) / n, 2) if n else 0.0
    return {"sentences": n, "masked": len(hits), "per_80": per_80, "target_per_80": NEEDLESS_PER_80,
            "met": "yes" if per_80 <= NEEDLESS_PER_80 else "NO"}


def misses(rows: list[dict], found: list[list[tuple[str, int, int]]], limit: int = 400) -> list[str]:
    """A few missed and spurious spans, to say where the shortfall is."""
    out = []
    for row, spans in zip(rows, found):
        text = row["text"]
        for s in row["spans"]:
            if not any(a < s["end"] and s["start"] < b for _, a, b in spans):
                out.append(f"unmasked {s['type']}: {text[s['start']:s['end']]!r}")
            elif not any(t == s["type"] and a < s["end"] and s["start"] < b for t, a, b in spans):
                out.append(f"masked as another type {s['type']}: {text[s['start']:s['end']]!r}")
        for t, a, b in spans:
            if not any(s["type"] == t and a < s["end"] and s["start"] < b for s in row["spans"]):
                out.append(f"spurious {t}: {text[a:b]!r}" + (" (in a hard negative)" if row.get("negative") else ""))
    return out[:limit]


def baseline_detector(rev: str):
    """The detector of an earlier revision, for a side-by-side run: that revision's ``policy`` package
    (its rules, name lists and fitted weights, not only ``policy/pii.py``), imported under its own
    module objects so that both detectors run in one process."""
    import importlib
    import io
    import subprocess
    import tarfile
    import tempfile

    root = Path(__file__).resolve().parent.parent
    archive = subprocess.run(["git", "archive", "--format=tar", rev, "policy"], capture_output=True, check=True,
                             cwd=root).stdout
    where = Path(tempfile.mkdtemp(prefix="pii_baseline_"))
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(where, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    ours = {name: module for name, module in sys.modules.items() if name == "policy" or name.startswith("policy.")}
    for name in ours:
        del sys.modules[name]
    sys.path.insert(0, str(where))
    try:
        detector = importlib.import_module("policy.pii").Detector()
    finally:
        sys.path.remove(str(where))
        for name in [n for n in sys.modules if n == "policy" or n.startswith("policy.")]:
            del sys.modules[name]
        sys.modules.update(ours)
    return detector


def _timed(detector, rows: list[dict], took: list[float], found: list) -> None:
    for row in rows:
        t0 = time.perf_counter()
        spans = detector.find(row["text"])
        took.append(time.perf_counter() - t0)
        found.append([(f.type, f.start, f.end) for f in spans])


def measure(rows: list[dict], detectors: dict) -> dict:
    """Each detector over every row; rows are taken in turns so that both share the machine's noise."""
    results = {name: {"took": [], "found": []} for name in detectors}
    for name, detector in detectors.items():
        t0 = time.perf_counter()
        detector.warm()
        results[name]["load_s"] = round(time.perf_counter() - t0, 2)
    for i, row in enumerate(rows):
        order = list(detectors) if i % 2 == 0 else list(reversed(detectors))
        for name in order:
            _timed(detectors[name], [row], results[name]["took"], results[name]["found"])
    chars = sum(len(r["text"]) for r in rows)
    out = {}
    for name, res in results.items():
        took, found = res["took"], res["found"]
        out[name] = {"per_type": score(rows, found), "hard_negatives": needless(rows, found), "load_s": res["load_s"],
                     "sentences_per_s": round(len(rows) / sum(took), 1), "chars_per_s": round(chars / sum(took)),
                     "p50_ms": percentile_ms(took, 50), "p99_ms": percentile_ms(took, 99), "found": found}
    return out


def run(args) -> dict:
    rows = [json.loads(line) for line in Path(args.data).read_text(encoding="utf-8").splitlines() if line.strip()]
    if args.split != "all":
        rows = [r for r in rows if r["split"] == args.split]
    detectors = {"current": Detector()}
    if args.baseline:
        detectors[f"baseline {args.baseline}"] = baseline_detector(args.baseline)
    measured = measure(rows, detectors)
    current = measured.pop("current")
    found = current.pop("found")
    result = {"machine": machine(), "split": args.split, "sentences": len(rows), **current,
              "examples": misses(rows, found) if args.examples else []}
    for name, other in measured.items():
        other.pop("found")
        result["baseline"] = {"revision": name.split(" ", 1)[1], **other}
    return result


def _report(title: str, r: dict) -> str:
    head = (f"{title}\npipeline load {r['load_s']} s; {r['sentences_per_s']} sentences/s ({r['chars_per_s']} chars/s), "
            f"p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms per sentence\n")
    body = table(r["per_type"], ["type", "labelled", "found", "precision", "recall", "masked", "target_masked", "met"])
    neg = r["hard_negatives"]
    tail = (f"\nhard negatives: {neg['masked']} of {neg['sentences']} masked needlessly, {neg['per_80']} per 80 "
            f"(target at most {neg['target_per_80']}): {'met' if neg['met'] == 'yes' else 'NOT met'}")
    return head + body + tail


def render(r: dict) -> str:
    out = (f"sanitizer on {r['sentences']} labelled sentences ({r['split']} split)\n{machine_line(r['machine'])}\n\n"
           + _report("current detector", r))
    if "baseline" in r:
        b = r["baseline"]
        out += "\n\n" + _report(f"baseline detector ({b['revision']}), the same sentences in turns", b)
        out += f"\n\nspeed, current / baseline: {r['sentences_per_s'] / b['sentences_per_s']:.2f}"
    return out + ("\n\n" + "\n".join(r["examples"]) if r["examples"] else "")


def _arguments(p) -> None:
    p.add_argument("--data", default=str(DATA), help="labelled JSONL (bench/pii_corpus.py writes it)")
    p.add_argument("--split", default="test", choices=["test", "dev", "all"])
    p.add_argument("--examples", action="store_true", help="also list missed and spurious spans")
    p.add_argument("--baseline", metavar="REV", help="also run the detector of git revision REV, side by side")


main = main_of("python -m bench.sanitize", __doc__, _arguments, run, render)

if __name__ == "__main__":
    sys.exit(main())
