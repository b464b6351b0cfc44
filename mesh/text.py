"""Plain-text helpers shared by lexical search and the built-in model: tokens, sentences, passages."""

from __future__ import annotations

import re

import Stemmer

__all__ = ["tokens", "terms", "stems", "STEMMER", "sentences", "passages", "count_tokens", "STOPWORDS"]

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
