"""How likely a candidate span is a name: a logistic model over what is known about it.

Candidates come from NER and from runs of proper nouns (``policy.pii_names``). Each gets features
that say nothing of the words themselves but of the evidence around them: what NER called it, the
tagger's parts of speech, the name book (given names, surnames, places), cue words before and after,
an organisation's head or tail word, the sentence's start, a heading's title case, digits or a
dose after it, ordinary English words with no reading as a name ("Audit", "Retention Policy"),
a month's or a weekday's name that nothing marks as a person's ("until Wednesday"), what is said
of software, a medicine or a gene around it ("Upgraded Helm to 15.8.16", "Humira 40 mg", "BRAF
mutations"), a heading of ordinary words, a sentence's capitalised first word that is an English
word and no name in the book ("Barcode 4445 ...", "Customer asked", "Budget approved") or a label
before its code ("Room B-187"). The weights
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
from policy.name_book import frequency, is_calendar
from policy.pii_spans import Found

__all__ = ["FEATURES", "features", "features_of", "probability", "threshold", "weights"]

WEIGHTS = Path(__file__).with_name("name_weights.json")
_UNIT = re.compile(r"^\s*[\d.,]+\s*(?:mg|mcg|µg|g|kg|ml|mL|l|IU|units?|%|mmol|ms|s|GB|MB|TB|GHz|V|W|px)\b")
_HEADING_MIN_WORDS = 3
#: a word written at least this often in English (Zipf scale: "customer" 4.6, "budget" 4.8; "ling" 3.5) is an
#: everyday word even where it does what people do ("Customer asked")
_EVERYDAY_ZIPF = 4.0
#: a code or a number right after a word: a token with a digit in it ("B-187", "L2370-261", "4445")
_CODE_AFTER = re.compile(r"^ [^\s\d]{0,8}\d")
#: what is done to software, right before its name ("Upgraded Helm", "the runbook for Terraform")
_SOFTWARE_BEFORE = re.compile(r"(?i)\b(?:upgrad(?:e|ed|es|ing)|downgrad(?:e|ed|ing)|deploy(?:ed|ing|s)?|"
                              r"re-?install(?:ed|ing|s)?|install(?:ed|ing|s)?|uninstall(?:ed|ing)?|enabl(?:e|ed|es|ing)|"
                              r"disabl(?:e|ed|es|ing)|configur(?:e|ed|ing)|restart(?:ed|ing)?|patch(?:ed|ing)?|"
                              r"bump(?:ed)?|runbook for|deployed with|built with|written in|version of|"
                              r"(?:up|down)grad(?:e|ed|es|ing)\s+(?:the\s+)?[\w-]+\s+to)\s+(?:the\s+)?$")
#: what follows software's name: a version ("to 15.8.16", "v2", "to 3.11"; not "48067.00 EUR") or a word
#: only software has
_SOFTWARE_AFTER = re.compile(r"^\s*(?:(?:to\s+)?v?\d+(?:\.\d+){2,}\b|(?:to\s+)?v\d+(?:\.\d+)*\b|to\s+\d+\.\d+\b|(?:failover|pods?|dashboards?|"
                             r"plugins?|plug-ins?|config|configuration|keys|instances?|deployments?|upgrades?|releases?|"
                             r"versions?|images?|containers?|namespaces?|schemas?|quer(?:y|ies)|ind(?:ex|exes|ices)|"
                             r"topics?|workspaces?|boards?|bundles?|runbooks?|charts?|operators?|modules?|SDK|API|CLI|"
                             r"jobs?|pipelines?|DAGs?|sheets?|spreadsheets?|macros?|workbooks?|alerts?|metrics|"
                             r"exporters?|playbooks?|manifests?|sidecars?|brokers?|connectors?|partitions?|shards?|"
                             r"replicas?|queues?|tickets|issues|epics?|sprints?|wiki|rules|build|builds)\b)")
#: what is said of a medicine: a dose after it, what it is taken as, how often, or a medicine's word before it
_MEDICINE_AFTER = re.compile(r"(?i)^\s*(?:\d[\d.,]*\s*(?:mg|mcg|µg|g|ml|IU|units?)\b|(?:interacts?|tablets?|"
                             r"capsules?|injections?|infusions?|doses?|dosing|dosage|once daily|twice daily|daily|"
                             r"as needed|prn|bid|tid|qd)\b)")
_MEDICINE_BEFORE = re.compile(r"(?i)\b(?:start|started|starting|administer|administered|prescribe|prescribed|"
                              r"dose of|doses of|taking|stop|stopped|interacts? with|started on|course of|"
                              r"mg of|refill of|allergic to)\s+$")
#: the stems of international nonproprietary names (WHO's INN stem book) that no name in the name book ends with
_INN_STEM = re.compile(r"(?i)(?:mab|tinib|anib|pril|sartan|vastatin|statin|olol|prazole|cillin|mycin|cycline|"
                       r"floxacin|navir|buvir|previr|asvir|ciclovir|amivir|parin|xaban|gatran|formin|gliptin|"
                       r"glitazone|profen|oxetine|tidine|dipine|semide|thiazide|azepam|zolam|setron|triptan|"
                       r"lukast|terol)$")
#: what is said of a gene or a protein, after its name or before it ("BRAF mutations", "binds EGFR")
_GENE_AFTER = re.compile(r"^\s*(?:mutations?|mutant|mutated|variants?|knock-?downs?|knock-?outs?|expression|"
                         r"over-?expression|levels?|genes?|proteins?|inhibitors?|inhibition|signall?ing|pathways?|"
                         r"antibod(?:y|ies)|alleles?|deletions?|amplifications?|fusions?|transcripts?|mRNA|"
                         r"isoforms?|loci|locus|-positive|-negative|-mutant|binding)(?!\w)|^\s*[cp]\.[A-Z\d*-]")
_GENE_BEFORE = re.compile(r"(?i)\b(?:variant|variants|gene|genes|protein|anti|binds|bound|binding|expressing|"
                          r"expression of|inhibits|inhibiting|inhibitor of|mutated|mutant|knockdown of|levels of|"
                          r"encoding|encodes)\s+$")

FEATURES = ("bias", "ner_person", "ner_location", "ner_organization", "from_run", "from_cue", "one_word",
            "two_words", "more_words", "given", "all_given", "family_last", "any_family", "place", "org_word",
            "cue_before", "cue_after", "title_before", "speaker", "sentence_start", "all_propn", "noun_inside",
            "acronym", "initial", "inner_capital", "non_ascii", "after_preposition", "after_determiner",
            "before_verb", "before_digit_or_unit", "heading", "in_brackets", "possessive", "everyday_acronym",
            "single_unknown", "ner_single_unknown", "common_word", "calendar", "software", "medicine", "gene",
            "common_heading", "first_word_plain")


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
    # what is said around software, a medicine or a gene (not of people, places or companies): "Upgraded Helm
    # to 15.8.16", "Terraform failover", "Humira 40 mg", "interacts with Metformin", "BRAF mutations"
    near = text[max(0, f.start - 30):f.start], text[f.end:f.end + 40]
    out["software"] = not person_cue and (bool(_SOFTWARE_BEFORE.search(near[0])) or bool(_SOFTWARE_AFTER.match(near[1])))
    out["medicine"] = not person_cue and (bool(_MEDICINE_AFTER.match(near[1])) or bool(_MEDICINE_BEFORE.search(near[0]))
                                          or (len(words) == 1 and bool(_INN_STEM.search(words[0]))))
    # (the word before may be the span's own first word: NER takes "Variant" into "Variant BRAF")
    lead = near[0] + (words[0] + " " if len(words) > 1 else "")
    out["gene"] = not person_cue and (bool(_GENE_AFTER.match(near[1])) or bool(_GENE_BEFORE.search(lead)))
    # a Title Case phrase of ordinary words where a heading stands: after a colon or at the start, before a
    # colon, a bracket or the end ("Agenda item 2: Data Retention Policy", "Capacity Planning: 3 open items")
    ends = after.lstrip()[:1] in ("", ":", "(", ".") or after.startswith((":", " (", " -"))
    starts = not before.strip() or before.rstrip().endswith((":", ",", "\n"))
    out["common_heading"] = (not person_cue and not out["org_word"]
                             and all(book.is_common(w) and not book.is_name_at_all(w) for w in words)
                             and ((len(words) > 1 and (ends or starts)) or after.startswith(":")))
    out["first_word_plain"] = _first_word_plain(out, toks, words, book, after)
    return {k: float(bool(out[k])) for k in FEATURES}


def _first_word_plain(out: dict, toks: list, words: list[str], book, after: str) -> bool:
    """A sentence's one capitalised first word that is an English word, with no cue before it or person's word
    after it, and either no name or place the book knows ("Barcode 4445 ...", "Customer asked ...", "Budget
    approved") or a label right before its code ("Room B-187", "Lot L2370-261"). What people do ("asked",
    "approved") counts only after a word rarely written in English ("Ling joined"): a customer asks and a budget
    is approved. A place NER is sure of ("Antwerp and Stockholm") is not counted."""
    if not (out["one_word"] and out["sentence_start"]) or not book.is_english(words[0]):
        return False
    if out["ner_location"] and all(t.pos_ == "PROPN" for t in toks):
        return False
    cued = out["cue_before"] or out["title_before"] or out["cue_after"]
    did = pii_names.person_verb_after(after) and frequency(words[0]) < _EVERYDAY_ZIPF
    unknown = not (out["place"] or book.is_name_at_all(words[0]))
    return (unknown or bool(_CODE_AFTER.match(after))) and not cued and not did


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
