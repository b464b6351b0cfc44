"""Evidence of names that the NER pipeline misses or mislabels, and names' other mentions.

The small spaCy pipeline tags most names, but calls some people places or organisations and
misses others, above all names of languages it saw little of. Around it:

- a title (Dr., Ms., ...) or a cue ("contact", "patient", "confirm with", "signed off by", a
  greeting, a verb people do) next to capitalised words marks a person;
- NER spans that are really structured (digits, ``@``, an upper-case acronym) are dropped, and a
  leading article or a trailing possessive is trimmed off;
- a name found once is found everywhere in the same text, and so are its parts (a surname alone).
"""

from __future__ import annotations

import re

from policy.pii_spans import NAMED, Found, resolve

__all__ = ["cued_people", "everywhere", "is_name_like", "plausible_person", "trimmed"]

_TITLE = re.compile(r"\b(?:Mr|Mrs|Ms|Mx|Dr|Prof|Sir|Dame|Rev)\.?\s+(?P<s>[A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+){0,2})")
_NAME = r"[A-Z][a-z'’-]+(?:[-\s][A-Z][a-z'’-]+)?(?:\s[A-Z]\.)?(?:\s[A-Z][\w'’-]+)?"
#: words that, next to a capitalised name, say it is a person's (greetings, addressing, what people do)
_PERSON_CUES = [re.compile(p) for p in (
    (rf"\b(?:Hi|Hello|Hey|Dear|Thanks|Thank you|Congrats to|Congratulations to|cc|CC|Cc|ask|Ask|ping|Ping|tell|Tell|"
     rf"per|Per|assigned to|Assigned to|reported by|Reported by|approved by|signed by|owner:|Owner:)\,?\s+(?P<s>{_NAME})"),
    (rf"(?P<s>{_NAME})(?:'s)?\s+(?:said|says|wrote|asked|replied|approved|signed|joined|called|emailed|confirmed|"
     rf"reported|will|is out|was promoted|has been|needs|requested|mentioned)\b"),
)]
_COMMON = re.compile(r"^(?:The|This|That|These|Those|It|We|They|He|She|You|I|Our|Your|Their|All|Everyone|Team|"
                     r"Support|Security|Finance|Legal|Ops|Sales|Please|Someone|Nobody|Monday|Tuesday|Wednesday|"
                     r"Thursday|Friday|Saturday|Sunday|Today|Tomorrow|Yesterday)\b")
_TITLE_ONLY = re.compile(r"^(?:Mr|Mrs|Ms|Mx|Dr|Prof|Sir|Dame|Rev)\.?$")
_NOT_A_NAME = re.compile(r"[\d@/_=:#<>]|^[A-Z]{1,5}$")
_LEADING = re.compile(r"^(?:the|The|Vendor|vendor|at|At|from|From)\s+")


def is_name_like(value: str) -> bool:
    """Capitalised, and without what no name has (digits, ``@``, an acronym)."""
    return value[:1].isupper() and not _NOT_A_NAME.search(value)


def plausible_person(value: str) -> bool:
    return not _TITLE_ONLY.match(value)


def cued_people(text: str) -> list[Found]:
    """Capitalised words a title or a cue marks as a person's name (NER's own guess wins an overlap)."""
    cued = [Found("PERSON", m.start("s"), m.end("s"), 0.6) for m in _TITLE.finditer(text)]
    cued += [Found("PERSON", m.start("s"), m.end("s"), 0.4) for p in _PERSON_CUES for m in p.finditer(text)
             if not _COMMON.match(m.group("s")) and not _NOT_A_NAME.search(m.group("s"))]
    return cued


def trimmed(text: str, f: Found) -> Found:
    """A named entity without a leading article or cue word that NER took into it, or a possessive."""
    if f.type not in NAMED:
        return f
    value = text[f.start:f.end]
    m = _LEADING.match(value)
    start = f.start + (m.end() if m else 0)
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
