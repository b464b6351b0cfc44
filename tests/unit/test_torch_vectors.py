"""The PyTorch vector backend's own paths: the rescoring and its fallback, gather versus mask, writes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from index.torch_vectors import TorchShard, order_rows, rounding_bound
from index.vectors import exact_search

pytestmark = pytest.mark.unit


def unit_rows(seed: int, n: int, dim: int = 24) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


VECS, IDS = unit_rows(0, 2_000), np.arange(2_000, dtype=np.int64) * 5 + 1
QUERIES = unit_rows(1, 40)


def shard(**kw) -> TorchShard:
    s = TorchShard(24, "cpu", **kw)
    s.upsert(IDS, VECS)
    return s


def test_order_rows_sorts_by_score_then_id_and_pads():
    s, i = order_rows(np.array([[0.5, 0.9, 0.5, -np.inf]], np.float32), np.array([[9, 4, 2, -1]]), 5)
    assert i.tolist() == [[4, 2, 9, -1, -1]] and np.isneginf(s[0, 3:]).all()


def test_the_rounding_bound_is_wider_in_half_precision():
    assert rounding_bound(torch.float16, 384) > 10 * rounding_bound(torch.float32, 384) > 0


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("extra", [0, 16])
def test_exact_in_every_precision_with_or_without_extra_candidates(dtype, extra):
    s = shard(dtype=dtype, chunk_rows=300, extra=extra)
    scores, ids = s.search(QUERIES, 10)
    want_s, want_i = exact_search(VECS, IDS, QUERIES, 10)
    assert np.array_equal(ids, want_i) and np.allclose(scores, want_s, atol=1e-5)


def test_a_query_the_scan_cannot_vouch_for_is_searched_again_in_float32():
    """bfloat16 rounds scores by about 1e-2, wider than the gaps: with no extra candidates, queries must fall back."""
    s = shard(dtype=torch.bfloat16, extra=0)
    calls = []
    real = s._search_all
    s._search_all = lambda *a: calls.append(1) or real(*a)
    _, ids = s.search(QUERIES, 10)
    assert calls and np.array_equal(ids, exact_search(VECS, IDS, QUERIES, 10)[1])


def test_ties_past_the_candidates_are_settled_by_id():
    dup = unit_rows(2, 1)
    s = TorchShard(24, "cpu", extra=0, chunk_rows=3)
    s.upsert(np.array([50, 10, 40, 20, 30], np.int64), np.repeat(dup, 5, axis=0))
    assert s.search(dup, 2)[1].tolist() == [[10, 20]]


@pytest.mark.parametrize("fraction", [0.0, 1.0])
def test_gathered_and_masked_allow_lists_agree(fraction):
    s = shard(gather_fraction=fraction)
    allow = IDS[::7]
    rows = np.isin(IDS, allow)
    _, ids = s.search(QUERIES, 10, allow=np.concatenate([allow, allow[:5], [0, 2]]))  # repeats and foreign ids
    assert np.array_equal(ids, exact_search(VECS[rows], IDS[rows], QUERIES, 10)[1])


def test_queries_in_several_batches_and_k_above_the_shard():
    s = shard(query_rows=7)
    scores, ids = s.search(QUERIES, 2_005)
    assert ids.shape == (40, 2_005) and (ids[:, 2_000:] == -1).all() and np.isneginf(scores[:, 2_000:]).all()
    assert np.array_equal(ids[:, :10], exact_search(VECS, IDS, QUERIES, 10)[1])


def test_upsert_takes_a_tensor_and_the_last_of_a_repeated_id_wins():
    s = TorchShard(24, "cpu")
    s.upsert(np.array([3, 3, 4]), torch.from_numpy(VECS[:3]))
    assert len(s) == 2
    assert s.search(VECS[1], 1, allow=np.array([3]))[0][0, 0] == pytest.approx(1.0, abs=1e-6)


def test_cuda_without_cuda_is_refused_clearly():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(RuntimeError, match="CUDA"):
        TorchShard(24, "cuda")
