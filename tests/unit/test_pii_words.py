"""Evidence from how often English words are written: a sentence's capitalised first word that is an everyday
word and no name the book knows ("Barcode 4445 ...", "Customer asked ...") is no name, nor one right before
its code, a name or not ("Room B-187", "Lot L2370-261").

Names stay masked where they are no English word ("Haoran asked ..."), where a word rarely written in English
does what people do ("Ling joined the channel"), and where NER is sure of a place ("Antwerp and Stockholm").
"""

import pytest

from policy import name_scorer
from policy.name_book import frequency, name_book
from policy.pii import Detector


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector().warm()


def named(detector: Detector, text: str) -> list[tuple[str, str]]:
    return [(f.type, text[f.start:f.end]) for f in detector.find(text)
            if f.type in ("PERSON", "LOCATION", "ORGANIZATION")]


def feature(detector: Detector, text: str, value: str, name: str) -> float:
    start = text.index(value)
    feats = [f for c, _, f in detector.name_candidates(text) if c.start <= start and start + len(value) <= c.end]
    assert feats, f"no candidate covers {value!r}"
    return feats[0][name]


def test_english_words_include_written_compounds_but_not_names_or_acronyms():
    book = name_book()
    assert all(book.is_english(w) for w in ("Barcode", "Timestamp", "Dataset", "Customer"))
    assert not any(book.is_english(w) for w in ("Vikram", "Haoran", "SAP", "Okafor"))
    assert frequency("customer") > 4 > frequency("ling") > 0 == frequency("xqzvy")


@pytest.mark.parametrize("text", [
    "Barcode 4445 2898 8656 6402 was scanned twice at the dock.",
    "Timestamp 2026-08-27T19:44:50+01:00 is out of range.",
    "Customer asked whether order SO-26965 can be split.",
    "Dataset: 384 rows, 389 columns.",
    "Room B-187, building 4, floor 2.",
    "Lot L2370-261 expires in June; store below 25 °C.",
])
def test_a_sentences_everyday_first_word_is_no_name(detector, text):
    assert named(detector, text) == []


@pytest.mark.parametrize("text, name", [
    ("Haoran asked whether the visit can move.", "Haoran"),
    ("Ling joined the channel.", "Ling"),
])
def test_a_first_word_that_is_a_name_stays_masked(detector, text, name):
    assert ("PERSON", name) in named(detector, text)


def test_a_plain_first_word_is_evidence_against_a_name(detector):
    assert feature(detector, "Customer asked whether order SO-26965 can be split.", "Customer",
                   "first_word_plain") == 1.0
    assert feature(detector, "Ling joined the channel.", "Ling", "first_word_plain") == 0.0  # rare in English
    assert feature(detector, "Antwerp and Stockholm will share the rota.", "Antwerp", "first_word_plain") == 0.0
    assert feature(detector, "Please ask Customer Care.", "Customer", "first_word_plain") == 0.0  # not first
    assert feature(detector, "Room B-187, building 4.", "Room", "first_word_plain") == 1.0  # a label and its code
    assert feature(detector, "Mark prefers e-mail.", "Mark", "first_word_plain") == 0.0  # a name, no code after
    assert name_scorer.weights()["first_word_plain"] < -2
