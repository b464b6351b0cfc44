"""One contract suite for the vector backends (``index.vectors.VectorShard`` on FAISS, ``index.torch_vectors.TorchShard``
on PyTorch), run on every backend this machine has.

FAISS on the CPU always, twice: as it runs, and filtering the way the GPU backend must (FAISS's GPU indexes
take no id filter and select at most 2048 results, so it over-fetches under a cap and filters),
with the cap scaled down to this suite's 300 vectors so it binds; CI has no GPU, and this is how
that logic is tested there. FAISS on the GPU as well where FAISS sees one. The same cases run on an exact shard (flat inner
product below ``exact_threshold``) and an approximate one (IVF above it): top-k equals brute
force where the shard is exact, upsert replaces, remove drops, an allow-list is never escaped
(with -1 padding when it is shorter than k), approximate recall is high, results are deterministic.

The PyTorch backend is always exact, so its "approximate" kind is the same exact shard. It runs on the CPU
always (in float32, and in half precision, which is how it runs on a GPU: scanned in half, rescored in float32),
in chunks far smaller than the shard so the merge across chunks is exercised, and on ``cuda`` where torch sees it.
Helpers are in ``vector_helpers``; the FAISS-only cases (``filter_in_faiss``, ``max_k``) skip the torch backend.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.torch_vectors import cuda_available
from index.vectors import GPU_MAX_K, VectorShard, exact_search, gpu_available
from tests.contract.vector_helpers import (
    BACKENDS,
    DIM,
    FOREIGN,
    IDS,
    KINDS,
    SMALL_MAX_K,
    VECS,
    N,
    brute_force,
    make_shard,
    new_shard,
    true_scores,
    unit_rows,
)

pytestmark = pytest.mark.contract


@pytest.fixture(scope="module", params=list(BACKENDS))
def backend(request) -> dict:
    return BACKENDS[request.param]


@pytest.fixture(scope="module")
def shards(backend) -> dict:
    """Read-only shards for the search-only cases (mutating cases build their own)."""
    return {kind: make_shard(backend, kind) for kind in KINDS}


def test_backends_include_cpu_and_gpu_when_present():
    assert "cpu" in BACKENDS
    assert ("gpu" in BACKENDS) == gpu_available()
    assert "torch-cpu" in BACKENDS and ("torch-cuda" in BACKENDS) == cuda_available()


def faiss_only(backend: dict) -> None:
    if "torch" in backend:
        pytest.skip("FAISS's own limits (filter_in_faiss, max_k): the torch backend scans, exactly, whatever k")


def test_a_gpu_shard_filters_by_over_fetching_under_faiss_gpu_limit_and_a_cpu_one_inside_faiss():
    cpu = VectorShard(DIM)
    assert cpu.filter_in_faiss and cpu.max_k is None
    if gpu_available():
        gpu = VectorShard(DIM, device="gpu")
        assert not gpu.filter_in_faiss and gpu.max_k == GPU_MAX_K == 2048
        with pytest.raises(ValueError, match="no id filter"):
            VectorShard(DIM, device="gpu", filter_in_faiss=True)


class _Counting:
    """A FAISS index that records the k of every search it is asked for."""

    def __init__(self, index) -> None:
        self.index, self.asked = index, []

    def search(self, queries, k, **kw):
        self.asked.append(k)
        return self.index.search(queries, k, **kw)


@pytest.mark.parametrize("k", [5, SMALL_MAX_K, SMALL_MAX_K + 1, 150])
def test_no_index_search_asks_for_more_than_max_k_and_results_stay_exact_where_it_would(backend, k):
    """Over-fetching for a broad allow-list is capped at max_k (FAISS on a GPU refuses more); a k above
    the cap is searched exactly; the allow-list still holds and nothing allowed is lost."""
    faiss_only(backend)
    shard = make_shard({**backend, "max_k": SMALL_MAX_K}, "approximate")
    counting = _Counting(shard._ensure_index())
    shard._index = counting
    queries = unit_rows(np.random.default_rng(20), 6)
    allow = IDS[::4]  # 75 of 300: broad enough for the index, not for an over-fetch of 2 * k * 4
    s, i = shard.search(queries, k, allow=allow)
    s_all, i_all = shard.search(queries, k)
    assert all(asked <= SMALL_MAX_K for asked in counting.asked), counting.asked
    assert np.isin(i[i >= 0], allow).all() and (i >= 0).sum(axis=1).tolist() == [min(k, len(allow))] * 6
    assert (i_all >= 0).all()
    if k > SMALL_MAX_K:
        rows = np.flatnonzero(np.isin(IDS, allow))
        assert np.array_equal(i, brute_force(VECS[rows], IDS[rows], queries, k)[1])
        assert np.array_equal(i_all, brute_force(VECS, IDS, queries, k)[1])
        assert counting.asked == []  # the index was not asked at all


def test_gpu_device_without_a_gpu_is_refused_clearly():
    if gpu_available():
        assert len(VectorShard(DIM, device="gpu")) == 0
    else:
        with pytest.raises(RuntimeError, match="gpu"):
            VectorShard(DIM, device="gpu")


# --- exact search -------------------------------------------------------------------------------------

@pytest.mark.parametrize("k", [1, 10, N, N + 5])
def test_exact_search_helper_equals_brute_force(k):
    queries = unit_rows(np.random.default_rng(1), 5)
    s, i = exact_search(VECS, IDS, queries, k)
    bs, bi = brute_force(VECS, IDS, queries, k)
    assert np.array_equal(i, bi)
    assert np.allclose(s[bi >= 0], bs[bi >= 0], atol=1e-6)
    assert np.isneginf(s[bi < 0]).all()


def test_exact_search_breaks_ties_by_id():
    vecs = np.repeat(unit_rows(np.random.default_rng(3), 1), 4, axis=0)
    ids = np.array([40, 10, 30, 20], dtype=np.int64)
    s, i = exact_search(vecs, ids, vecs[:1], 3)
    assert i.tolist() == [[10, 20, 30]]
    assert len(set(s[0].tolist())) == 1


def test_exact_search_of_nothing_is_all_padding():
    s, i = exact_search(np.zeros((0, DIM), np.float32), np.zeros(0, np.int64), unit_rows(np.random.default_rng(0), 2), 4)
    assert (i == -1).all() and np.isneginf(s).all() and i.shape == (2, 4)


@pytest.mark.parametrize("k", [1, 10, N + 5])
def test_exact_shard_equals_brute_force(shards, k):
    queries = unit_rows(np.random.default_rng(2), 7)
    s, i = shards["exact"].search(queries, k)
    bs, bi = brute_force(VECS, IDS, queries, k)
    assert i.dtype == np.int64 and i.shape == (7, k) and s.shape == (7, k)
    assert np.array_equal(i, bi)
    assert np.allclose(s[bi >= 0], bs[bi >= 0], atol=1e-5)
    assert np.isneginf(s[bi < 0]).all()


def test_a_single_query_vector_is_accepted(shards):
    q = unit_rows(np.random.default_rng(5), 1)
    s1, i1 = shards["exact"].search(q[0], 4)
    s2, i2 = shards["exact"].search(q, 4)
    assert i1.shape == (1, 4) and np.array_equal(i1, i2) and np.array_equal(s1, s2)



@pytest.mark.parametrize("allow", [None, np.arange(3)], ids=["all", "allow-list"])
def test_no_queries_give_no_rows(shards, allow):
    s, i = shards["exact"].search(np.zeros((0, DIM), np.float32), 4, allow=allow)
    assert s.shape == i.shape == (0, 4)

# --- upsert and remove ----------------------------------------------------------------------------------

def _check_replaced(shard, target: int, old: np.ndarray, new: np.ndarray) -> None:
    assert len(shard) == N  # replaced, not added
    s, i = shard.search(new[None], 1, allow=np.array([target]))
    assert i.tolist() == [[target]] and s[0, 0] == pytest.approx(1.0, abs=1e-5)
    s, i = shard.search(old[None], 5, allow=np.array([target]))
    assert i[0, 0] == target and s[0, 0] == pytest.approx(float(old @ new), abs=1e-5)  # the old vector is gone
    assert (i[0, 1:] == -1).all()  # held once
    s, i = shard.search(new[None], 3)
    assert i[0, 0] == target and s[0, 0] == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("kind", KINDS)
def test_upsert_replaces_the_vector_under_an_existing_id(backend, kind):
    shard = make_shard(backend, kind)
    target = int(IDS[123])
    new = unit_rows(np.random.default_rng(9), 1)[0]
    shard.upsert(np.array([target]), new[None])
    _check_replaced(shard, target, VECS[123], new)


@pytest.mark.parametrize("kind", KINDS)
def test_upsert_replaces_after_the_shard_has_served_searches(backend, kind):
    """A shard that has answered queries (its FAISS index built) must take updates too."""
    shard = make_shard(backend, kind)
    shard.search(unit_rows(np.random.default_rng(8), 2), 5)
    shard.search(unit_rows(np.random.default_rng(8), 2), 5, allow=IDS[:200])
    target = int(IDS[77])
    new = unit_rows(np.random.default_rng(10), 1)[0]
    shard.upsert(np.array([target]), new[None])
    _check_replaced(shard, target, VECS[77], new)


@pytest.mark.parametrize("kind", KINDS)
def test_upsert_adds_new_ids_after_searches(backend, kind):
    shard = make_shard(backend, kind)
    shard.search(unit_rows(np.random.default_rng(8), 2), 5)
    new = unit_rows(np.random.default_rng(11), 1)
    shard.upsert(np.array([100_000]), new)
    assert len(shard) == N + 1
    s, i = shard.search(new, 1)
    assert i.tolist() == [[100_000]] and s[0, 0] == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("searched_first", [False, True])
@pytest.mark.parametrize("kind", KINDS)
def test_remove_drops_ids(backend, kind, searched_first):
    shard = make_shard(backend, kind)
    queries = np.concatenate([VECS[:20], unit_rows(np.random.default_rng(12), 5)])
    if searched_first:
        shard.search(queries, 5)
    gone = IDS[:20]
    shard.remove(gone)
    assert len(shard) == N - 20
    _, i = shard.search(queries, N)
    assert not np.isin(i, gone).any()
    assert (i[:, 0] >= 0).all()
    # asking for removed ids by name returns nothing of them
    _, i = shard.search(queries, 10, allow=gone)
    assert (i == -1).all()
    _, i = shard.search(queries, 10, allow=np.concatenate([gone, IDS[20:23]]))
    assert set(i[i >= 0].tolist()) == set(IDS[20:23].tolist())
    # each removed vector's nearest neighbour is now someone else
    s, i = shard.search(VECS[:20], 1)
    assert not np.isin(i, gone).any()


@pytest.mark.parametrize("kind", KINDS)
def test_remove_of_unknown_or_no_ids_is_a_no_op(backend, kind):
    shard = make_shard(backend, kind)
    q = unit_rows(np.random.default_rng(13), 3)
    before = shard.search(q, 10)
    shard.remove(np.array(FOREIGN, dtype=np.int64))
    shard.remove(np.zeros(0, dtype=np.int64))
    assert len(shard) == N
    after = shard.search(q, 10)
    assert np.array_equal(before[1], after[1]) and np.array_equal(before[0], after[0])


# --- the allow-list is never escaped --------------------------------------------------------------------

@st.composite
def allow_cases(draw):
    pool = IDS.tolist() + FOREIGN
    allow = draw(st.one_of(
        st.just([]),
        st.lists(st.sampled_from(pool), unique=True, max_size=12),    # selective: exact over the allowed
        st.lists(st.sampled_from(pool), unique=True, min_size=13, max_size=N + len(FOREIGN)),
    ))
    k = draw(st.integers(min_value=1, max_value=max(1, len(allow)) + 20))
    seed = draw(st.integers(min_value=0, max_value=2**32 - 1))
    n_queries = draw(st.integers(min_value=1, max_value=3))
    return np.array(allow, dtype=np.int64), k, seed, n_queries


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=50, deadline=None)
@given(case=allow_cases())
def test_property_search_never_returns_an_id_outside_the_allow_list(shards, kind, case):
    allow, k, seed, n_queries = case
    shard = shards[kind]
    queries = unit_rows(np.random.default_rng(seed), n_queries)
    s, i = shard.search(queries, k, allow=allow)
    held = allow[np.isin(allow, IDS)]
    assert i.shape == (n_queries, k) and s.shape == (n_queries, k) and i.dtype == np.int64
    valid = i >= 0
    assert np.isin(i[valid], held).all()                          # never outside the list
    assert (i[~valid] == -1).all() and np.isneginf(s[~valid]).all()  # padding is -1 / -inf
    want = min(k, len(held))
    assert (valid.sum(axis=1) == want).all()                       # as many as the list allows
    assert valid[:, :want].all()                                   # padding only at the end
    for q in range(n_queries):
        row = i[q, :want].tolist()
        assert len(set(row)) == len(row)
        assert s[q, :want].tolist() == sorted(s[q, :want].tolist(), reverse=True)
    assert np.allclose(s[valid], true_scores(queries, i, IDS, VECS)[valid], atol=1e-5)
    if not shard.approximate or len(held) <= shard.selective_fraction * len(shard):
        rows = np.flatnonzero(np.isin(IDS, held))
        es, ei = brute_force(VECS[rows], IDS[rows], queries, k)
        assert np.array_equal(i, ei)


@pytest.mark.parametrize("kind", KINDS)
def test_a_very_selective_allow_list_is_searched_exactly(shards, kind):
    """Five allowed ids among 300: the IVF probes would likely miss them; they must all come back,
    best first, exactly as brute force over those five ranks them."""
    shard = shards[kind]
    allow = IDS[[3, 50, 151, 222, 299]]
    queries = unit_rows(np.random.default_rng(14), 10)
    s, i = shard.search(queries, 8, allow=allow)
    rows = np.flatnonzero(np.isin(IDS, allow))
    bs, bi = brute_force(VECS[rows], IDS[rows], queries, 8)
    assert np.array_equal(i, bi)
    assert (i[:, 5:] == -1).all()
    assert np.allclose(s[:, :5], bs[:, :5], atol=1e-5)


@pytest.mark.parametrize("kind", KINDS)
def test_an_empty_allow_list_returns_only_padding(shards, kind):
    s, i = shards[kind].search(unit_rows(np.random.default_rng(15), 2), 6, allow=np.zeros(0, dtype=np.int64))
    assert i.shape == (2, 6) and (i == -1).all() and np.isneginf(s).all()


@pytest.mark.parametrize("kind", KINDS)
def test_duplicate_ids_in_an_allow_list_give_each_hit_once(shards, kind):
    allow = np.array([IDS[0], IDS[0], IDS[1], IDS[1], IDS[2]], dtype=np.int64)
    _, i = shards[kind].search(unit_rows(np.random.default_rng(16), 3), 5, allow=allow)
    for row in i.tolist():
        hits = [x for x in row if x >= 0]
        assert sorted(hits) == sorted(set(IDS[:3].tolist()))


# --- approximate recall and determinism ----------------------------------------------------------------

def clustered(seed: int, n: int = 2_000, centres: int = 20, dim: int = 32) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    c = unit_rows(rng, centres, dim)
    vecs = c[rng.integers(0, centres, n)] + 0.15 * rng.standard_normal((n, dim)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    q = c[rng.integers(0, centres, 100)] + 0.15 * rng.standard_normal((100, dim)).astype(np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    return vecs.astype(np.float32), q.astype(np.float32)


def test_approximate_recall_at_10_is_at_least_0_9(backend):
    vecs, queries = clustered(0)
    ids = np.arange(len(vecs), dtype=np.int64) * 2 + 1
    shard = new_shard(backend, 32, exact_threshold=64, nprobe=16)
    shard.upsert(ids, vecs)
    assert shard.approximate != ("torch" in backend)
    _, approx = shard.search(queries, 10)
    _, exact = exact_search(vecs, ids, queries, 10)
    recall = np.mean([len(set(a.tolist()) & set(e.tolist())) / 10 for a, e in zip(approx, exact)])
    assert recall >= 0.9, recall
    # and under a broad allow-list (the filtered IVF path), recall against exact-over-allowed holds too
    allow = ids[::2]
    _, approx = shard.search(queries, 10, allow=allow)
    rows = np.flatnonzero(np.isin(ids, allow))
    _, exact = exact_search(vecs[rows], ids[rows], queries, 10)
    recall = np.mean([len(set(a.tolist()) & set(e.tolist())) / 10 for a, e in zip(approx, exact)])
    assert recall >= 0.9, recall
    assert np.isin(approx, allow).all()


@pytest.mark.parametrize("kind", KINDS)
def test_results_are_deterministic(backend, kind):
    queries = unit_rows(np.random.default_rng(17), 20)
    allow = IDS[::3]
    one, two = make_shard(backend, kind), make_shard(backend, kind)
    for allowed in (None, allow, IDS[:5]):
        s1, i1 = one.search(queries, 10, allow=allowed)
        s1b, i1b = one.search(queries, 10, allow=allowed)
        s2, i2 = two.search(queries, 10, allow=allowed)
        assert np.array_equal(i1, i1b) and np.array_equal(s1, s1b)
        assert np.array_equal(i1, i2) and np.array_equal(s1, s2)


def test_exact_shard_ties_break_by_id_whatever_the_insertion_order(backend):
    """Identical passages (boilerplate in several documents) embed identically: which of them make
    the top k must not depend on the order the shard happens to store them in."""
    dup = unit_rows(np.random.default_rng(18), 1)
    others = unit_rows(np.random.default_rng(19), 20)
    shard = new_shard(backend, DIM)
    shard.upsert(np.array([40, 10, 30, 20], dtype=np.int64), np.repeat(dup, 4, axis=0))
    shard.upsert(np.arange(100, 120, dtype=np.int64), others)
    _, i = shard.search(dup, 2)
    assert i.tolist() == [[10, 20]]
    _, i = shard.search(dup, 2, allow=np.array([20, 30, 40, 100]))
    assert i.tolist() == [[20, 30]]
