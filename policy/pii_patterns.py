"""Structured sensitive values found by their shape, with the checks that make a shape a value.

E-mail addresses by their shape alone, whatever the domain (an address at ``corp.internal`` is
as sensitive as one at a public suffix); payment cards by IIN, length and Luhn; IBANs by country
length and mod 97; international phone numbers by E.164 length; API keys and tokens by their
vendors' shapes or a cue word. ``phone_like`` is the evidence a number must carry to be taken for
a phone number: a ten-digit order number is not one.
"""

from __future__ import annotations

import re

from policy.pii_spans import Found

__all__ = ["DIGEST_CUE", "SECRETS", "secrets", "cards", "emails", "iban_valid", "ibans", "luhn", "phone_like", "phones"]

#: tokens and keys by their shape; the span is the secret (group "s"), never its cue word
SECRETS = [re.compile(p) for p in (
    r"\b(?P<s>(?:AKIA|ASIA)[0-9A-Z]{16})\b",                      # AWS access key id
    r"\b(?P<s>gh[pousr]_[A-Za-z0-9]{36,})\b",                     # GitHub
    r"\b(?P<s>xox[abprs]-[A-Za-z0-9-]{10,})",                     # Slack
    r"\b(?P<s>(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,})\b",    # Stripe
    r"(?<![\w-])(?P<s>sk-(?:proj-)?[A-Za-z0-9_-]{20,})",          # OpenAI-style
    r"\b(?P<s>AIza[0-9A-Za-z_-]{35})",                            # Google API key
    r"\b(?P<s>eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})",  # JWT
    r"(?<![\w-])(?P<s>[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64})(?![\w-])",  # hex secrets (see DIGEST_CUE)
    r"(?<![\w-])(?P<s>(?=[A-Za-z0-9]*\d)(?=[A-Za-z0-9]*[a-z])(?=[A-Za-z0-9]*[A-Z])[A-Za-z0-9]{28,64})(?![\w-])",
    (r"(?i:password|passwd|pwd|secret|token|api[_ -]?key|access[_ -]?key|client[_ -]?secret|credential)s?"
     r"(?:\s+(?:is|was|of|for|to|=|:)|\s*[:=])?\s*[\"'`]?(?P<s>(?=[A-Za-z0-9+/_\-]*\d)[A-Za-z0-9+/_\-]{16,})"),
)]
#: words right before a bare hex string that say it is a digest or an id, not a secret
DIGEST_CUE = re.compile(r"(?i)(?:\b(?:commit|commits|sha|sha1|sha256|sha512|md5|digest|checksum|hash|revision|rev|"
                        r"etag|trace[_ -]?id|span[_ -]?id|request[_ -]?id|correlation[_ -]?id|fingerprint)"
                        r"\W{0,3}|sha(?:1|256|512):|@)$")

# An address: a local part (dot-atoms, an apostrophe inside as in o'brien, or a quoted string) and
# a domain of two or more labels whose last starts with a letter, or an IP literal. Letters may be
# any script's. The first character is one no sentence punctuation shares, so quotes and slashes
# around an address stay outside its span; a trailing full stop is never part of the domain.
_LOCAL = r"""(?:[\w+!#$%&*=?^~-][\w.+!#$%&'*=?^~-]*|"(?:[^"\\\r\n]|\\.)+")"""
_LABEL = r"[^\W_](?:[\w-]{0,61}[^\W_])?"
_DOMAIN = rf"(?:(?:{_LABEL}\.)+[^\W\d_](?:[\w-]{{0,61}}[^\W_])?|\[(?:\d{{1,3}}\.){{3}}\d{{1,3}}\])"
_EMAIL = re.compile(rf"(?<![\w.+-])(?P<s>{_LOCAL}@{_DOMAIN})(?![\w-]|\.[^\W_])")

#: a run of 13 to 19 digits with optional single spaces or dashes; a card if Luhn-valid with a card IIN
_CARD = re.compile(r"(?<![\d-])(?P<s>\d(?:[ -]?\d){12,18})(?![\d-])")
_IIN = re.compile(r"^(?:4|5[1-5]|2(?:2[2-9]|[3-6]\d|7[01]|720)|3[47]|6(?:011|5|4[4-9])|3(?:0[0-5]|[68])|35)")
#: IBAN lengths by country (ISO 13616 registry); checked with mod 97 (``iban_valid``)
_IBAN_LENGTHS = {c[:2]: int(c[2:]) for c in (
    "AD24 AE23 AL28 AT20 AZ28 BA20 BE16 BG22 BH22 BR29 CH21 CR22 CY28 CZ24 DE22 DK18 DO28 EE20 EG29 ES24 FI18 "
    "FO18 FR27 GB22 GE22 GI23 GL18 GR27 GT28 HR21 HU28 IE22 IL23 IQ23 IS26 IT27 JO30 KW30 KZ20 LB28 LC32 LI21 "
    "LT20 LU20 LV21 MC27 MD24 ME22 MK19 MR27 MT31 MU30 NL18 NO15 PK24 PL28 PS29 PT25 QA29 RO24 RS22 SA24 SC31 "
    "SE24 SI19 SK24 SM27 TN24 TR26 UA29 VA22 VG24 XK20").split()}
_IBAN = re.compile(r"\b(?P<s>[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?)\b")
_INTL_PHONE = re.compile(r"(?<![\w+])(?P<s>\+\d{1,3}(?:[ .-]?\(?\d{1,5}\)?){2,6})(?![\w-])")

#: what makes a number a phone number: a country code or area-code brackets, digit groups apart ...
_PHONE_SHAPE = re.compile(r"[+(]|\d[ .-]\d")
#: ... or a word before it that says so
_PHONE_CUE = re.compile(r"(?i)(?:\b(?:phone|tel|telephone|call|calling|called|mobile|cell|cellphone|fax|ring|dial|"
                        r"text|sms|whatsapp|signal|reach|contact|hotline|landline|helpline|ext|extension|"
                        r"number is)\b[^.;\n/#]{0,24}|\bon\s+)$")
#: a word just before it that says it is a reference of some kind, not a phone
_REFERENCE = re.compile(r"(?i)(?:\b(?:order|ref|reference|invoice|ticket|case|tracking|po|sku|part|serial|"
                        r"account|acct|id|confirmation|booking|transaction|txn|batch|lot|build|shipment|"
                        r"claim|policy|customer|member|record|request|incident|job|run|contract|receipt|quote|"
                        r"refund|return|rma|parcel|consignment|waybill|voucher|licen[cs]e|registration|"
                        r"product|model|version|docket|dossier)s?\b\W{0,3}"
                        r"(?:(?:number|no|nr|num|id|code)\b\W{0,3})?|#\s?|/)$")


def luhn(digits: str) -> bool:
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def iban_valid(value: str) -> bool:
    v = value.replace(" ", "")
    if _IBAN_LENGTHS.get(v[:2]) != len(v):
        return False
    return int("".join(str(int(ch, 36)) for ch in v[4:] + v[:4])) % 97 == 1


def secrets(text: str) -> list[tuple[int, int]]:
    """Spans of API keys and tokens; a bare hex string right after a digest's cue word is a digest."""
    out = []
    for p in SECRETS:
        for m in p.finditer(text):
            value = m.group("s")
            if value.isalnum() and all(c in "0123456789abcdef" for c in value) and \
                    DIGEST_CUE.search(text[max(0, m.start("s") - 24):m.start("s")]):
                continue
            out.append((m.start("s"), m.end("s")))
    return out


def emails(text: str) -> list[Found]:
    """Every well-formed address, the whole of it: internal suffixes, sub-domains, plus tags, quoted locals."""
    if "@" not in text:
        return []
    return [Found("EMAIL_ADDRESS", m.start("s"), m.end("s"), 1.0) for m in _EMAIL.finditer(text)]


def cards(text: str) -> list[Found]:
    """Payment cards Presidio's pattern misses (Mastercard's 2-series among them): IIN, length and Luhn."""
    out = []
    for m in _CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group("s"))
        if 13 <= len(digits) <= 19 and _IIN.match(digits) and luhn(digits):
            out.append(Found("CREDIT_CARD", m.start("s"), m.end("s"), 0.9))
    return out


def ibans(text: str) -> list[Found]:
    """IBANs with a valid length for their country and a valid mod-97 checksum (Presidio's recognizer
    also checks national formats, and misses valid IBANs of some countries)."""
    return [Found("IBAN_CODE", m.start("s"), m.end("s"), 1.0) for m in _IBAN.finditer(text) if iban_valid(m.group("s"))]


def phones(text: str) -> list[Found]:
    """International numbers (+CC ...) of E.164 length, whether or not their range is assigned."""
    return [Found("PHONE_NUMBER", m.start("s"), m.end("s"), 0.7) for m in _INTL_PHONE.finditer(text)
            if 9 <= sum(ch.isdigit() for ch in m.group("s")) <= 15]


def phone_like(text: str, f: Found) -> bool:
    """Whether a candidate number carries a phone's evidence: 9 to 15 digits, and a country code,
    brackets or separated digit groups, or a cue word before it; never right after a reference word."""
    value, before = text[f.start:f.end], text[max(0, f.start - 40):f.start]
    if not 9 <= sum(ch.isdigit() for ch in value) <= 15:
        return False
    if value.startswith("+"):
        return True
    if _REFERENCE.search(before):
        return False
    return bool(_PHONE_SHAPE.search(value) or _PHONE_CUE.search(before))
