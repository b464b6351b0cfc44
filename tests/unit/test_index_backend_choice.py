"""Which vector backend the index agent runs for ``index_device``, and where the encoder runs."""

from __future__ import annotations

import pytest

from index.agent import choose_backend, new_shard
from index.encoder import encoder_device
from index.torch_vectors import TorchShard
from index.vectors import VectorShard

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("setting", "faiss_gpu", "torch_cuda", "want"), [
    ("gpu", True, True, "faiss-gpu"),
    ("gpu", False, True, "torch-cuda"),
    ("auto", True, True, "faiss-gpu"),
    ("auto", False, True, "torch-cuda"),
    ("auto", False, False, "faiss-cpu"),
    ("cpu", True, True, "faiss-cpu"),
])
def test_faiss_gpu_then_torch_on_cuda_then_faiss_on_the_cpu(setting, faiss_gpu, torch_cuda, want):
    assert choose_backend(setting, faiss_gpu, torch_cuda) == want


def test_gpu_with_no_gpu_anywhere_is_refused_clearly():
    with pytest.raises(RuntimeError, match="faiss-gpu"):
        choose_backend("gpu", False, False)


def test_the_shard_of_each_backend():
    assert isinstance(new_shard("faiss-cpu", 100, 4), VectorShard)
    if encoder_device() == "cuda":
        assert isinstance(new_shard("torch-cuda", 100, 4), TorchShard)


def test_the_encoder_runs_on_cuda_where_torch_sees_it():
    assert encoder_device(cuda=True) == "cuda" and encoder_device(cuda=False) == "cpu"
    import torch

    assert encoder_device() == ("cuda" if torch.cuda.is_available() else "cpu")
