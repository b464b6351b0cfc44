"""How likely a candidate span is a name: a logistic model over what is known about it.

Candidates come from NER and from runs of proper nouns (``policy.pii_names``). Each gets features
that say nothing of the words themselves but of the evidence around them: what NER called it, the
tagger's parts of speech, the name book (given names, surnames, places), cue words before and after,
an organisation's head or tail word, the sentence's start, a heading's title case, digits or a
dose after it, ordinary English words with no reading as a name ("Audit", "Retention Policy"),
a month's or a weekday's name that nothing marks as a person's ("until Wednesday"). The weights
are fitted on the labelled set's ``dev`` split by ``python -m bench.train_names`` and kept in
``name_weights.json`` beside this module.
"""

from __future__ import annotations

import functools
import json
import math
import re
from pathlib import Path

from policy import pii_names
from policy.name_book import is_calendar
from policy.pii_spans import Found

__all__ = ["FEATURES", "features", "features_of", "probability", "threshold", "weights"]

WEIGHTS = Path(__file__).with_name("name_weights.json")
_UNIT = re.compile(r"^\s*[\d.,]+\s*(?:mg|mcg|µg|g|kg|ml|mL|l|IU|units?|%|mmol|ms|s|GB|MB|TB|GHz|V|W|px)\b")
_HEADING_MIN_WORDS = 3

FEATURES = ("bias", "ner_person", "ner_location", "ner_organization", "from_run", "from_cue", "one_word",
            "two_words", "more_words", "given", "all_given", "family_last", "any_family", "place", "org_word",
            "cue_before", "cue_after", "title_before", "speaker", "sentence_start", "all_propn", "noun_inside",
            "acronym", "initial", "inner_capital", "non_ascii", "after_preposition", "after_determiner",
            "before_verb", "before_digit_or_unit", "heading", "in_brackets", "possessive", "everyday_acronym",
            "single_unknown", "ner_single_unknown", "common_word", "calendar")


def _tokens(doc, f: Found) -> list:
    return [t for t in doc if t.idx < f.end and t.idx + len(t.text) > f.start and not t.is_punct]


def _heading(doc) -> bool:
    words = [t for t in doc if t.is_alpha]
    return len(words) >= _HEADING_MIN_WORDS and sum(w.text[:1].isupper() for w in words) / len(words) > 0.7


def _evidence(text: str, f: Found, words: list[str], book) -> dict[str, bool]:
    before, after = text[max(0, f.start - 30):f.start], text[f.end:f.end + 20]
    return {"given": any(book.is_given(w) for w in words), "all_given": all(book.is_given(w) for w in words),
            "family_last": len(words) > 1 and book.is_family(words[-1]),
            "any_family": any(book.is_family(w) for w in words), "place": book.is_place(text[f.start:f.end]),
            "org_word": len(words) > 1 and pii_names.org_word(words), "cue_before": pii_names.cue_before(before),
            "cue_after": pii_names.cue_after(after), "title_before": pii_names.title_before(before),
            "speaker": pii_names.speaker(before, after), "before_digit_or_unit": bool(_UNIT.match(after)),
            "in_brackets": before.rstrip().endswith("(") and after.lstrip().startswith(")"),
            "possessive": after.startswith(("'s", "’s"))}


def features_of(text: str, doc, candidates: list[tuple[Found, str]], book) -> list[dict[str, float]]:
    """The features of each candidate of one text (what holds for the whole text is worked out once)."""
    heading = _heading(doc)
    return [features(text, doc, f, origin, book, heading) for f, origin in candidates]


def features(text: str, doc, f: Found, origin: str, book, heading: bool) -> dict[str, float]:
    """The features of candidate ``f`` (``origin``: ``ner``, ``run`` or ``cue``), all 0 or 1."""
    toks = _tokens(doc, f)
    words = [t.text for t in toks if t.text[:1].isupper()] or [text[f.start:f.end]]
    first, last = (toks[0], toks[-1]) if toks else (None, None)
    prev = doc[first.i - 1] if first is not None and first.i > 0 else None
    nxt = doc[last.i + 1] if last is not None and last.i + 1 < len(doc) else None
    out = {"bias": True, "ner_person": origin == "ner" and f.type == "PERSON",
           "ner_location": origin == "ner" and f.type == "LOCATION",
           "ner_organization": origin == "ner" and f.type == "ORGANIZATION",
           "from_run": origin == "run", "from_cue": origin == "cue", "one_word": len(words) == 1,
           "two_words": len(words) == 2, "more_words": len(words) > 2,
           "sentence_start": first is not None and first.is_sent_start,
           "all_propn": bool(toks) and all(t.pos_ == "PROPN" for t in toks if t.text[:1].isupper()),
           "noun_inside": any(t.pos_ in ("NOUN", "VERB", "ADJ") for t in toks),
           "acronym": any(w.isupper() and len(w) > 1 for w in words),
           "initial": any(re.fullmatch(r"[A-Z]\.", t.text) for t in toks),
           "inner_capital": any(re.search(r"[a-z][A-Z]", w) for w in words),
           "non_ascii": not text[f.start:f.end].isascii(),
           "after_preposition": prev is not None and prev.pos_ == "ADP",
           "after_determiner": prev is not None and prev.pos_ == "DET",
           "before_verb": nxt is not None and nxt.pos_ in ("VERB", "AUX"), "heading": heading,
           **_evidence(text, f, words, book)}
    known = out["given"] or out["any_family"] or out["place"]
    out["everyday_acronym"] = any(pii_names.everyday_acronym(w) for w in words)
    out["single_unknown"] = out["one_word"] and not known and not out["cue_before"] and not out["cue_after"]
    out["ner_single_unknown"] = out["single_unknown"] and origin == "ner"
    # what says "a person" outright: a cue word before it (not a bare "by" or "from": "by Monday"), a
    # possessive's person word or "X to review" after it, a title, what people do ("X approved")
    before, after = text[max(0, f.start - 30):f.start], text[f.end:f.end + 30]
    person_cue = (pii_names.person_cue_before(before) or out["cue_after"] or out["title_before"]
                  or pii_names.person_verb_after(after))
    # ordinary words with no reading as a name ("Audit", "Data Retention Policy") and nothing saying they are a
    # person's; an organisation's head or tail word, or NER's or the book's word that it is a place, outweighs
    # them (WordNet lists cities too)
    out["common_word"] = (not person_cue and not out["org_word"] and f.type != "LOCATION"
                          and all(book.is_common(w) for w in words))
    # a month's or a weekday's name ("until Wednesday", "March outage") with nothing saying it is a person's
    out["calendar"] = not person_cue and all(is_calendar(w) for w in words)
    return {k: float(bool(out[k])) for k in FEATURES}


@functools.cache
def _fitted() -> dict:
    return json.loads(WEIGHTS.read_text(encoding="utf-8"))


def weights() -> dict[str, float]:
    return _fitted()["weights"]


def threshold() -> float:
    return _fitted()["threshold"]


def probability(feats: dict[str, float], w: dict[str, float] | None = None) -> float:
    w = weights() if w is None else w
    z = sum(w.get(k, 0.0) * v for k, v in feats.items())
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
