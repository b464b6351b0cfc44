"""Fit the name scorer's weights on the labelled set's dev split.

    python -m bench.train_names [--data bench/data/pii_sentences.jsonl] [--threshold 0.28] [--json]

Every candidate name span the detector considers (NER's, runs of proper nouns, cued ones) in the
``dev`` sentences, but those inside a longer candidate, is labelled by whether it overlaps a
labelled person, place or organisation;
a logistic regression (Newton's method, L2-penalised) is fitted to their features and written to
``policy/name_weights.json``. The ``test`` split is never read here: ``python -m bench.sanitize``
reports on it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from bench.common import main_of
from bench.sanitize import DATA
from policy.name_scorer import FEATURES, WEIGHTS
from policy.pii import NAMED, Detector

L2 = 1.0
#: features that say what a span is other than a name (software, a medicine, a gene, a heading of ordinary
#: words): barely penalised, so that the few dev spans that carry one decide their weight, not the prior. With
#: the usual penalty, five examples among 686 candidates move a weight by less than one: far from enough to
#: outweigh NER's word, and no dev name carries one
L2_KIND = 0.05
KIND_FEATURES = ("software", "medicine", "gene", "common_heading", "first_word_plain")
#: chosen on dev: the highest threshold at which the dev split masks at least 0.975 of person names (half a
#: point above the target) and 0.95 of places and organisations; a name left in a prompt is a leak
THRESHOLD = 0.28


def labelled_candidates(rows: list[dict], detector: Detector) -> tuple[np.ndarray, np.ndarray]:
    """Each candidate's features and whether it overlaps a labelled name. A candidate inside a longer one
    ("Hospital" in "St Thomas' Hospital") is left out: it would count as a name only by the longer one's
    label, and teach that an ordinary word is a name."""
    X, y = [], []
    for row in rows:
        gold = [(s["start"], s["end"]) for s in row["spans"] if s["type"] in NAMED]
        candidates = detector.name_candidates(row["text"])
        spans = {(f.start, f.end) for f, _, _ in candidates}
        for f, _, feats in candidates:
            if any(a <= f.start and f.end <= b and (a, b) != (f.start, f.end) for a, b in spans):
                continue
            X.append([feats[k] for k in FEATURES])
            y.append(float(any(a < f.end and f.start < b for a, b in gold)))
    return np.array(X), np.array(y)


def fit(X: np.ndarray, y: np.ndarray, l2: float = L2, steps: int = 50) -> np.ndarray:
    """Logistic regression by Newton's method; the bias (column 0) is not penalised, the features that say
    what a span is other than a name (``KIND_FEATURES``) hardly."""
    w = np.zeros(X.shape[1])
    penalty = np.full(X.shape[1], l2)
    penalty[0] = 0.0
    if X.shape[1] == len(FEATURES):
        penalty[[FEATURES.index(k) for k in KIND_FEATURES]] = L2_KIND
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-np.clip(X @ w, -30, 30)))
        grad = X.T @ (p - y) + penalty * w
        hess = (X * (p * (1 - p))[:, None]).T @ X + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def run(args) -> dict:
    rows = [json.loads(line) for line in Path(args.data).read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = [r for r in rows if r["split"] == "dev"]
    X, y = labelled_candidates(rows, Detector())
    w = fit(X, y)
    p = 1.0 / (1.0 + np.exp(-(X @ w)))
    kept = p >= args.threshold
    weights = {k: round(float(v), 4) for k, v in zip(FEATURES, w)}
    WEIGHTS.write_text(json.dumps({"threshold": args.threshold, "fitted_on": "dev split of bench/data/pii_sentences.jsonl",
                                   "candidates": int(len(y)), "weights": weights}, indent=1) + "\n", encoding="utf-8")
    return {"sentences": len(rows), "candidates": int(len(y)), "names": int(y.sum()),
            "kept_names": int((kept & (y == 1)).sum()), "kept_others": int((kept & (y == 0)).sum()),
            "weights": weights, "written": str(WEIGHTS)}


def render(r: dict) -> str:
    lines = [f"{r['candidates']} candidates in {r['sentences']} dev sentences, {r['names']} of them names; "
             f"kept {r['kept_names']} names and {r['kept_others']} others; weights written to {r['written']}"]
    lines += [f"  {k:22s} {v:+.3f}" for k, v in sorted(r["weights"].items(), key=lambda kv: -abs(kv[1]))]
    return "\n".join(lines)


def _arguments(p) -> None:
    p.add_argument("--data", default=str(DATA), help="labelled JSONL (bench/pii_corpus.py writes it)")
    p.add_argument("--threshold", type=float, default=THRESHOLD, help="the probability at which a candidate is masked")


main = main_of("python -m bench.train_names", __doc__, _arguments, run, render)

if __name__ == "__main__":
    sys.exit(main())
