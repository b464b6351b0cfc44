"""Plain-text helpers shared by lexical search and the built-in model: tokens, sentences, passages;
and the two gates for text nobody vouches for: ``for_terminal`` (document and model text shown on a
terminal) and ``normalize_question`` / ``question_flaw`` (questions, before they reach a prompt)."""

from __future__ import annotations

import re
import unicodedata

import Stemmer

__all__ = ["tokens", "terms", "stems", "STEMMER", "sentences", "passages", "count_tokens", "STOPWORDS",
           "for_terminal", "normalize_question", "question_flaw", "has_words"]

_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")

STOPWORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being below between
both but by can could did do does doing down during each few for from further had has have having he her
here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not
now of off on once only or other our ours ourselves out over own same she should so some such than that the
their theirs them themselves then there these they this those through to too under until up very was we
were what when where which while who whom why will with would you your yours yourself yourselves
""".split())


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens, stop words included."""
    return _WORD.findall(text.lower())


def terms(text: str) -> list[str]:
    """Tokens that carry meaning for search: stop words and one-letter tokens removed."""
    return [t for t in tokens(text) if t not in STOPWORDS and len(t) > 1]


#: Snowball English, shared with the retriever's BM25 (``index.bm25``) so both stem alike
STEMMER = Stemmer.Stemmer("english")


def stems(text: str) -> list[str]:
    """``terms`` reduced to their Snowball stems (the retriever's BM25 stems the same way), so "logs"
    meets "log" and "retained" meets "retain"."""
    return STEMMER.stemWords(terms(text))


def sentences(text: str) -> list[str]:
    """Split prose into sentences (punctuation followed by a capital or digit)."""
    return [s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip()]


def passages(text: str, max_words: int = 120, overlap_sentences: int = 1) -> list[str]:
    """Sentence-aligned chunks of at most ``max_words`` words, overlapping by whole sentences,
    so nothing of a long document is lost and no sentence is cut in two."""
    sents = sentences(text)
    if not sents:
        return []
    out: list[str] = []
    start = 0
    while start < len(sents):
        end, words = start, 0
        while end < len(sents) and (end == start or words + len(sents[end].split()) <= max_words):
            words += len(sents[end].split())
            end += 1
        out.append(" ".join(sents[start:end]))
        if end >= len(sents):
            break
        nxt = max(start + 1, end - overlap_sentences)
        overlap_words = sum(len(s.split()) for s in sents[nxt:end])
        # overlap only where the next sentence still fits beside it: a passage must add something new
        start = nxt if overlap_words + len(sents[end].split()) <= max_words else end
    return out


def count_tokens(text: str) -> int:
    """A model-independent token estimate (word pieces are about 1.3 per word)."""
    return round(len(text.split()) * 1.3)


# A terminal acts on these instead of showing them: CSI (ESC [ or 8-bit 0x9b ... final byte), the string
# commands OSC, DCS, SOS, PM and APC up to their terminator (BEL, ESC \ or 0x9c), and the short ESC sequences.
_ESCAPES = re.compile(r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
                      r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)"
                      r"|\x1b[ -/]*[0-~]")
#: C0 and C1 controls but newline and tab, and DEL
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
#: characters that reorder the text around them on screen (the "Trojan Source" set) and the invisible marks
_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_BIDI_RE = re.compile(f"[{_BIDI}]")
#: line and paragraph breaks of every kind, and tabs: a question is one line
_BREAKS = re.compile(r"[\t\n\v\f\r\x1c-\x1e\x85\u2028\u2029]+")
#: format characters a question keeps: the zero-width (non-)joiners some scripts spell words with
_KEPT_FORMAT = frozenset("\u200c\u200d")


def for_terminal(text: str) -> str:
    """``text`` as it may be printed to a terminal: escape sequences (CSI, OSC and the other ESC forms),
    C0 and C1 controls (all but newline and tab) and direction overrides removed, everything else kept.

    Documents and model output are written by others; printed raw, ``ESC[2J`` clears the reader's screen
    and an OSC sequence retitles the window or plants a link. JSON output needs none of this: its
    escaping (``\\u001b``) already keeps the bytes off the terminal."""
    if text.isprintable():
        return text
    return _BIDI_RE.sub("", _CONTROLS.sub("", _ESCAPES.sub("", text)))


def normalize_question(question: str) -> str:
    """The question as the mesh takes it: NFC, escape sequences, controls, direction overrides and
    invisible format characters (tag characters included) removed, every line break and tab a space,
    runs of spaces one, no space at either end. ``"a\\rb"`` is one question, ``"a b"``."""
    text = _ESCAPES.sub("", unicodedata.normalize("NFC", question))
    text = _BREAKS.sub(" ", text)
    text = "".join(c for c in text if c in _KEPT_FORMAT or unicodedata.category(c) not in ("Cc", "Cf"))
    return " ".join(text.split())


def question_flaw(question: str) -> tuple[str, str] | None:
    """Why ``question`` is unfit for a prompt, as (code, reason), or None: it has no word at all, or it
    holds a character that ``normalize_question`` removes or turns into a space (a control, a line
    break, a direction override)."""
    if not has_words(question):
        return ("question_without_words",
                "the question has no words (only spaces, controls, punctuation or symbols): ask something")
    for i, c in enumerate(question):
        if c != " " and c not in _KEPT_FORMAT and unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp"):
            return ("question_control_characters",
                    f"the question holds the control or formatting character U+{ord(c):04X} at position {i}: "
                    + "send it as one line of text without control, line-break or direction characters")
    return None


def has_words(text: str) -> bool:
    """True if ``text`` holds a letter or a digit of any script."""
    return any(unicodedata.category(c)[0] in "LN" for c in text)
