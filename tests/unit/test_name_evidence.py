"""Evidence against a name: ordinary English words, and months and weekdays that nothing marks as a person's.

A document title such as "Incident review: March outage" or "Audit log retention policy" keeps its words; a
name stays masked, a month's name too where something says it is a person's ("as told by April Jones").
"""

import pytest

from policy import name_scorer, pii_names
from policy.name_book import is_calendar, name_book
from policy.pii import Detector


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector().warm()


def named(detector: Detector, text: str) -> list[tuple[str, str]]:
    return [(f.type, text[f.start:f.end]) for f in detector.find(text) if f.type in ("PERSON", "LOCATION",
                                                                                       "ORGANIZATION")]


def feature(detector: Detector, text: str, value: str, name: str) -> float:
    """The feature ``name`` of the candidate that covers ``value`` in ``text``."""
    start = text.index(value)
    feats = [f for c, _, f in detector.name_candidates(text) if c.start <= start and start + len(value) <= c.end]
    assert feats, f"no candidate covers {value!r}"
    return feats[0][name]


@pytest.mark.parametrize("text", [
    "Incident review: March outage",
    "Audit log retention policy",
    "The freeze starts on Monday and ends in June.",
    "Release notes go out on Fridays.",
])
def test_document_titles_and_dates_keep_their_words(detector, text):
    assert named(detector, text) == []


@pytest.mark.parametrize("text, name", [
    ("Dana Whitfield approved it", "Dana Whitfield"),
    ("as told by April Jones", "April Jones"),
    ("Forwarded to Grace Okafor by Monday.", "Grace Okafor"),
])
def test_names_stay_masked_months_and_ordinary_words_in_them_included(detector, text, name):
    assert ("PERSON", name) in named(detector, text)


def test_a_month_is_evidence_against_a_name_unless_a_cue_says_a_person(detector):
    assert feature(detector, "Incident review: March outage", "March", "calendar") == 1.0
    assert feature(detector, "as told by April Jones", "April Jones", "calendar") == 0.0  # a surname too
    assert feature(detector, "Escalated to April on Friday.", "April", "calendar") == 0.0  # a cue before it
    assert name_scorer.weights()["calendar"] < 0


def test_an_ordinary_word_is_evidence_against_a_name_but_not_a_place_or_an_organisations_word(detector):
    assert feature(detector, "Audit log retention policy", "Audit", "common_word") == 1.0
    assert feature(detector, "Dana Whitfield approved it", "Dana Whitfield", "common_word") == 0.0
    assert name_scorer.weights()["common_word"] < 0


def test_the_common_words_are_ordinary_english_less_the_name_book():
    book = name_book()
    assert len(book.common) > 50_000  # the pipeline's lemma index was found
    assert all(book.is_common(w) for w in ("Audit", "Retention", "Policy", "Outage", "March", "Notes", "Policies"))
    assert not any(book.is_common(w) for w in ("Dana", "Okafor", "Whitfield", "Jordan", "Priya"))  # names
    assert not book.is_common("Tallinn")  # a city WordNet lists: the time-zone database names it


def test_calendar_words_and_person_cues():
    assert is_calendar("March") and is_calendar("Fridays") and not is_calendar("Marchetti")
    assert pii_names.person_cue_before("approved by ") and pii_names.person_cue_before("Contact ")
    assert not pii_names.person_cue_before("due by ") and not pii_names.person_cue_before("from ")
    assert pii_names.cue_before("due by ")  # a bare "by" is still a cue for what names a run a person's
    assert pii_names.person_verb_after(" approved the budget") and not pii_names.person_verb_after(" outage")
