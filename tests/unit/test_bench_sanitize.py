"""bench.sanitize's scoring: masked share counts any type, needless masks count only hard negatives."""

from bench.sanitize import needless, score


def test_a_value_masked_under_another_type_counts_as_masked_but_not_as_recalled():
    rows = [{"text": "Ana Lopez", "spans": [{"type": "PERSON", "start": 0, "end": 9}]}]
    person = next(r for r in score(rows, [[("ORGANIZATION", 0, 9)]]) if r["type"] == "PERSON")
    assert person["masked"] == 1.0 and person["recall"] == 0.0 and person["met"] == "yes"
    person = next(r for r in score(rows, [[]]) if r["type"] == "PERSON")
    assert person["masked"] == 0.0 and person["met"] == "NO"


def test_needless_masks_are_counted_per_80_hard_negatives():
    rows = [{"text": "Order 4155550134", "spans": [], "negative": True},
            {"text": "Build 20260409.16", "spans": [], "negative": True},
            {"text": "Ana", "spans": [{"type": "PERSON", "start": 0, "end": 3}]}]
    got = needless(rows, [[("PHONE_NUMBER", 6, 16)], [], [("PERSON", 0, 3)]])
    assert got["sentences"] == 2 and got["masked"] == 1 and got["per_80"] == 40.0 and got["met"] == "NO"


def test_the_baseline_detector_runs_the_whole_policy_package_of_its_revision():
    import sys
    from pathlib import Path

    import policy.name_scorer
    import policy.pii
    from bench.sanitize import baseline_detector

    old = baseline_detector("HEAD")
    rules = type(old).__init__.__globals__  # the revision's policy.pii module
    assert type(old) is not policy.pii.Detector
    assert Path(rules["__file__"]).parent != Path(policy.pii.__file__).parent
    assert Path(rules["name_scorer"].__file__).parent == Path(rules["__file__"]).parent  # its scorer and weights
    assert sys.modules["policy.pii"] is policy.pii and sys.modules["policy.name_scorer"] is policy.name_scorer
