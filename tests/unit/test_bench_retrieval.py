"""bench.retrieval reports the ingest rate next to the encoder's alone, measured in the same run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import ClassVar

import pytest

import index.encoder
from bench.retrieval import EncoderAlone, _cpu_per_query, _render_run
from bench.workers import cpu_seconds, stack_processes
from mesh.settings import Settings
from schemas.models import AccessAttributes

pytestmark = pytest.mark.unit


class _Encoder:
    """Encodes nothing; each call of n passages takes n / 100 seconds of the bench's clock."""

    calls: ClassVar[list[int]] = []
    backend = "torch"

    def __init__(self, threads, max_length, batch_size, precision) -> None:
        self.threads, self.batch_size, self.precision = threads, batch_size, precision

    def encode(self, texts):
        _Encoder.calls.append(len(texts))
        _Clock.now += len(texts) / 100


class _Clock:
    now = 0.0

    @staticmethod
    def perf_counter() -> float:
        return _Clock.now


def test_the_encoder_alone_is_measured_on_whole_documents_passages_and_given_in_documents_too(monkeypatch):
    import bench.retrieval

    monkeypatch.setattr(index.encoder, "Encoder", _Encoder)
    monkeypatch.setattr(bench.retrieval.time, "perf_counter", _Clock.perf_counter)
    long_text = " ".join(f"Sentence number {i} is here." for i in range(60))  # 300 words: more than one passage
    docs = [{"doc_id": f"d{i}", "title": "T", "text": long_text if i % 2 else "Short.",
             "access": AccessAttributes(tenant_id="t")} for i in range(10)]
    alone = EncoderAlone(Settings(encoder_backend="torch", encoder_precision="fp32"), docs, n_docs=4)
    assert alone.measure() == 100.0
    assert _Encoder.calls[-1] == len(alone.passages) > 4  # one call over every passage of the 4 documents
    report = alone.report([100.0, 60.0])  # before and after the ingest
    assert report["measured"] == [100.0, 60.0] and report["passages_per_s"] == 80.0 and report["precision"] == "fp32"
    assert report["docs_per_s"] == round(80.0 / report["passages_per_doc"], 1) and report["passages_per_doc"] > 1


class _OnnxEncoder(_Encoder):
    def __init__(self, threads, max_length, batch_size, int8, cache_dir) -> None:
        super().__init__(threads, max_length, batch_size, "int8" if int8 else "fp32")
        self.backend, self.cache_dir = "onnx-int8" if int8 else "onnx", cache_dir


def test_the_encoder_alone_runs_the_backend_the_index_agent_runs(monkeypatch, tmp_path):
    import index.onnx_encoder

    monkeypatch.setattr(index.onnx_encoder, "OnnxEncoder", _OnnxEncoder)
    docs = [{"doc_id": "d", "title": "T", "text": "Short.", "access": AccessAttributes(tenant_id="t")}]
    alone = EncoderAlone(Settings(encoder_backend="onnx-int8", encoder_cache_dir=tmp_path), docs, n_docs=1)
    assert alone.encoder.cache_dir == tmp_path
    report = alone.report([10.0])
    assert (report["backend"], report["precision"]) == ("onnx-int8", "int8")


def test_the_report_puts_the_ingest_rate_beside_the_encoders_and_says_what_each_pass_scanned():
    report = {**_report(), "documents": 5183, "queries": 809,
              "encoder_alone": {"passages": 1021, "measured": [110.0, 90.0], "passages_per_s": 100.0, "docs_per_s": 50.0,
                                "passages_per_doc": 2.0, "backend": "torch", "precision": "bf16", "threads": 2},
              "results": [{"mode": "hybrid", "ndcg@10": 0.7, "recall@100": 0.9, "p50_ms": 50.0, "p99_ms": 90.0,
                           "degraded": 0, "scanned": 4000}],
              "stages": [{"mode": "hybrid", "access_bm25_ms": 1, "encode_search_ms": 2, "fuse_pack_ms": 3,
                          "between_hops_ms": 4}]}
    text = _render_run(report)
    assert "(1021 passages, torch bf16, 2 threads)" in text
    assert "110.0 and 90.0 passages/s before and after the ingest, mean 100.0 = 50.0 docs/s" in text
    assert "ingest 40.0 docs/s (80% of the encoder alone)" in text
    assert "scanned" in text and "4000" in text


def test_the_warm_up_asks_distinct_titles_in_hybrid_mode_and_reports_its_own_latency():
    from bench.retrieval import _warm_up
    from schemas.models import RetrievalMode

    docs = [{"doc_id": f"d{i}", "title": f"Title {i % 5}" if i < 8 else " ", "text": "x"} for i in range(10)]
    asked = []

    def retrieve(text, mode):
        asked.append((text, mode))
        return [], 0.001 * len(asked), None

    report = _warm_up(retrieve, docs, 3, quiet=True)
    assert len(asked) == 3 == report["queries"] and len({t for t, _ in asked}) == 3
    assert all(t.startswith("Title ") and m is RetrievalMode.hybrid for t, m in asked)
    assert report["p50_ms"] == 2.0 and report["p99_ms"] > report["p50_ms"]
    assert _warm_up(retrieve, docs, 100, quiet=True)["queries"] == 5  # no more than the distinct titles
    text = _render_run({**_report(), "warmup": report})
    assert "warm-up before the passes: 3 hybrid queries" in text


def _report() -> dict:
    return {"broker": "kafka", "documents": 10, "queries": 2, "split": "train", "ingest_docs_per_s": 40.0,
            "fusion": "convex", "machine": {"cpu": "AMD EPYC", "cores": 2, "memory_gib": 23.5, "gpu": "none"},
            "encoder_threads": 2, "encoder_precision": "bf16", "sanitize": True, "fusion_sweep": [],
            "results": [], "stages": []}


def test_cpu_per_query_is_each_process_share_of_one_pass_and_their_total():
    row = _cpu_per_query("hybrid", {"retriever": 10.0, "index": 4.0}, {"retriever": 12.0, "index": 5.0}, 100)
    assert row == {"mode": "hybrid", "retriever": 20.0, "index": 10.0, "total": 30.0}
    report = {**_report(), "results": [], "stages": [], "cpu_per_query_ms": [row]}
    text = _render_run(report)
    assert "CPU per query, ms, by process (2 cores)" in text
    assert "retriever" in text and "30.0" in text


def test_the_stacks_processes_come_from_its_pid_file_and_their_cpu_from_proc(tmp_path):
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        (tmp_path / "stack.json").write_text(json.dumps({"agent-retriever": busy.pid, "redis": 2 ** 22 + 7}))
        procs = stack_processes(Settings(run_dir=tmp_path))
        assert procs == {"retriever": busy.pid, "bench client": os.getpid()}  # the dead pid is left out
        first, deadline = cpu_seconds(procs)["retriever"], time.monotonic() + 30
        while cpu_seconds(procs)["retriever"] <= first and time.monotonic() < deadline:
            time.sleep(0.01)
        assert cpu_seconds(procs)["retriever"] > first  # a spinning process's CPU time moves on
    finally:
        busy.kill()
        busy.wait()
