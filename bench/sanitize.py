"""Precision and recall of the sanitizer's detector per entity type, and its throughput.

    python -m bench.sanitize [--data bench/data/pii_sentences.jsonl] [--split test|dev|all] [--json]

Runs ``policy.pii.Detector`` (Presidio with spaCy's small English pipeline, offline, plus the
project's recognizers) over the project's labelled set (``bench/pii_corpus.py`` generates it;
tuning looked only at the ``dev`` split, so ``test`` is the honest figure). A found span counts
as a true positive when it overlaps a labelled span of the same type; a labelled span is
recalled when some found span of its type overlaps it. Targets: recall at least 0.99 on the
structured types and 0.85 on person names, precision at least 0.9 on every type. The ``masked``
column is what protection depends on: the share of labelled values masked under any type (a
name the NER calls an organisation is still masked, but is a miss in the per-type recall).
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


def target_recall(kind: str) -> float | None:
    return 0.99 if kind in STRUCTURED else 0.85 if kind == "PERSON" else None


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
        want = target_recall(t)
        out.append({"type": t, "labelled": n_gold[t], "found": n_found[t], "precision": round(p, 3),
                    "recall": round(r, 3), "target_recall": want or "-",
                    "masked": round(masked[t] / n_gold[t], 3) if n_gold[t] else 1.0,
                    "met": "yes" if p >= 0.9 and (want is None or r >= want) else "NO"})
    return out


def misses(rows: list[dict], found: list[list[tuple[str, int, int]]], limit: int = 400) -> list[str]:
    """A few missed and spurious spans, to say where the shortfall is."""
    out = []
    for row, spans in zip(rows, found):
        text = row["text"]
        for s in row["spans"]:
            if not any(t == s["type"] and a < s["end"] and s["start"] < b for t, a, b in spans):
                out.append(f"missed {s['type']}: {text[s['start']:s['end']]!r}")
        for t, a, b in spans:
            if not any(s["type"] == t and a < s["end"] and s["start"] < b for s in row["spans"]):
                out.append(f"spurious {t}: {text[a:b]!r}")
    return out[:limit]


def run(args) -> dict:
    rows = [json.loads(line) for line in Path(args.data).read_text(encoding="utf-8").splitlines() if line.strip()]
    if args.split != "all":
        rows = [r for r in rows if r["split"] == args.split]
    detector = Detector()
    t0 = time.perf_counter()
    detector.warm()
    load_s = time.perf_counter() - t0
    found, took = [], []
    for row in rows:
        t0 = time.perf_counter()
        spans = detector.find(row["text"])
        took.append(time.perf_counter() - t0)
        found.append([(f.type, f.start, f.end) for f in spans])
    chars = sum(len(r["text"]) for r in rows)
    return {"machine": machine(), "split": args.split, "sentences": len(rows), "per_type": score(rows, found),
            "load_s": round(load_s, 2), "sentences_per_s": round(len(rows) / sum(took), 1),
            "chars_per_s": round(chars / sum(took)), "p50_ms": percentile_ms(took, 50),
            "p99_ms": percentile_ms(took, 99), "examples": misses(rows, found) if args.examples else []}


def render(r: dict) -> str:
    head = (f"sanitizer on {r['sentences']} labelled sentences ({r['split']} split)\n{machine_line(r['machine'])}\n"
            f"pipeline load {r['load_s']} s; {r['sentences_per_s']} sentences/s ({r['chars_per_s']} chars/s), "
            f"p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms per sentence\n")
    body = table(r["per_type"], ["type", "labelled", "found", "precision", "recall", "target_recall", "met", "masked"])
    return head + body + ("\n\n" + "\n".join(r["examples"]) if r["examples"] else "")


def _arguments(p) -> None:
    p.add_argument("--data", default=str(DATA), help="labelled JSONL (bench/pii_corpus.py writes it)")
    p.add_argument("--split", default="test", choices=["test", "dev", "all"])
    p.add_argument("--examples", action="store_true", help="also list missed and spurious spans")


main = main_of("python -m bench.sanitize", __doc__, _arguments, run, render)

if __name__ == "__main__":
    sys.exit(main())
