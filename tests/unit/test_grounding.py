"""mesh.llm.grounding: sentences, their citations, and whether the cited passages support them."""

from __future__ import annotations

import numpy as np
import pytest

from mesh.llm.grounding import check, citation_problems, claims, keep_supported
from tests.unit.samples import citation, passage

pytestmark = pytest.mark.unit

P = [passage("kafka", 0, text="Kafka keeps records for seven days by default. Retention is set per topic."),
     passage("redis", 0, text="Redis persists data with RDB snapshots and an append-only file.")]
C = [citation(P[0]), citation(P[1])]
T = dict(min_similarity=0.6, min_overlap=0.7)


def test_claims_carry_their_markers_wherever_they_sit():
    got = claims("Kafka keeps records. [1] Redis persists data [2]. It lasts 3.5 days [1][2]. Done.")
    assert [(c.text, c.markers) for c in got] == [("Kafka keeps records.", (1,)), ("Redis persists data.", (2,)),
                                                   ("It lasts 3.5 days.", (1, 2)), ("Done.", ())]


def test_supported_sentences_pass_lexically():
    answer = "Kafka keeps records for seven days by default. [1] Redis persists data with RDB snapshots. [2]"
    assert all(c.supported for c in check(answer, C, P, None, **T))


def test_a_sentence_held_to_the_wrong_passage_fails():
    checked = check("Redis persists data with RDB snapshots. [1]", C, P, None, **T)
    assert not checked[0].supported


def test_an_uncited_sentence_is_held_to_every_cited_passage():
    checked = check("Kafka keeps records for seven days. [1] Retention is set per topic.", C, P, None, **T)
    assert all(c.supported for c in checked)


def test_semantic_support_uses_the_best_sentence_of_the_passage():
    seen = []

    def embed(texts):
        seen.append(texts)
        def one(t):
            if "week" in t or "seven days" in t:
                return [1.0, 0.0]
            return [0.0, 1.0] if "thrice" in t else [0.6, -0.8]
        return np.array([one(t) for t in texts])

    checked = check("Records are kept for a week. [1]", C, P, embed, **T)
    assert checked[0].supported
    assert "Kafka keeps records for seven days by default." in seen[0]  # the passage's sentences are compared
    assert not check("Records are replicated thrice. [1]", C, P, embed, **T)[0].supported


def test_citation_problems():
    assert citation_problems("x [1] y [2]", C, P) == []
    assert citation_problems("x [3]", C, P) == ["bad_citation: [3] names no retrieved passage"]
    foreign = citation(passage("payroll", 0))
    assert "payroll" in citation_problems("x [1]", [foreign], P)[0]


def test_keep_supported_renumbers():
    checked = check("Penguins wrote Kafka. [1] Redis persists data with RDB snapshots. [2]", C, P, None, **T)
    assert [c.supported for c in checked] == [False, True]
    text, kept = keep_supported(checked, C)
    assert text == "Redis persists data with RDB snapshots. [1]" and kept == [C[1]]
