"""index.packing.pack: passages best first into a token budget, duplicates dropped, over-long ones skipped."""

from __future__ import annotations

import pytest

from index.packing import pack
from mesh.text import count_tokens
from schemas.models import Passage

pytestmark = pytest.mark.unit


def p(doc: str, text: str, n: int = 0, title: str = "T") -> Passage:
    return Passage(doc_id=doc, passage_id=f"{doc}#{n}", title=title, text=text)


def words(n: int, stem: str = "word") -> str:
    return " ".join(f"{stem}{i}" for i in range(n))


def cost(passage: Passage) -> int:
    """What a packed passage costs: its text and title plus the marker and separators."""
    return count_tokens(passage.text) + count_tokens(passage.title) + 8


RANKED = [p(f"d{i}", words(10, f"w{i}x")) for i in range(6)]  # each: 13 + 1 + 8 = 22 tokens


def test_cost_model_of_the_fixture():
    assert [cost(x) for x in RANKED] == [22] * 6


def test_everything_fits_in_a_large_budget_in_order():
    assert pack(RANKED, 10_000, 100) == RANKED


@pytest.mark.parametrize("budget", [0, 21, 22, 43, 44, 65, 66, 131, 132])
def test_respects_the_token_budget(budget):
    out = pack(RANKED, budget, 100)
    assert sum(cost(x) for x in out) <= budget
    assert len(out) == min(budget // 22, len(RANKED))  # greedy: as many as fit
    assert out == RANKED[:len(out)]


@pytest.mark.parametrize("max_passages", [0, 1, 3, 6, 10])
def test_respects_max_passages(max_passages):
    out = pack(RANKED, 10_000, max_passages)
    assert out == RANKED[:min(max_passages, len(RANKED))]


def test_drops_duplicate_texts_ignoring_whitespace_and_case():
    first = p("a", "Kafka keeps records for seven days.")
    same = p("b", "  kafka   KEEPS records\nfor seven   days. ")
    other = p("c", "Redis keeps the ledger.")
    assert pack([first, same, other], 10_000, 10) == [first, other]


def test_near_duplicates_are_kept():
    first = p("a", "Kafka keeps records for seven days.")
    near = p("b", "Kafka keeps records for eight days.")
    assert pack([first, near], 10_000, 10) == [first, near]


def test_duplicates_do_not_use_up_max_passages():
    first = p("a", "Kafka keeps records.")
    dups = [p(f"dup{i}", "kafka keeps records.") for i in range(5)]
    last = p("z", "Redis keeps the ledger.")
    assert pack([first, *dups, last], 10_000, 2) == [first, last]


def test_keeps_the_ranked_order():
    ranked = [p("z", "Zulu text here."), p("a", "Alpha text here."), p("m", "Mike text here.")]
    assert [x.doc_id for x in pack(ranked, 10_000, 10)] == ["z", "a", "m"]


def test_skips_an_over_long_passage_but_continues_with_shorter_later_ones():
    short1 = p("s1", words(10))                 # 22 tokens
    long = p("long", words(200, "long"))       # 260 + 1 + 8 tokens
    short2 = p("s2", words(10, "other"))       # 22 tokens
    out = pack([short1, long, short2], 60, 10)
    assert out == [short1, short2]
    assert sum(cost(x) for x in out) <= 60


def test_a_skipped_over_long_passage_does_not_count_as_seen():
    """A passage skipped for its length is not packed, so its text must not count as a duplicate:
    a later passage with the same text that does fit is still packed."""
    long_text = words(50)
    out = pack([p("a", long_text, title=words(40, "t")), p("b", long_text, title="")], 85, 10)
    # the first copy (with a long title) overflows; the second (no title) fits: 65 + 0 + 8 = 73
    assert [x.doc_id for x in out] == ["b"]


def test_titles_count_against_the_budget():
    plain = p("a", words(10), title="")
    titled = p("a", words(10), title=words(20, "t"))
    assert pack([plain], 21, 10) == [plain]      # 13 + 0 + 8
    assert pack([titled], 21, 10) == []          # 13 + 26 + 8


def test_empty_input():
    assert pack([], 100, 5) == []
