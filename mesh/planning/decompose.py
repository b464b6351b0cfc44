"""Splitting a compositional question into self-contained parts, by rule: pure and deterministic.

Each part is answered by its own retrieve -> execute -> validate chain, then the planner composes
the answers. What splits:

- several questions in one: ``What is X? How does Y work?``
- comparisons: ``compare X and Y``, ``X vs Y``, ``the difference between X and Y``,
  ``how does X compare to Y`` (an aspect, ``... in terms of Z``, goes with each side);
- two questions joined by ``and``: ``what is X and how does it affect Y`` (``it`` becomes X);
- lists of three or more entities: ``the retention of A, B and C``, or ``each of A and B``.

Anything else stays one question. Parts are deduplicated and at most ``max_parts`` are kept;
a question that would split into more stays whole rather than be answered in part.
"""

from __future__ import annotations

import re

__all__ = ["decompose"]

_WH = r"(?:what|who|whom|whose|how|when|where|which|why|is|are|does|do|can|should)"
_COMPARE = [
    re.compile(r"^(?:please\s+)?(?:compare|contrast)\s+(?P<x>.+?)\s+(?:and|with|to|against|versus|vs\.?)\s+(?P<y>.+)$", re.I),
    re.compile(r"^(?:what\s+(?:is|are)\s+)?the\s+differences?\s+between\s+(?P<x>.+?)\s+and\s+(?P<y>.+)$", re.I),
    re.compile(r"^how\s+(?:does|do|did)\s+(?P<x>.+?)\s+compare\s+(?:to|with|against)\s+(?P<y>.+)$", re.I),
    re.compile(r"^(?P<x>[^,;]+?)\s+(?:vs\.?|versus)\s+(?P<y>[^,;]+)$", re.I),
]
_ASPECT = re.compile(r"^(?P<y>.+?)\s+(?P<aspect>(?:in\s+terms\s+of|regarding|with\s+respect\s+to|on|for)\s+.+)$", re.I)
_TWO_CLAUSES = re.compile(rf"^(?P<a>{_WH}\b.+?),?\s+and\s+(?P<b>{_WH}\b.+)$", re.I)
_SUBJECT = re.compile(r"^(?:what|who)\s+(?:is|are|was|were)\s+(?P<s>.+)$", re.I)
_PRONOUN = re.compile(r"\b(it|they|this|that|them|its|their)\b", re.I)
_EACH = re.compile(r"\b(?:each|both|all)\s+of\s+(?P<items>.+?)(?P<rest>\s+(?:and\s+)?(?:how|what|why|when|where|"
                   r"which|is|are|does|do)\b.*)?$", re.I)
_LIST_HEAD = re.compile(r"^(?P<head>.*\b(?:of|for|do|does|did|are|is|about|between|on|from|in)\s+(?:the\s+)?)"
                        r"(?P<item>[^ ].*)$", re.I)
_LIST_TAIL = re.compile(r"\s+(?=(?:in|on|at|for|with|by|run|runs|do|does|have|has|use|uses|work|works|handle|"
                        r"handles|keep|keeps|store|stores)\b)", re.I)
_MAX_ITEM_WORDS = 6


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().rstrip("?.!").strip()


def _q(text: str) -> str:
    """A part as a question: capitalised, ending in a question mark."""
    text = _clean(text)
    return (text[:1].upper() + text[1:] + "?") if text else ""


def _split_items(items: str) -> list[str]:
    parts = re.split(r",\s*(?:and\s+|or\s+)?|\s+and\s+|\s+or\s+", items.strip())
    return [p.strip() for p in parts if p.strip()]


def _sentences(question: str) -> list[str]:
    pieces = [p for p in re.split(r"(?<=\?)\s+", question.strip()) if p.strip()]
    return pieces if len(pieces) > 1 and all(p.rstrip().endswith("?") for p in pieces[:-1]) else [question]


def _compare(q: str) -> list[str] | None:
    for pattern in _COMPARE:
        m = pattern.match(q)
        if m:
            x, y = _clean(m["x"]), _clean(m["y"])
            aspect = _ASPECT.match(y)
            if aspect:
                y, tail = _clean(aspect["y"]), " " + _clean(aspect["aspect"])
            else:
                tail = ""
            if x and y and x.lower() != y.lower():
                return [_q(f"What about {x}{tail}") if tail else _q(f"What is {x}"),
                        _q(f"What about {y}{tail}") if tail else _q(f"What is {y}")]
    return None


def _clauses(q: str) -> list[str] | None:
    m = _TWO_CLAUSES.match(q)
    if not m:
        return None
    a, b = _clean(m["a"]), _clean(m["b"])
    subject = _SUBJECT.match(a)
    if subject:  # "how does it affect Y": say what "it" is, so the part stands alone
        name = _clean(subject["s"])
        b = _PRONOUN.sub(lambda p: name + ("'s" if p.group(1).lower() in ("its", "their") else ""), b, count=1)
    return [_q(a), _q(b)]


def _entity_list(q: str) -> list[str] | None:
    m = _EACH.search(q)
    if m and len(_split_items(m["items"])) >= 2:
        head = q[:m.start()].rstrip()
        rest = _clean(m["rest"] or "")
        return [_q(f"{head} {item} {rest}".strip()) for item in _split_items(m["items"])]
    pieces = [p.strip() for p in q.split(",")]
    if len(pieces) < 2 or not re.search(r"\b(?:and|or)\s", pieces[-1]) or not re.match(_WH, q, re.I):
        return None
    first = _LIST_HEAD.match(pieces[0])
    if not first:
        return None  # prose with commas, not a list of things
    last = re.sub(r"^(?:and|or)\s+", "", pieces[-1], flags=re.I)
    before, _, last = last.rpartition(" and ") if " and " in last else last.rpartition(" or ")
    last, *tail = _LIST_TAIL.split(last, maxsplit=1)
    items = [first["item"], *pieces[1:-1], *([before] if before else []), last]
    if len(items) < 3 or any(not i.strip() or len(i.split()) > _MAX_ITEM_WORDS for i in items):
        return None
    rest = (" " + tail[0]) if tail else ""
    return [_q(f"{first['head']}{item.strip()}{rest}") for item in items]


def _one(question: str) -> list[str]:
    q = _clean(question)
    for rule in (_compare, _clauses, _entity_list):
        parts = rule(q)
        if parts:
            return parts
    return [question.strip()]


def decompose(question: str, max_parts: int = 4) -> list[str]:
    """The self-contained parts of ``question``; ``[question]`` when it is simple."""
    parts: list[str] = []
    for sentence in _sentences(question):
        for part in _one(sentence):
            if part and part.lower() not in (p.lower() for p in parts):
                parts.append(part)
    if len(parts) <= 1 or len(parts) > max_parts:
        return [question.strip()]
    return parts
