"""index.fusion: reciprocal rank fusion and the convex combination of min-max normalised scores."""

from __future__ import annotations

import math

import pytest

from index.fusion import convex, rrf

pytestmark = pytest.mark.unit


def close(got: list[tuple[str, float]], want: list[tuple[str, float]]) -> bool:
    return [d for d, _ in got] == [d for d, _ in want] and \
        all(math.isclose(g, w, rel_tol=1e-12) for (_, g), (_, w) in zip(got, want))


# --- rrf ---------------------------------------------------------------------------------------------

def test_rrf_formula_by_hand():
    lexical = [("a", 9.0), ("b", 5.0), ("c", 1.0)]
    dense = [("c", 0.9), ("a", 0.8)]
    k = 60.0
    want = {
        "a": 1 / (k + 1) + 1 / (k + 2),
        "b": 1 / (k + 2),
        "c": 1 / (k + 3) + 1 / (k + 1),
    }
    got = rrf([lexical, dense], k=k)
    assert close(got, sorted(want.items(), key=lambda kv: -kv[1]))
    assert [d for d, _ in got] == ["a", "c", "b"]


def test_rrf_uses_its_k_parameter():
    got = dict(rrf([[("x", 1.0), ("y", 0.5)]], k=1.0))
    assert math.isclose(got["x"], 1 / 2) and math.isclose(got["y"], 1 / 3)
    default = dict(rrf([[("x", 1.0)]]))
    assert math.isclose(default["x"], 1 / 61)


def test_rrf_ignores_the_input_scores_only_ranks_count():
    one = rrf([[("a", 100.0), ("b", 99.0)], [("b", 0.2), ("a", 0.1)]])
    two = rrf([[("a", 1.0), ("b", -5.0)], [("b", 1e9), ("a", 3.0)]])
    assert one == two


@pytest.mark.parametrize("lists", [
    [[("b", 1.0)], [("a", 1.0)]],
    [[("a", 1.0)], [("b", 1.0)]],
    [[("c", 1.0), ("b", 0.5)], [("b", 1.0), ("c", 0.5)], [("a", 1.0)], [("a", 2.0)]],
])
def test_rrf_ties_break_by_id(lists):
    got = rrf(lists)
    scores = [s for _, s in got]
    assert len(set(scores)) < len(scores)  # there is a tie to break
    keys = [(-s, d) for d, s in got]
    assert keys == sorted(keys)


def test_rrf_ties_break_by_id_whatever_the_list_order():
    a = rrf([[("zeta", 1.0)], [("alpha", 1.0)], [("mid", 1.0)]])
    b = rrf([[("mid", 1.0)], [("zeta", 1.0)], [("alpha", 1.0)]])
    assert [d for d, _ in a] == [d for d, _ in b] == ["alpha", "mid", "zeta"]


def test_rrf_doc_in_both_lists_beats_one_in_only_one_at_equal_ranks():
    # "both" is 2nd in each list; "solo" is 1st... but only in one: 2/(k+2) > 1/(k+1)
    got = rrf([[("solo", 1.0), ("both", 0.5)], [("other", 1.0), ("both", 0.5)]])
    assert got[0][0] == "both"
    # at the same rank in each, the doc in both lists always wins
    got = rrf([[("both", 1.0)], [("both", 1.0)], [("aaa", 1.0)]])
    assert [d for d, _ in got] == ["both", "aaa"]


def test_rrf_empty():
    assert rrf([]) == []
    assert rrf([[], []]) == []


# --- convex ------------------------------------------------------------------------------------------

def test_convex_min_max_normalises_each_list_by_hand():
    lexical = [("a", 10.0), ("b", 6.0), ("c", 2.0)]  # -> a 1, b 0.5, c 0
    dense = [("b", 0.9), ("d", 0.5), ("a", 0.1)]     # -> b 1, d 0.5, a 0
    alpha = 0.25
    want = {
        "a": alpha * 0.0 + (1 - alpha) * 1.0,
        "b": alpha * 1.0 + (1 - alpha) * 0.5,
        "c": alpha * 0.0 + (1 - alpha) * 0.0,
        "d": alpha * 0.5 + (1 - alpha) * 0.0,
    }
    got = convex(lexical, dense, alpha=alpha)
    assert close(got, sorted(want.items(), key=lambda kv: (-kv[1], kv[0])))


def test_convex_is_invariant_to_score_scale_and_shift():
    lexical = [("a", 10.0), ("b", 6.0), ("c", 2.0)]
    dense = [("b", 0.9), ("c", 0.5), ("a", 0.1)]
    scaled = [(d, 1000 * s - 7) for d, s in lexical]
    one, two = convex(lexical, dense, 0.4), convex(scaled, dense, 0.4)
    assert [d for d, _ in one] == [d for d, _ in two]
    assert all(math.isclose(x, y, abs_tol=1e-12) for (_, x), (_, y) in zip(one, two))


def test_convex_alpha_one_gives_the_dense_order_and_zero_the_lexical_order():
    lexical = [("a", 5.0), ("b", 4.0), ("c", 3.0), ("d", 2.0)]
    dense = [("d", 0.9), ("c", 0.7), ("b", 0.4), ("a", 0.1)]
    assert [d for d, _ in convex(lexical, dense, alpha=1.0)] == ["d", "c", "b", "a"]
    assert [d for d, _ in convex(lexical, dense, alpha=0.0)] == ["a", "b", "c", "d"]
    mixed = [d for d, _ in convex(lexical, dense, alpha=0.5)]
    assert sorted(mixed) == ["a", "b", "c", "d"]


def test_convex_docs_absent_from_a_list_count_as_zero_there():
    got = dict(convex([("a", 3.0), ("b", 1.0)], [("c", 2.0), ("a", 1.0)], alpha=0.5))
    assert set(got) == {"a", "b", "c"}
    assert math.isclose(got["a"], 0.5 * 0.0 + 0.5 * 1.0)
    assert math.isclose(got["b"], 0.0)
    assert math.isclose(got["c"], 0.5 * 1.0)


def test_convex_single_score_or_all_equal_normalise_to_one():
    got = dict(convex([("a", 7.0)], [("b", 3.0), ("c", 3.0)], alpha=0.5))
    assert got == {"a": 0.5, "b": 0.5, "c": 0.5}


def test_convex_ties_break_by_id():
    got = convex([("z", 1.0), ("y", 1.0)], [("x", 2.0)], alpha=0.5)
    assert [d for d, _ in got] == ["x", "y", "z"]


def test_convex_empty():
    assert convex([], []) == []
    assert [d for d, _ in convex([], [("a", 0.3), ("b", 0.1)], alpha=0.5)] == ["a", "b"]
