"""bench.encoder: a row per backend and batch size, each measured and scored on the same texts."""

from __future__ import annotations

import json

import pytest

from bench import encoder as bench_encoder
from index.encoder import CPU_BATCH

TOPICS = ["vitamin d and bone fractures", "insulin resistance in obesity", "tumour suppressor genes",
          "antibiotic resistance of bacteria", "sleep and memory consolidation", "statins and heart disease"]


def _beir(folder) -> None:
    """A BEIR-layout data set: a document per topic, and a query that asks for it."""
    (folder / "qrels").mkdir()
    (folder / "corpus.jsonl").write_text("".join(
        json.dumps({"_id": f"d{i}", "title": t.title(), "text": f"A study of {t}. " * (1 + 40 * (i % 2))}) + "\n"
        for i, t in enumerate(TOPICS)))
    (folder / "queries.jsonl").write_text("".join(json.dumps({"_id": f"q{i}", "text": f"what about {t}?"}) + "\n"
                                                  for i, t in enumerate(TOPICS)))
    (folder / "qrels" / "train.tsv").write_text("query-id\tcorpus-id\tscore\n" +
                                                "".join(f"q{i}\td{i}\t1\n" for i in range(len(TOPICS))))


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("beir")
    _beir(folder)
    return folder


def _run(data, capsys, *args: str) -> dict:
    assert bench_encoder.main(["--data", str(data), "--queries", "0", "--docs", "0", "--agreement", "4",
                               "--cache-dir", str(data / "onnx"), "--precisions", "fp32", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_each_backend_runs_once_per_batch_size(data, capsys):
    report = _run(data, capsys, "--backends", "torch,onnx-int8", "--batch-sizes", "2,4")
    assert [(r["backend"], r["batch"]) for r in report["rows"]] == [
        ("torch-fp32 b2", 2), ("torch-fp32 b4", 4), ("onnx-int8 b2", 2), ("onnx-int8 b4", 4)]
    assert all(r["passages_per_s"] > 0 and r["ndcg@10"] > 0.5 for r in report["rows"])
    # a batch size changes the speed, not the vectors: each backend's quality is the same at every size
    assert len({(r["backend"].split()[0], r["ndcg@10"], r["hybrid_ndcg@10"]) for r in report["rows"]}) == 2


def test_without_batch_sizes_each_backend_runs_at_the_agents_default(data, capsys):
    report = _run(data, capsys, "--backends", "onnx-int8")
    assert [(r["backend"], r["batch"]) for r in report["rows"]] == [("onnx-int8", CPU_BATCH)]


def test_a_batch_size_named_twice_or_below_one_is_refused(data):
    for sizes in ("16,16", "0,8"):
        with pytest.raises(SystemExit, match="name each batch size once, each at least 1"):
            bench_encoder.main(["--data", str(data), "--backends", "onnx-int8", "--batch-sizes", sizes])
