"""Given names, surnames and places of many languages, from Faker's providers (data in the package).

Faker keeps first and last names for some 80 locales (Latin, Cyrillic, Greek, Arabic, Indic, CJK
scripts among them); together about 31,000 given names and 30,000 surnames, and about 45,000
countries, regions and cities from its address providers. A word in the book
is evidence of a name, not proof: ``May``, ``Will`` and ``Mark`` are in it too, so callers also
ask that the tagger took the word for a proper noun. Loaded once, on first use (about a second).
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from dataclasses import dataclass

__all__ = ["NameBook", "name_book"]

#: words in the book that are far more often something else when capitalised
_NOT_NAMES = frozenset("""January February March April May June July August September October November December
Monday Tuesday Wednesday Thursday Friday Saturday Sunday Will Can Hope Mark Bill Grace Faith Joy Summer Sky
Art Guy Max Frank Rose Pat Sunny Dawn Chase Hunter Page Case Lane Read Price Long Rich Young Black White Brown
Green Gray Grey Love Little King Best Bell Hill Wood Stone Day Bond Cash Moon Star Storm Rain Ray Jack Major
General Judge Key Lead Job Note Win Miles Prince Queen Early Ever Field Parks Banks Walker Temple Church""".split())


@dataclass(frozen=True)
class NameBook:
    given: frozenset[str]
    family: frozenset[str]
    places: frozenset[str] = frozenset()

    def is_place(self, words: str) -> bool:
        return words in self.places and words not in _NOT_NAMES

    def is_given(self, word: str) -> bool:
        return word in self.given and word not in _NOT_NAMES

    def is_family(self, word: str) -> bool:
        return word in self.family and word not in _NOT_NAMES


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
    return NameBook(frozenset(n for n in given if " " not in n), frozenset(n for n in family if " " not in n),
                    _places())


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
