"""bench.encoder_speed: every passage fills the encoder's maximum length, and each row is measured."""

from __future__ import annotations

import json

from bench import encoder_speed


def test_passages_fill_the_maximum_length_and_every_row_is_timed(capsys):
    assert encoder_speed.main(["--precisions", "fp32", "--batch-sizes", "4,8", "--passages", "8", "--queries", "3",
                               "--word-pieces", "64", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["word_pieces"] == 64  # truncation, not the text, set every passage's length
    assert [(r["device"], r["precision"], r["batch"]) for r in report["rows"]] == [("cpu", "fp32", 4), ("cpu", "fp32", 8)]
    assert all(r["passages_per_s"] > 0 and 0 < r["query_p50_ms"] <= r["query_p99_ms"] for r in report["rows"])
