"""Evidence of names that the NER pipeline misses or mislabels, and names' other mentions.

The small spaCy pipeline tags most names, but calls some people places or organisations and
misses others, above all names of languages it saw little of. Around it:

- ``candidates``: every span that may be a name: NER's (trimmed of an article, a greeting, an
  address or a bracket it took in, and grown to a run of proper nouns that holds more of the name),
  every run of proper nouns (``Ana de la Cruz``, ``Summer F. Rajendran``), and what a title or a cue
  marks; ``policy.name_scorer`` weighs the evidence around each;
- the evidence: the name book (``policy.name_book``), cue words before ("contact", "patient",
  "confirm with", "signed off by") and after ("X's manager", "X to review"), a chat line's
  speaker, an organisation's head or tail word ("University of", "Bank", "Labs");
- ``everywhere``: a name found once is found everywhere in the same text, and so are its parts (a
  surname alone);
- ``in_code_list``: two capitals among other two-capital codes are a country code ("PL, TR and ID"), which
  NER takes for a place or a company;
- ``instruction_verb``: a sentence's first word that is a verb before its object ("Bill the customer") is
  no name, nor is ``first_word_modifier``, one that says what kind of thing the noun after it is ("Spring
  sale"), nor ``document_title``, ordinary words that end in a kind of document ("Leave Request").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from policy.pii_spans import NAMED, Found, resolve

__all__ = ["Run", "candidates", "cue_after", "cue_before", "cued_people", "document_title", "everyday_acronym",
           "everywhere", "first_word_modifier", "in_code_list", "instruction_verb", "is_name_like", "org_word",
           "person_cue_before", "person_verb_after", "plausible_person", "runs", "speaker", "title_before", "trimmed",
           "widened"]

_TITLE = re.compile(r"\b(?:Mr|Mrs|Ms|Mx|Dr|Prof|Sir|Dame|Rev)\.?\s+(?P<s>[A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+){0,2})")
_NAME = r"[A-Z][a-z'’-]+(?:[-\s][A-Z][a-z'’-]+)?(?:\s[A-Z]\.)?(?:\s[A-Z][\w'’-]+)?"
#: what people do, said after a name ("X said", "X approved")
_PERSON_VERBS = (r"(?:said|says|wrote|asked|replied|approved|signed|joined|called|emailed|confirmed|reported|will|"
                 r"is out|was promoted|has been|needs|requested|mentioned)\b")
_VERB_AFTER = re.compile(rf"(?:'s)?\s+{_PERSON_VERBS}")
#: words that, next to a capitalised name, say it is a person's (greetings, addressing, what people do)
_PERSON_CUES = [re.compile(p) for p in (
    (rf"\b(?:Hi|Hello|Hey|Dear|Thanks|Thank you|Congrats to|Congratulations to|cc|CC|Cc|ask|Ask|ping|Ping|tell|Tell|"
     rf"per|Per|assigned to|Assigned to|reported by|Reported by|approved by|signed by|owner:|Owner:)\,?\s+(?P<s>{_NAME})"),
    rf"(?P<s>{_NAME})(?:'s)?\s+{_PERSON_VERBS}",
)]
#: a chat line's speaker: "[15:30] Haoran: yes, ..."
_SPEAKER = re.compile(r"(?m)^\s*(?:\[[^\]\n]{1,20}\]\s*)?(?P<s>[A-Z][\w'’-]+(?: [A-Z][\w'’-]+)?):\s")
_HEADINGS = frozenset("""Note Notes Agenda Subject Re Fwd From To Cc Bcc Date Status Error Warning Info Debug
Ticket Order Summary Update Total Answer Question Action Result Results Reason Cause Fix Owner Priority Severity
Impact Resolution Steps Context Background Goal Goals Decision Decisions Outcome Next Update Updates Reminder
Important Attention Warning Caution Tip Example Input Output Request Response Title Name Email Phone Address""".split())
#: a message header's field name before its colon ("Idempotency-Key:", "Correlation-Id:", "Reply-To:"), not a
#: chat line's speaker: hyphenated, and ending in one of the words such field names end in (RFC 9110, RFC 5322)
_HEADER_FIELD = re.compile(r"^[A-Z][\w]*(?:-[A-Z][\w]*)*-(?:Id|ID|Key|Type|Length|Token|Agent|To|By|For|From|"
                           r"Encoding|Control|Version|Language|Origin|Policy|Disposition|Range|Match|Since|With|"
                           r"Modified|Signature|Date|Limit|Remaining|Reset|After|Options|Protection|Security)$")
_COMMON = re.compile(r"^(?:The|This|That|These|Those|It|We|They|He|She|You|I|Our|Your|Their|All|Everyone|Team|"
                     r"Support|Security|Finance|Legal|Ops|Sales|Please|Someone|Nobody|Monday|Tuesday|Wednesday|"
                     r"Thursday|Friday|Saturday|Sunday|Today|Tomorrow|Yesterday)\b")
_TITLE_ONLY = re.compile(r"^(?:Mr|Mrs|Ms|Mx|Dr|Prof|Sir|Dame|Rev)\.?$")
#: digits and symbols no name has, an acronym, an identifier that runs capitals into a word ("OOMKilled")
_NOT_A_NAME = re.compile(r"[\d@/_=:#<>]|^[A-Z]{1,5}$|[A-Z]{3,}[a-z]")
_ACRONYM = re.compile(r"^[A-Z]{2,5}$")
_COMMON_ACRONYMS = frozenset("""API APIS HTTP HTTPS URL URI SQL CPU GPU RAM SSD HDD PDF CSV JSON XML YAML HTML CSS SSN
IBAN BIC VAT PO SKU ID IDS UUID ETA ASAP FYI CEO CFO CTO COO CIO CISO HR IT QA KPI OKR SLA SLO SLI MFA SSO VPN DNS TLS
SSL SSH SFTP FTP TCP UDP IP AWS GCP EOD EOW FY YTD QTD MTD ROI PR PRS MR CI CD CLI SDK UI UX OS RPM TPM USD EUR GBP
JPY CHF INR CNY AUD CAD NDA RFC RFP RFQ SOW MSA DPA GDPR HIPAA PCI SOC ISO PII PHI PTO OOO TBD TBC NA N/A AM PM UTC
GMT CET EST PST OK LGTM WIP BRAF EGFR KRAS HER JAK DNA RNA PCR MRI CT ECG ICU ER GP BMI LDL HDL""".split())
#: what NER takes into a name from before it: an article, a cue, a greeting, an order's verb ("Start Keytruda")
_LEADING = re.compile(r"(?:the|The|Vendor|vendor|at|At|from|From|Hi|Hello|Hey|Dear|Thanks|Start|Stop|Continue|Resume|"
                      r"Administer|Prescribe)\s+")
#: what NER sometimes takes into a name from before it: an address, a bracket, a path
_CUT = re.compile(r"^.*[@(/:#<>]\s*|^\W+")


def is_name_like(value: str, kind: str = "PERSON") -> bool:
    """Capitalised, and without what no name has (digits, ``@``); an acronym only for a place or an
    organisation (HSBC, KAIST, USA), and never one of the acronyms that business and IT text is full of."""
    if _ACRONYM.match(value):
        return kind != "PERSON" and value not in _COMMON_ACRONYMS
    return value[:1].isupper() and not _NOT_A_NAME.search(value)


#: what joins the codes of a list ("PL, TR and ID", "CA and NO", "DE/AT")
_LIST_JOIN = r"(?:,\s*|,?\s+(?:and|or|&)\s+|/)"
_CODE_BEFORE = re.compile(rf"(?<!\w)[A-Z]{{2}}{_LIST_JOIN}$")
_CODE_AFTER = re.compile(rf"^{_LIST_JOIN}[A-Z]{{2}}(?!\w)")


def in_code_list(text: str, start: int, end: int) -> bool:
    """Two capitals in a list of other two-capital codes: country codes ("Supported markets: PL, TR and ID"),
    not a place's or a company's name."""
    if end - start != 2 or not text[start:end].isupper():
        return False
    return bool(_CODE_BEFORE.search(text[max(0, start - 12):start]) or _CODE_AFTER.match(text[end:end + 12]))


def plausible_person(value: str) -> bool:
    return not _TITLE_ONLY.match(value)


def cued_people(text: str) -> list[Found]:
    """Capitalised words a title or a cue marks as a person's name (NER's own guess wins an overlap)."""
    cued = [Found("PERSON", m.start("s"), m.end("s"), 0.6) for m in _TITLE.finditer(text)]
    cued += [Found("PERSON", m.start("s"), m.end("s"), 0.4) for p in _PERSON_CUES for m in p.finditer(text)
             if not _COMMON.match(m.group("s")) and not _NOT_A_NAME.search(m.group("s"))]
    cued += [Found("PERSON", m.start("s"), m.end("s"), 0.4) for m in _SPEAKER.finditer(text)
             if not _COMMON.match(m.group("s")) and not _NOT_A_NAME.search(m.group("s"))
             and m.group("s") not in _HEADINGS and not _HEADER_FIELD.match(m.group("s"))]
    return cued


def trimmed(text: str, f: Found) -> Found:
    """A named entity without a leading article or cue word that NER took into it, or a possessive."""
    if f.type not in NAMED:
        return f
    value = text[f.start:f.end]
    cut = _CUT.match(value)
    start = f.start + (cut.end() if cut else 0)
    m = _LEADING.match(text, start, f.end)
    start = m.end() if m else start
    end = f.end - (2 if value.endswith(("'s", "’s")) else 0)
    return Found(f.type, start, end, f.score) if (start, end) != (f.start, f.end) else f


def everywhere(text: str, found: list[Found]) -> list[Found]:
    """Every other mention of a found name (or of a part of a person's name) is found too."""
    names: dict[str, str] = {}
    for f in found:
        if f.type in NAMED:
            value = text[f.start:f.end]
            names.setdefault(value, f.type)
            if f.type == "PERSON":
                for part in value.split():
                    if len(part) > 2 and part[0].isupper():
                        names.setdefault(part, "PERSON")
    if not names:
        return found
    people = {v for v, t in names.items() if t == "PERSON"}
    # words a person was called by make a person of the span the model gave another type (consistency)
    found = [Found("PERSON", f.start, f.end, f.score) if f.type in NAMED and f.type != "PERSON"
             and (text[f.start:f.end] in people or set(text[f.start:f.end].split()) & people) else f for f in found]
    extra = [Found(t, m.start(), m.end(), 0.5) for v, t in names.items()
             for m in re.finditer(rf"(?<!\w){re.escape(v)}(?!\w)", text)]
    return resolve(found + extra)


# Runs of capitalised proper nouns, the evidence that makes a run a person's or an organisation's
# name, and how a run widens what NER found inside it.
_PARTICLES = frozenset("van der den de la le del della di da dos das du von zu bin binti ibn ben al el ter".split())
_ORG_TAIL = frozenset("""Bank University College Institute Hospital Clinic Inc Ltd LLC LLP GmbH AG SA plc PLC Corp
Corporation Company Group Labs Lab Systems Partners Media Foundation School Agency Ministry Council Association
Trust Capital Holdings Technologies Technology Pharma Pharmaceuticals Insurance Airlines Airways Traders Freight
Logistics Robotics Analytics Dental Cars Watch International Energy Foods Software Aerospace Biotech Health
Healthcare Networks Services Solutions Consulting Ventures Motors Telecom Industries Society Fund Authority
Commission Administration Museum Library Bancorp Studios Games Electronics Brewery Bakery Hotels""".split())
_ORG_HEAD = frozenset("""University Universidad Università Universität Université Universiteit Universidade Hospital
Hôpital Hospital Ospedale Klinikum Banco Banque Institute Instituto Institut École Escuela Scuola Ministry""".split())
#: words before a name that say it is a person's
_CUE_WORDS = (r"contact|contacting|patient|confirm with|check with|meet with|met with|escalate to|escalated to|"
              r"hand over to|handed to|on behalf of|signed off by|signed by|approved by|reported by|raised by|"
              r"assigned to|reassign to|owner|manager|colleague|customer|client|employee|candidate|applicant|tenant|"
              r"member|nurse|doctor|dr|mr|mrs|ms|cc|ping|ask|tell|thanks|dear|hi|hello|hey|per|attn|attention|name|"
              r"named|called|sent to|send to|forward to|forwarded to|give to|loop in|invite|invited|reviewers?|"
              r"attendees?|assignees?|owners?|approvers?|participants?")
_CUE_BEFORE = re.compile(rf"(?i)(?:\b(?:{_CUE_WORDS}|from|by)\b[.:,]?\s*)$")
#: the same without a bare "from" or "by", which as often come before a date or a place ("by Monday")
_PERSON_CUE_BEFORE = re.compile(rf"(?i)(?:\b(?:{_CUE_WORDS})\b[.:,]?\s*)$")
#: a chat line's speaker: "[15:30] Haoran: yes"
_LINE_START = re.compile(r"(?:^|\n)\s*(?:\[[^\]\n]{1,20}\]\s*)?$")
#: what follows a name: a possessive's person words, "X to <do something>", a chat line's "X:"
_CUE_AFTER = re.compile(r"(?:['’]s\s+(?:manager|team|boss|desk|laptop|account|office|wife|husband|mother|father|"
                        r"son|daughter|request|leave|contract|salary|address|phone|email|number|records?)\b|"
                        r"\s+to\s+(?:circulate|book|send|review|draft|own|lead|follow|check|call|confirm|share|"
                        r"update|join|present|prepare|schedule|reply|sign|approve)\b)")
_INITIAL = re.compile(r"^[A-Z]\.$")


@dataclass(frozen=True)
class Run:
    """Capitalised proper nouns in a row (``Ana de la Cruz``, ``Kowalska-Nowak``, ``Summer F. Rajendran``)."""
    start: int
    end: int
    words: tuple[str, ...]
    tags: tuple[str, ...]


def _capitalised(tok, book=None) -> bool:
    """A proper noun's word, or a capitalised word in the name book that the tagger took for a noun."""
    word = tok.text
    if not word[:1].isupper() or _NOT_A_NAME.search(word):
        return False
    return tok.pos_ == "PROPN" or (book is not None and tok.pos_ == "NOUN" and book.is_given(word))


def _joins(doc, i: int) -> bool:
    """A hyphen inside a name, a particle between its parts, or an initial."""
    tok = doc[i]
    if tok.text in ("-", "'") and i and not doc[i - 1].whitespace_ and not tok.whitespace_:
        return True
    following = i + 1 < len(doc) and doc[i + 1].text[:1].isupper()
    if tok.text.lower() in _PARTICLES or tok.text in ("of", "&"):  # Ana de la Cruz, University of Lagos
        return following
    if tok.text == "the" and doc[i - 1].text == "of":  # University of the Witwatersrand
        return following
    return len(tok.text) == 2 and tok.text[0].isupper() and tok.text[1] == "."


def _not_part_of_a_name(tok, book) -> bool:
    """A title, or a sentence's first word that the name book does not know ("Later Okafor asked")."""
    if _TITLE_ONLY.match(tok.text):
        return True
    known = book is not None and (book.is_given(tok.text) or book.is_family(tok.text))
    return tok.is_sent_start and not known


def _in_a_code(doc, i: int, current: list) -> bool:
    """A token hyphenated onto what is no name: the tail of a code ("PI-2675-L.") or of a compound whose head is
    an ordinary word ("Idempotency-Key", "Correlation-Id")."""
    head = doc[i - 2].text if i > 1 else ""
    return (not current and i > 1 and doc[i - 1].text == "-" and not doc[i - 1].whitespace_
            and not doc[i - 2].whitespace_ and (head[-1:].isdigit() or head[:1].isupper()))


def runs(doc, book=None) -> list[Run]:
    out: list[Run] = []
    current: list = []
    for i, tok in enumerate(doc):
        if (_capitalised(tok, book) and not _in_a_code(doc, i, current)) or (current and _joins(doc, i)):
            current.append(tok)
            continue
        out += _closed(current, book)
        current = []
    return out + _closed(current, book)


def _closed(tokens: list, book) -> list[Run]:
    while tokens and not _capitalised(tokens[-1], book):
        tokens = tokens[:-1]
    while len(tokens) > 1 and _not_part_of_a_name(tokens[0], book):
        tokens = tokens[1:]
    if not tokens:
        return []
    return [Run(tokens[0].idx, tokens[-1].idx + len(tokens[-1].text), tuple(t.text for t in tokens),
                tuple(t.pos_ for t in tokens))]


def _kind(text: str, run: Run, book) -> tuple[str, float] | None:
    """What a run is, on the evidence: an organisation's head or tail word, a name in the book, a cue."""
    names = [w for w in run.words if w[:1].isupper() and not _INITIAL.match(w)]
    if not names:
        return None
    if len(names) > 1 and (names[-1] in _ORG_TAIL or names[0] in _ORG_HEAD):
        return "ORGANIZATION", 0.6
    if book.is_place(text[run.start:run.end]):
        return "LOCATION", 0.5
    if any(book.is_given(w) for w in names) or (len(names) > 1 and book.is_family(names[-1])):
        return "PERSON", 0.55
    if len(names) > 1 and any(_INITIAL.match(w) for w in run.words):
        return "PERSON", 0.5  # a middle initial: Summer F. Rajendran
    before, after = text[max(0, run.start - 30):run.start], text[run.end:run.end + 20]
    chat = len(names) == 1 and _LINE_START.search(before) and after.startswith(": ")
    if (_CUE_BEFORE.search(before) or _CUE_AFTER.match(after) or chat) and not _COMMON.match(run.words[0]):
        return "PERSON", 0.45
    return None


_TITLE_BEFORE = re.compile(r"\b(?:Mr|Mrs|Ms|Mx|Dr|Prof|Sir|Dame|Rev|Herr|Frau|Mme|M|Sr|Sra)\.?\s*$")


def everyday_acronym(word: str) -> bool:
    return word in _COMMON_ACRONYMS


def org_word(words: list[str]) -> bool:
    return words[-1] in _ORG_TAIL or words[0] in _ORG_HEAD


def cue_before(before: str) -> bool:
    return bool(_CUE_BEFORE.search(before))


def person_cue_before(before: str) -> bool:
    """A cue word before the span other than a bare "from" or "by" ("approved by" is one)."""
    return bool(_PERSON_CUE_BEFORE.search(before))


def cue_after(after: str) -> bool:
    return bool(_CUE_AFTER.match(after))


def title_before(before: str) -> bool:
    return bool(_TITLE_BEFORE.search(before))


def person_verb_after(after: str) -> bool:
    """What a person does, right after the span ("April approved", "June will")."""
    return bool(_VERB_AFTER.match(after))


def speaker(before: str, after: str) -> bool:
    return bool(_LINE_START.search(before)) and after.startswith(": ")


def candidates(text: str, doc, ner: list[Found], book) -> list[tuple[Found, str]]:
    """Every span that may be a name, with where it came from: NER's (grown to a run that holds more of
    it), every run of proper nouns, and what a cue or title marks."""
    ner = [f for f in ner if f.type in NAMED]
    typed, untyped = [], []
    for r in runs(doc, book):
        kind = _kind(text, r, book)
        (typed if kind else untyped).append(Found(kind[0] if kind else "", r.start, r.end, 0.5))
    # a run with no evidence of its own takes the type NER gave what it overlaps (a person's otherwise)
    untyped = [Found(next((n.type for n in ner if n.overlaps(f)), "PERSON"), f.start, f.end, f.score) for f in untyped]
    out: dict[tuple[int, int], tuple[Found, str]] = {}
    for f in widened(ner, typed):
        out.setdefault((f.start, f.end), (f, "ner"))
    for origin, found in (("run", typed + untyped), ("cue", cued_people(text))):
        for f in found:
            out.setdefault((f.start, f.end), (f, origin))
    return [(f, origin) for f, origin in out.values()
            if not instruction_verb(text, f, doc, book) and not first_word_modifier(f, doc, book)
            and not document_title(_with_title_case_before(text, f), book)]


#: capitalised words right before a span, which the span may have been cut from ("Risk" of "Risk Register")
_TITLE_CASE_BEFORE = re.compile(r"(?:[A-Z][\w-]*[ \t])+$")


def _with_title_case_before(text: str, f: Found) -> str:
    lead = _TITLE_CASE_BEFORE.search(text[max(0, f.start - 60):f.start])
    return (lead.group(0) if lead else "") + text[f.start:f.end]


#: the head nouns of a document's title ("Data Retention Policy", "Leave Request", "Incident Postmortem")
_DOCUMENT_HEADS = frozenset("""Policy Policies Procedure Procedures Request Requests Report Reports Postmortem
Retrospective Record Records Register Plan Plans Proposal Guidelines Guide Handbook Manual Checklist Template Form
Agreement Memo Minutes Notes Summary Runbook Playbook Roadmap Specification Charter Strategy Assessment Notice
Statement Forecast Schedule Backlog Tracker Questions""".split())


def document_title(value: str, book) -> bool:
    """Title Case English words that end in a kind of document and that the name book knows as no name or place:
    a document's title ("the Data Retention Policy", "Architecture Decision Record"), not a name."""
    words = [w for w in re.split(r"[\s-]+", value) if w[:1].isupper()]
    return (len(words) > 1 and words[-1] in _DOCUMENT_HEADS
            and all(book.is_english(w) and not book.is_name_at_all(w) and not book.is_place(w) for w in words))


#: what follows the verb of an instruction: its object's determiner ("Bill the customer", "Chase the supplier")
_OBJECT_AFTER = re.compile(r" (?:the|a|an|this|that|these|those|all|our|your|their|its|each|every|any)\b")


def _first_word(f: Found, doc):
    """The token of a one-token span that starts a sentence, or None."""
    toks = [t for t in doc if f.start <= t.idx < f.end]
    return toks[0] if len(toks) == 1 and toks[0].is_sent_start else None


def instruction_verb(text: str, f: Found, doc, book) -> bool:
    """A sentence's one first word that is an English verb, right before its object's determiner: the verb of an
    instruction ("Bill the customer for 475 hours"), not a name, though "Bill" is one too."""
    tok = _first_word(f, doc)
    return tok is not None and book.is_verb(tok.text) and bool(_OBJECT_AFTER.match(text[f.end:f.end + 12]))


def first_word_modifier(f: Found, doc, book) -> bool:
    """A sentence's one first word, an English word, that says what kind of thing the lower-case noun right after
    it is ("Spring sale", "June close", "Payroll change"): a compound's word, not a name."""
    tok = _first_word(f, doc)
    if tok is None or tok.i + 1 >= len(doc):
        return False
    noun = doc[tok.i + 1]
    return noun.pos_ == "NOUN" and noun.text.islower() and tok.head.i == noun.i and book.is_english(tok.text)


def widened(ner: list[Found], ours: list[Found]) -> list[Found]:
    """NER's named spans, each grown to a run of ours that holds more of the same name, and called a
    person's where NER said organisation and the run's words are in the name book."""
    out = []
    for f in ner:
        grown = next((o for o in ours if f.type in NAMED and o.start <= f.start and o.end >= f.end
                      and ((o.type == "PERSON" and f.type == "ORGANIZATION") or (o.start, o.end) != (f.start, f.end))),
                     None)
        out.append(Found(grown.type if grown.type == "PERSON" else f.type, grown.start, grown.end, f.score)
                   if grown else f)
    return out
