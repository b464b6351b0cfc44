"""mesh.text: sentences, sentence-aligned overlapping passages, and search terms."""

from __future__ import annotations

import random

import pytest

from mesh.text import (
    STOPWORDS,
    for_terminal,
    normalize_question,
    passages,
    question_flaw,
    sentences,
    terms,
    tokens,
)

pytestmark = pytest.mark.unit

WORDS = ("broker partition replica offset consumer producer ledger tenant index passage retention "
         "segment leader follower topic schema").split()


def _sentence(rng: random.Random, n_words: int) -> str:
    words = [rng.choice(WORDS) for _ in range(n_words)]
    return " ".join(words).capitalize() + rng.choice(".!?")


def _document(seed: int, n: int = 40, longest: int = 30) -> list[str]:
    rng = random.Random(seed)
    return [_sentence(rng, rng.randint(1, longest)) for _ in range(n)]


def _words(text: str) -> int:
    return len(text.split())


# --- sentences ----------------------------------------------------------------------------------

def test_sentences_split_on_end_punctuation():
    text = "Kafka keeps records. Is it durable? Yes! 3 replicas hold each partition."
    assert sentences(text) == ["Kafka keeps records.", "Is it durable?", "Yes!", "3 replicas hold each partition."]


def test_sentences_keep_abbreviations_before_lowercase():
    assert sentences("Use e.g. tansu for tests. It starts fast.") == ["Use e.g. tansu for tests.", "It starts fast."]


def test_sentences_of_blank_text():
    assert sentences("   \n ") == []


def test_sentences_keep_every_word():
    sents = _document(1)
    assert sentences(" ".join(sents)) == sents


# --- passages -----------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("max_words, overlap", [(10, 0), (25, 1), (60, 2), (120, 1)])
def test_passages_never_lose_a_sentence(seed, max_words, overlap):
    sents = _document(seed)
    chunks = passages(" ".join(sents), max_words=max_words, overlap_sentences=overlap)
    covered = {s for chunk in chunks for s in sentences(chunk)}
    assert set(sents) <= covered


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("max_words", [5, 20, 50])
def test_passages_respect_max_words_except_single_long_sentences(seed, max_words):
    sents = _document(seed, longest=40)
    for chunk in passages(" ".join(sents), max_words=max_words):
        if _words(chunk) > max_words:
            assert len(sentences(chunk)) == 1, chunk


def test_passages_keep_sentences_whole_and_in_order():
    sents = _document(3)
    for chunk in passages(" ".join(sents), max_words=30):
        inner = sentences(chunk)
        start = sents.index(inner[0])
        assert sents[start:start + len(inner)] == inner


@pytest.mark.parametrize("overlap", [1, 2])
def test_passages_overlap_by_whole_sentences(overlap):
    sents = [f"Sentence number {i} is here." for i in range(12)]  # five words each
    chunks = [sentences(c) for c in passages(" ".join(sents), max_words=20, overlap_sentences=overlap)]
    assert len(chunks) > 2
    assert all(len(c) == 4 for c in chunks[:-1])
    for before, after in zip(chunks, chunks[1:]):
        assert before[-overlap:] == after[:overlap]


def test_passages_without_overlap_partition_the_text():
    sents = [f"Sentence number {i} is here." for i in range(12)]
    chunks = passages(" ".join(sents), max_words=20, overlap_sentences=0)
    assert [s for c in chunks for s in sentences(c)] == sents


def test_short_text_is_one_passage_and_empty_text_none():
    assert passages("Kafka keeps records. Redis keeps state.") == ["Kafka keeps records. Redis keeps state."]
    assert passages("") == []


def test_over_long_sentence_is_kept_whole():
    long = "Word " * 50 + "end."
    text = f"Short one. {long.strip()} Another short one."
    chunks = passages(text, max_words=10)
    assert long.strip() in chunks
    assert "Another short one." in " ".join(chunks)


def test_no_passage_repeats_only_what_the_previous_one_holds():
    """Overlap carries context forward; it must never yield a passage with no new sentence.

    Sentences of 5, 5 and 10 words with max_words=10: the first passage holds the first two;
    the second sentence (the overlap) cannot share a passage with the 10-word third, and must
    not then become a passage of its own, which would be indexed and retrieved twice."""
    first, second = "Alpha beta gamma delta epsilon.", "Zeta eta theta iota kappa."
    third = "Lambda mu nu xi omicron pi rho sigma tau upsilon."
    chunks = [sentences(c) for c in passages(f"{first} {second} {third}", max_words=10, overlap_sentences=1)]
    assert chunks[0] == [first, second]
    for before, after in zip(chunks, chunks[1:]):
        assert not set(after) <= set(before), chunks


# --- tokens and terms ---------------------------------------------------------------------------

def test_terms_drop_stopwords_and_single_letters():
    assert terms("What is the retention of a Kafka topic, x?") == ["retention", "kafka", "topic"]


def test_terms_lowercase_and_keep_hyphenated_words():
    assert terms("Read-only REPLICAS don't vote") == ["read-only", "replicas", "don't", "vote"]


def test_terms_of_only_stopwords_is_empty():
    assert terms("What is it that you were doing there?") == []


def test_tokens_keep_stopwords_that_terms_drop():
    text = "Where is the leader of the partition?"
    assert set(tokens(text)) - set(terms(text)) == {"where", "is", "the", "of"}
    assert {"where", "is", "the", "of"} <= STOPWORDS


# ---- text nobody vouches for: what reaches a terminal, what reaches a prompt

HOSTILE = ("Runbook\x1b[2J\x1b[H\x1b]0;pwned\x07 \x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\ "
           "\x9b31mred\x1b(B \x1bPq#0\x1b\\ \x90dcs\x9c \x1b]unterminated\rover\x00\x08\x7f\x85\u202eesrever\u2066\n\tok")


def test_for_terminal_removes_every_escape_sequence_and_control_but_newline_and_tab():
    shown = for_terminal(HOSTILE)
    assert not any(ord(c) < 32 and c not in "\n\t" or 0x7f <= ord(c) <= 0x9f for c in shown), repr(shown)
    assert "\u202e" not in shown and "\u2066" not in shown
    assert "pwned" not in shown and "evil.example" not in shown and "dcs" not in shown  # whole strings go
    assert shown.startswith("Runbook ") and "click" in shown and "red" in shown and shown.endswith("\n\tok")


@pytest.mark.parametrize("text", ["plain title", "Zürich — 東京, naïve café ☕", "line one\nline two\tcolumn", ""])
def test_for_terminal_keeps_printable_text_as_it_is(text):
    assert for_terminal(text) == text


@pytest.mark.parametrize("question, sent", [
    ("a\rb", "a b"),  # one question, never two
    ("How long\r\nare logs kept?\n", "How long are logs kept?"),
    ("  what\u202e is\u2066 x?\u2069 ", "what is x?"),
    ("\x1b[2Jclear?\x1b]0;t\x07", "clear?"),
    ("caf\u0065\u0301?", "caf\u00e9?"),  # NFC
    ("hidden\U000e0041\U000e0042 tags", "hidden tags"),  # tag characters smuggle invisible text into prompts
    ("\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645", "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"),  # ZWNJ
])
def test_questions_are_normalised(question, sent):
    assert normalize_question(question) == sent
    assert question_flaw(sent) is None


@pytest.mark.parametrize("question, code", [
    ("\x00\x00\x00", "question_without_words"),
    ("   \t ", "question_without_words"),
    ("?!… — ###", "question_without_words"),
    ("\u202e\u2066", "question_without_words"),
    ("a\rb", "question_control_characters"),
    ("what\u202e is x", "question_control_characters"),
    ("two\nlines", "question_control_characters"),
])
def test_question_flaws_are_named(question, code):
    flaw = question_flaw(question)
    assert flaw is not None and flaw[0] == code and flaw[1].startswith("the question ")
