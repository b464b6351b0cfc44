"""index.bm25.BM25: ranking, the allow mask applied before scoring, stable ties, and filter-exactness.

The key property: a principal's scores and ranking are exactly what they would be if the rows it
may not read did not exist, so neither scores nor ranks can reveal what those rows contain.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.bm25 import BM25, tokenize

pytestmark = pytest.mark.unit

# (id, text, public?) -- the text is what both searches index: "title. passage"
DOCS = [
    ("kafka", "Kafka retention. Kafka keeps records for seven days. Retention is configurable per topic.", True),
    ("redis", "Redis ledger. Redis keeps the idempotency ledger. Keys expire after a week.", True),
    ("payroll", "Payroll. Payroll records are kept for seven years. Kafka is not used for payroll.", False),
    ("recipes", "Recipes. Whisk the eggs. Bake for twenty minutes.", True),
]
TEXTS = [t for _, t, _ in DOCS]
IDS = [d for d, _, _ in DOCS]
PUBLIC = np.array([p for _, _, p in DOCS])


def ranked_ids(rows: np.ndarray) -> list[str]:
    return [IDS[r] for r in rows.tolist()]


def test_tokenize_lowercases_stems_and_drops_stop_words():
    assert tokenize(["The Kafka retention keeps records"]) == [["kafka", "retent", "keep", "record"]]


def test_relevant_document_ranks_first():
    scores, rows = BM25(TEXTS).search("how long does kafka retention keep records", 5)
    assert ranked_ids(rows)[0] == "kafka"
    assert scores.tolist() == sorted(scores.tolist(), reverse=True)
    assert (scores > 0).all()
    assert scores.dtype == np.float32 and rows.dtype == np.int64


def test_rows_without_query_terms_are_not_returned():
    _, rows = BM25(TEXTS).search("kafka retention", 10)
    assert "recipes" not in ranked_ids(rows)
    assert "kafka" in ranked_ids(rows)


def test_k_limits_results():
    index = BM25(TEXTS)
    _, everything = index.search("kafka records keeps", 10)
    assert len(everything) >= 2
    scores, rows = index.search("kafka records keeps", 1)
    assert rows.tolist() == everything[:1].tolist()
    assert len(scores) == 1


def test_disallowed_rows_never_appear_even_with_large_k():
    """Payroll matches the query best, but the mask refuses it: it must not be a hit at any k."""
    index = BM25(TEXTS)
    query = "payroll records kept seven years kafka"
    _, everything = index.search(query, 1000)
    assert ranked_ids(everything)[0] == "payroll"  # it would win if allowed
    for k in (1, 3, 1000):
        _, rows = index.search(query, k, PUBLIC)
        assert len(rows) > 0
        assert "payroll" not in ranked_ids(rows)
        assert PUBLIC[rows].all()


def test_an_empty_allow_mask_returns_nothing():
    index = BM25(TEXTS)
    scores, rows = index.search("kafka records", 1000, np.zeros(len(TEXTS), dtype=bool))
    assert len(scores) == 0 and len(rows) == 0
    assert rows.dtype == np.int64


def test_a_query_with_no_known_terms_returns_nothing():
    scores, rows = BM25(TEXTS).search("zeppelin quokka", 10)
    assert len(scores) == 0 and len(rows) == 0


def test_empty_index():
    index = BM25([])
    scores, rows = index.search("anything", 5)
    assert len(scores) == 0 and len(rows) == 0


@pytest.mark.parametrize("n", [2, 3, 7])
def test_ties_break_by_row(n):
    texts = ["Identical text about Kafka retention."] * n
    scores, rows = BM25(texts).search("kafka retention", 10)
    assert len(set(scores.tolist())) == 1
    assert rows.tolist() == list(range(n))


def test_ties_break_by_row_among_the_allowed_only():
    texts = ["Identical text about Kafka retention."] * 6
    allow = np.array([False, True, False, True, True, False])
    _, rows = BM25(texts).search("kafka retention", 10, allow)
    assert rows.tolist() == [1, 3, 4]
    _, top2 = BM25(texts).search("kafka retention", 2, allow)
    assert top2.tolist() == [1, 3]


def test_disallowed_rows_do_not_change_scores_or_ranking_of_allowed_ones():
    """Hidden rows share a query term with the visible ones: had they entered IDF or the average
    length, the visible rows' scores (and here their order) would change."""
    visible = ["Alpha project notes for the team.", "Beta project notes for the team."]
    hidden = ["Alpha alpha alpha merger plans."] * 5
    mask = np.array([True] * len(visible) + [False] * len(hidden))
    s_without, r_without = BM25(visible).search("alpha beta", 10)
    s_with, r_with = BM25(visible + hidden).search("alpha beta", 10, mask)
    assert r_with.tolist() == r_without.tolist()
    assert np.allclose(s_with, s_without, rtol=1e-6, atol=0)
    # and the hidden rows do matter when they are allowed: the test above is not vacuous
    s_all, _ = BM25(visible + hidden).search("alpha beta", 10)
    assert not np.allclose(s_all[:2], s_without)


# --- the key property, over random small corpora and masks ------------------------------------------

WORDS = ["kafka", "redis", "ledger", "broker", "topic", "alpha", "beta", "gamma", "merger", "payroll"]
doc_text = st.lists(st.sampled_from(WORDS + ["the", "of"]), min_size=0, max_size=8).map(" ".join)


@st.composite
def corpus_and_mask(draw):
    texts = draw(st.lists(doc_text, min_size=1, max_size=12))
    mask = np.array(draw(st.lists(st.booleans(), min_size=len(texts), max_size=len(texts))), dtype=bool)
    query = " ".join(draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=4)))
    k = draw(st.integers(min_value=1, max_value=len(texts) + 3))
    return texts, mask, query, k


@settings(max_examples=50, deadline=None)
@given(corpus_and_mask())
def test_property_scores_and_ranking_ignore_disallowed_rows(case):
    """BM25(visible) and BM25(visible + hidden, interleaved) under a mask admitting only the visible
    rows give identical scores and the identical order (mapped back to visible row numbers)."""
    texts, mask, query, k = case
    visible_rows = np.flatnonzero(mask)
    visible = [texts[r] for r in visible_rows.tolist()]

    s_full, r_full = BM25(texts).search(query, k, mask)
    assert mask[r_full].all()  # never a hidden row

    s_alone, r_alone = BM25(visible).search(query, k) if visible else (np.zeros(0, np.float32),
                                                                      np.zeros(0, np.int64))
    assert visible_rows[r_alone].tolist() == r_full.tolist()
    assert np.allclose(s_full, s_alone, rtol=1e-6, atol=0)


@settings(max_examples=50, deadline=None)
@given(corpus_and_mask())
def test_property_results_are_sorted_positive_within_k_and_deterministic(case):
    texts, mask, query, k = case
    index = BM25(texts)
    scores, rows = index.search(query, k, mask)
    assert len(rows) <= k and len(rows) == len(scores)
    assert len(set(rows.tolist())) == len(rows)
    assert (scores > 0).all()
    # best first, ties by row
    keys = list(zip((-scores).tolist(), rows.tolist()))
    assert keys == sorted(keys)
    again_s, again_r = BM25(texts).search(query, k, mask)
    assert again_r.tolist() == rows.tolist() and again_s.tolist() == scores.tolist()
