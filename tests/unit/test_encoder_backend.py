"""Choosing the encoder's backend, and the cache of exported ONNX graphs (with the export faked).

The export itself (torch, ONNX Runtime's optimizer, quantisation) is exercised against the real
weights in tests/contract/test_onnx_encoder.py; here a stand-in writes a few bytes, so the
caching, keying and locking are checked in milliseconds.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from index import onnx_encoder
from index.encoder import BACKENDS, MODEL_ID, make_encoder, resolve_backend, vectors_id

pytestmark = pytest.mark.unit


def test_a_bad_backend_is_refused_by_the_settings_with_the_choices(monkeypatch):
    from pydantic import ValidationError

    from mesh.settings import Settings

    for backend in BACKENDS:
        monkeypatch.setenv("SWITCHBOARD_ENCODER_BACKEND", backend)
        assert Settings().encoder_backend == backend
    monkeypatch.setenv("SWITCHBOARD_ENCODER_BACKEND", "tensorrt")
    with pytest.raises(ValidationError) as refused:
        Settings()
    message = str(refused.value)
    assert "encoder_backend" in message and "'auto', 'torch', 'onnx' or 'onnx-int8'" in message, message


#: /proc/cpuinfo's flags lines of two x86 CPUs: with AVX-512 BF16 and VNNI but no AMX (AMD Zen 4), and with AMX
ZEN4 = "flags\t\t: fpu avx2 avx512f avx512_bf16 avx512_vnni\n"
SAPPHIRE_RAPIDS = "flags\t\t: fpu avx2 avx512f avx512_bf16 avx512_vnni amx_bf16 amx_tile amx_int8\n"


def test_the_default_backend_is_auto_and_the_batch_size_the_devices(monkeypatch):
    from mesh.settings import Settings

    monkeypatch.delenv("SWITCHBOARD_ENCODER_BACKEND", raising=False)
    monkeypatch.delenv("SWITCHBOARD_ENCODER_BATCH_SIZE", raising=False)
    assert Settings().encoder_backend == "auto"
    assert Settings().encoder_batch_size is None  # each encoder takes its device's size (CPU_BATCH, GPU_BATCH)


def test_auto_is_int8_on_a_cpu_without_amx_and_torch_on_amx_or_a_gpu():
    assert resolve_backend("auto", cuda=False, cpuinfo=ZEN4) == "onnx-int8"
    assert resolve_backend("auto", cuda=False, cpuinfo="") == "onnx-int8"  # flags unknown: int8, fast everywhere
    assert resolve_backend("auto", cuda=False, cpuinfo=SAPPHIRE_RAPIDS) == "torch"
    assert resolve_backend("auto", cuda=True, cpuinfo=ZEN4) == "torch"
    for b in BACKENDS:  # a named backend stays whatever the machine
        assert {resolve_backend(b, cuda=c, cpuinfo=f) for c in (False, True) for f in (ZEN4, SAPPHIRE_RAPIDS)} == {b}


def test_an_unknown_backend_is_refused_before_anything_loads():
    with pytest.raises(ValueError, match="use auto, torch, onnx or onnx-int8"):
        vectors_id("openvino", "auto")
    with pytest.raises(ValueError, match="use auto, torch, onnx or onnx-int8"):
        make_encoder("openvino")


def test_vectors_are_keyed_by_what_they_are():
    assert vectors_id("torch", "fp32") == vectors_id("onnx", "bf16") == MODEL_ID  # fp32 either way: shared
    assert vectors_id("torch", "bf16") == f"{MODEL_ID}@bf16"
    assert vectors_id("onnx-int8", "fp32") == f"{MODEL_ID}@int8-token-v2"  # int8 vectors are never served as fp32's
    assert len({vectors_id(b, "bf16") for b in BACKENDS}) == 3


def test_auto_keys_vectors_by_what_it_resolves_to(monkeypatch):
    import index.encoder

    monkeypatch.setattr(index.encoder, "encoder_device", lambda cuda=None: "cpu")
    monkeypatch.setattr(index.encoder, "cpu_flags", lambda cpuinfo=None: frozenset({"avx512_bf16"}))
    assert vectors_id("auto", "bf16") == f"{MODEL_ID}@int8-token-v2"
    monkeypatch.setattr(index.encoder, "cpu_flags", lambda cpuinfo=None: frozenset({"avx512_bf16", "amx_bf16"}))
    assert vectors_id("auto", "bf16") == f"{MODEL_ID}@bf16"
    monkeypatch.setattr(index.encoder, "encoder_device", lambda cuda=None: "cuda")
    monkeypatch.setattr(index.encoder, "cpu_flags", lambda cpuinfo=None: frozenset())
    assert vectors_id("auto", "bf16") == f"{MODEL_ID}@bf16"


@pytest.fixture
def weights(tmp_path) -> Path:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"weights")
    (folder / "config.json").write_text("{}")
    return folder


@pytest.fixture
def exports(monkeypatch) -> list[str]:
    """Fake exports that take a while and record each call."""
    calls: list[str] = []

    def fake_export(model_dir: Path, out: Path) -> None:
        calls.append("fp32")
        time.sleep(0.2)
        out.write_bytes(b"fp32 graph")

    def fake_quantize(fp32: Path, out: Path, signed: bool) -> None:
        calls.append("int8" if signed else "int8 unsigned")
        out.write_bytes(fp32.read_bytes() + b" in int8")

    monkeypatch.setattr(onnx_encoder, "_export_fp32", fake_export)
    monkeypatch.setattr(onnx_encoder, "_quantize", fake_quantize)
    return calls


def test_a_graph_is_exported_once_then_found_in_the_cache(tmp_path, weights, exports):
    cache = tmp_path / "cache"
    first = onnx_encoder.graph_path(cache, weights, int8=False)
    again = onnx_encoder.graph_path(cache, weights, int8=False)
    assert first == again and first.read_bytes() == b"fp32 graph" and exports == ["fp32"]
    int8 = onnx_encoder.graph_path(cache, weights, int8=True)  # quantised from the cached fp32 graph
    assert int8 != first and int8.read_bytes() == b"fp32 graph in int8" and exports == ["fp32", "int8"]
    assert not list(cache.glob("*.tmp")) and not list(cache.glob("*.raw"))


def test_a_cpu_whose_int8_sums_saturate_gets_unsigned_weights_in_a_graph_of_their_own(tmp_path, weights, exports,
                                                                                    monkeypatch):
    cache = tmp_path / "cache"
    signed = onnx_encoder.graph_path(cache, weights, int8=True)
    monkeypatch.setattr(onnx_encoder, "signed_weights_safe", lambda: False)
    unsigned = onnx_encoder.graph_path(cache, weights, int8=True)
    assert exports == ["fp32", "int8", "int8 unsigned"]
    assert signed.name.endswith("-int8.onnx") and unsigned.name.endswith("-int8u.onnx")


def test_two_loaders_at_once_export_once(tmp_path, weights, exports):
    cache = tmp_path / "cache"
    found: list[Path] = []
    loaders = [threading.Thread(target=lambda: found.append(onnx_encoder.graph_path(cache, weights, int8=True)))
               for _ in range(3)]
    for t in loaders:
        t.start()
    for t in loaders:
        t.join()
    assert exports == ["fp32", "int8"]
    assert len(set(found)) == 1 and found[0].read_bytes() == b"fp32 graph in int8"


def test_new_weights_are_exported_anew(tmp_path, weights, exports):
    cache = tmp_path / "cache"
    before = onnx_encoder.graph_path(cache, weights, int8=False)
    (weights / "model.safetensors").write_bytes(b"other weights")
    after = onnx_encoder.graph_path(cache, weights, int8=False)
    assert before != after and exports == ["fp32", "fp32"]


def test_a_failed_export_leaves_nothing_that_passes_for_a_graph(tmp_path, weights, monkeypatch):
    def broken(model_dir: Path, out: Path) -> None:
        out.write_bytes(b"half a gra")
        raise RuntimeError("export failed")

    monkeypatch.setattr(onnx_encoder, "_export_fp32", broken)
    cache = tmp_path / "cache"
    with pytest.raises(RuntimeError, match="export failed"):
        onnx_encoder.graph_path(cache, weights, int8=False)
    assert not list(cache.glob("*.onnx")) and not list(cache.glob("*.tmp"))


def test_the_default_cache_is_the_users(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert onnx_encoder.default_cache_dir() == tmp_path / ".cache" / "switchboard" / "onnx"
