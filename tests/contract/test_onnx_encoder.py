"""index.onnx_encoder.OnnxEncoder against torch's Encoder: the same vectors, the same interface, exported once.

The graphs are exported from the shipped weights into a cache folder of this module's own (so the
test sees a first export, then none), as the index agent's first start does.
"""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"  # tests only: nothing may be downloaded
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import asyncio  # noqa: E402
import threading  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from index import onnx_encoder  # noqa: E402
from index.encoder import CPU_BATCH, DIM, MODEL_ID, Encoder, make_encoder, vectors_id  # noqa: E402
from index.onnx_encoder import OnnxEncoder  # noqa: E402
from tests.contract.encoder_texts import LONG, MEDIUM, SHORT  # noqa: E402

pytestmark = pytest.mark.contract

TEXTS = [SHORT, MEDIUM, LONG, "Redis holds the idempotency ledger.", "How do I bake bread?",
         "Vitamin D deficiency is associated with a higher risk of fractures in older adults.", ""]

#: the least cosine to torch fp32 each backend must keep, text by text, and on average. fp32 agrees to
#: rounding; int8 measured at least 0.998 (0.99 for the empty text) and 0.9978 on average here, and
#: 0.999 on average over SciFact passages in bench.encoder
AGREEMENT = {"onnx": (0.9999, 0.9999), "onnx-int8": (0.985, 0.995)}


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def torch_fp32() -> Encoder:
    return Encoder(precision="fp32")


@pytest.fixture(scope="module")
def exported(cache_dir) -> dict[str, OnnxEncoder]:
    """Each ONNX backend, loaded (the first load exporting) into the module's cache folder."""
    before = onnx_encoder.export_count()
    encoders = {b: make_encoder(b, cache_dir=cache_dir) for b in ("onnx", "onnx-int8")}
    assert onnx_encoder.export_count() - before == 2  # fp32, then int8 from it
    return encoders


@pytest.fixture(scope="module", params=["onnx", "onnx-int8"])
def each(request, exported) -> OnnxEncoder:
    return exported[request.param]


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_vectors_agree_with_torch_fp32(each, torch_fp32):
    least, mean = AGREEMENT[each.backend]
    cos = cosines(each.encode(TEXTS), torch_fp32.encode(TEXTS))
    assert cos.min() > least and cos.mean() > mean, cos


def test_shape_dtype_and_unit_norm(each):
    out = each.encode(TEXTS)
    assert out.shape == (len(TEXTS), DIM) and out.dtype == np.float32
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    empty = each.encode([])
    assert empty.shape == (0, DIM) and empty.dtype == np.float32


def test_a_mixed_batch_gives_the_vectors_of_each_text_alone(each):
    """Padding must not leak into the pooled vector and the length sort must be undone; int8 scales each
    token's activations by its own values, so its texts do not move with their company either (one
    scale per batch moved them to a cosine of 0.994)."""
    rng = np.random.default_rng(0)
    texts = [" ".join(["word"] * int(n)) + f" number {i}." for i, n in enumerate(rng.integers(1, 300, 40))]
    texts += [SHORT, LONG]
    batch = each.encode(texts)
    alone = np.stack([each.encode([t])[0] for t in texts])
    assert np.abs(batch - alone).max() < 1e-5, np.abs(batch - alone).max()
    assert cosines(batch[-2:-1], batch[-1:])[0] < 0.9


def test_deterministic(each):
    assert np.array_equal(each.encode(TEXTS), each.encode(TEXTS))


def test_meaning_is_captured(each):
    a, b, c = each.encode(["How long does Kafka keep messages?", "Kafka retains records for seven days.",
                           "Whisk the eggs and bake for twenty minutes."])
    assert a @ b > a @ c + 0.2


def test_token_count_is_torchs(each, torch_fp32):
    for text in TEXTS:
        assert each.token_count(text) == torch_fp32.token_count(text)


def test_model_ids_share_fp32_and_name_int8(exported):
    assert exported["onnx"].model_id == MODEL_ID
    assert exported["onnx-int8"].model_id == f"{MODEL_ID}@int8-token-v2"


def test_a_second_load_finds_the_cached_graph_and_exports_nothing(exported, cache_dir):
    graphs = sorted(cache_dir.glob("*.onnx"))
    assert len(graphs) == 2, graphs
    stamps = {p: p.stat().st_mtime_ns for p in graphs}
    before = onnx_encoder.export_count()
    again = {b: OnnxEncoder(int8=b == "onnx-int8", cache_dir=cache_dir) for b in ("onnx", "onnx-int8")}
    assert onnx_encoder.export_count() == before
    assert {p: p.stat().st_mtime_ns for p in cache_dir.glob("*.onnx")} == stamps
    for b, e in again.items():
        assert e.graph == exported[b].graph
        assert np.array_equal(e.encode(TEXTS), exported[b].encode(TEXTS))


def test_batches_are_the_cpus_size_unless_one_is_named(exported, cache_dir):
    assert {e.batch_size for e in exported.values()} == {CPU_BATCH}
    assert make_encoder("onnx", batch_size=5, cache_dir=cache_dir).batch_size == 5


def test_vectors_are_keyed_as_the_index_agent_keys_them(exported):
    """The index agent keys cached vectors by vectors_id, without loading the encoder: the two must agree."""
    assert all(e.model_id == vectors_id(b, "auto") for b, e in exported.items())


def test_residuals_and_layer_norms_stay_two_operators(exported):
    """The export leaves out ONNX Runtime's SkipLayerNormalization fusion: behind int8 products it was the
    slowest kernel of the graph (see index.onnx_encoder)."""
    import onnx

    for e in exported.values():
        ops = [n.op_type for n in onnx.load(str(e.graph)).graph.node]
        assert "SkipLayerNormalization" not in ops
        assert ops.count("LayerNormalization") == 12 and ops.count("Attention") == 6  # two per layer; fused attention


def test_switchboard_index_encoder_exports_the_graph_ahead_of_an_agent(tmp_path, monkeypatch, capsys):
    """Set-up and the image build run it: an agent that starts afterwards finds the graph and exports nothing."""
    import json

    from mesh.cli.main import main

    monkeypatch.setenv("SWITCHBOARD_ENCODER_BACKEND", "onnx-int8")
    monkeypatch.setenv("SWITCHBOARD_ENCODER_CACHE_DIR", str(tmp_path))
    before = onnx_encoder.export_count()
    assert main(["index", "encoder", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert onnx_encoder.export_count() - before == 2  # fp32, then int8 from it
    assert (first["backend"], first["model_id"]) == ("onnx-int8", f"{MODEL_ID}@int8-token-v2")
    assert Path(first["graph"]).parent == tmp_path and Path(first["graph"]).is_file()
    assert make_encoder("onnx-int8", cache_dir=tmp_path).graph == Path(first["graph"])  # what an agent loads
    assert onnx_encoder.export_count() - before == 2
    assert main(["index", "encoder"]) == 0
    assert capsys.readouterr().out.startswith("encoder ready: onnx-int8")
    assert onnx_encoder.export_count() - before == 2  # found in the cache


def test_every_call_computes_on_the_encoders_own_thread(exported):
    e = exported["onnx"]
    ran_on: set[int] = set()
    original = e._encode

    def spy(texts):
        ran_on.add(threading.get_ident())
        return original(texts)

    e._encode = spy
    try:
        with ThreadPoolExecutor(3) as callers:
            list(callers.map(lambda t: e.encode([t]), [SHORT, MEDIUM, LONG]))
        out = asyncio.run(e.encode_async([MEDIUM]))
    finally:
        del e._encode
    assert len(ran_on) == 1 and threading.get_ident() not in ran_on
    assert np.allclose(out, e.encode([MEDIUM]))


def test_a_query_runs_on_one_thread_and_passages_on_the_encoders_threads(exported):
    e = exported["onnx"]
    threads = lambda s: int(s.get_session_options().intra_op_num_threads)
    assert threads(e._one) == 1 and threads(e._all) == e.threads == 2
