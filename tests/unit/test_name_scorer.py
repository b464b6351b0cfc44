"""The name scorer: its fitted weights cover every feature, and the fit learns what the labels say."""

import json

import numpy as np

from bench.train_names import fit
from policy.name_scorer import FEATURES, WEIGHTS, probability


def test_the_shipped_weights_were_fitted_on_the_current_features():
    shipped = json.loads(WEIGHTS.read_text(encoding="utf-8"))
    assert set(shipped["weights"]) == set(FEATURES), "features changed: run `python -m bench.train_names`"
    assert 0 < shipped["threshold"] < 1 and "dev" in shipped["fitted_on"]


def test_the_fit_weighs_evidence_by_what_it_predicts():
    rng = np.random.default_rng(7)
    cue = rng.integers(0, 2, 400).astype(float)
    noise = rng.integers(0, 2, 400).astype(float)
    X = np.column_stack([np.ones(400), cue, noise])
    y = (rng.random(400) < np.where(cue == 1, 0.9, 0.1)).astype(float)
    w = fit(X, y)
    assert w[1] > 2 and abs(w[2]) < 0.5
    assert probability({"bias": 1.0, "cue": 1.0}, {"bias": w[0], "cue": w[1]}) > 0.8
