"""bench.vectors runs end to end on a small shard: every backend exact where it should be."""

from __future__ import annotations

import json

import pytest

from bench import vectors

pytestmark = pytest.mark.unit


def test_a_small_run_reports_exact_results_for_every_allow_list(capsys):
    vectors.main(["--n", "3000", "--dim", "32", "--queries", "64", "--batch1", "2", "--threads", "1",
                  "--backends", "faiss-cpu,torch-cpu", "--allow", "1,0.1,0.01", "--json"])
    rows = json.loads(capsys.readouterr().out)["results"]
    assert len(rows) == 6 and all(r["recall@10"] == 1.0 for r in rows)
    assert [r.get("same_as_exact") for r in rows] == [None, True, True] * 2
