"""Sanitization: the detector on hard cases, and masks, policy and reveal against a real redis-server."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
import redis
import redis.asyncio as aioredis

from mesh.io.keys import Keys
from mesh.security.crypto import Keyring, LocalKeyFile, RedisDekStore, Sealer
from policy.engine import PolicyEngine
from policy.masking import Vault
from policy.pii import Detector, iban_valid, luhn
from policy.sanitize import Sanitizer, Source
from policy.scans import Scans
from schemas.models import Principal


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector().warm()


def found(detector: Detector, text: str) -> list[tuple[str, str]]:
    return [(f.type, text[f.start:f.end]) for f in detector.find(text)]


def test_structured_values_are_found_only_when_they_validate(detector):
    assert luhn("4539148803436467") and not luhn("4539148803436468")
    assert iban_valid("GB82 WEST 1234 5698 7654 32") and not iban_valid("GB82 WEST 1234 5698 7654 33")
    text = ("Refund card 2221 0012 3456 7896 (Mastercard 2-series), not tracking number 4539 1488 0343 6468; "
            "IBAN SE45 5000 0000 0583 9825 7466, from 10.20.30.40 or 2001:db8::7334.")
    got = found(detector, text)
    assert ("CREDIT_CARD", "2221 0012 3456 7896") in got
    assert not any(v == "4539 1488 0343 6468" for _, v in got)  # fails Luhn: a tracking number stays
    assert ("IBAN_CODE", "SE45 5000 0000 0583 9825 7466") in got
    assert ("IP_ADDRESS", "10.20.30.40") in got and ("IP_ADDRESS", "2001:db8::7334") in got


def test_secrets_are_found_by_shape_and_by_cue_without_their_cue(detector):
    text = ("Rotate AKIAZ7Q4PLM2XK8TR3VD today; the CI used ghp_" + "a1B2" * 9 + " and password=Xk29fj2kdLs93kdjf2q.")
    got = found(detector, text)
    assert ("API_KEY", "AKIAZ7Q4PLM2XK8TR3VD") in got and ("API_KEY", "ghp_" + "a1B2" * 9) in got
    assert ("API_KEY", "Xk29fj2kdLs93kdjf2q") in got  # the value, not "password="
    assert found(detector, "Release v2.14.1 shipped in build 20261124 with commit 9f3c2ab.") == []


@pytest.mark.parametrize("text, address", [
    ("Contact chiara.demir@corp.internal for details.", "chiara.demir@corp.internal"),
    ("Mail ops@payments.local now.", "ops@payments.local"),
    ("Write to j.smith@acme.corp today.", "j.smith@acme.corp"),
    ("Contact chiara.demir@example.com for details.", "chiara.demir@example.com"),
    ("Bills go to first.last+billing@eu-west-1.compute.internal.", "first.last+billing@eu-west-1.compute.internal"),
    ('Quoted: "ops desk"@corp.example.org, as RFC 5322 allows.', '"ops desk"@corp.example.org'),
    ("mailto:o'brien@hr.acme.test?subject=leave", "o'brien@hr.acme.test"),
    ("Ask Amara (amara.okafor@svc.cluster.local) first.", "amara.okafor@svc.cluster.local"),
    ("Résumé from josé.müller@exämple.de.", "josé.müller@exämple.de"),
])
def test_an_address_is_found_whole_by_its_shape_whatever_its_domain(detector, text, address):
    emails = [v for t, v in found(detector, text) if t == "EMAIL_ADDRESS"]
    assert emails == [address]
    assert not any(f.start < text.index(address) + len(address) and text.index(address) < f.end
                   and f.type != "EMAIL_ADDRESS" for f in detector.find(text))  # never split into other types


def test_what_only_looks_like_an_address_is_not_one(detector):
    text = "Pin react@18.2.0, pull app@sha256:9f3c2ab and @mention the channel; foo@bar has no domain."
    assert [t for t, _ in found(detector, text) if t == "EMAIL_ADDRESS"] == []


def test_a_number_is_a_phone_only_with_a_phones_evidence(detector):
    bare = "Order 4155550134 shipped; ref 2065550199 and invoice no. 3125550143 are closed."
    assert [t for t, _ in found(detector, bare) if t == "PHONE_NUMBER"] == []
    cued = "Call me on 4155550134, or the desk at (206) 555-0199 or 312-555-0143, or +44 20 7946 0958."
    phones = [v for t, v in found(detector, cued) if t == "PHONE_NUMBER"]
    assert phones == ["4155550134", "(206) 555-0199", "312-555-0143", "+44 20 7946 0958"]


@pytest.mark.parametrize("text, name", [
    ("Confirm with Ruaridh before Friday.", "Ruaridh"),                    # a cue, a name in no list
    ("Tenant screening for Summer F. Rajendran: current address pending.", "Summer F. Rajendran"),  # an initial
    ("Tingting approved the refund for Kelechi Laurent.", "Kelechi Laurent"),  # NER's ORG; the book says a person
    ("[15:30] Haoran: yes, it was done from the jump host", "Haoran"),     # a chat line's speaker
    ("Patient Wanjiru Kamau was discharged on Tuesday.", "Wanjiru Kamau"),  # the name book
])
def test_names_ner_misses_are_found_by_their_evidence(detector, text, name):
    spans = found(detector, text)
    assert any(name in v or v in name for t, v in spans if t == "PERSON"), spans


@pytest.mark.parametrize("text", [
    "Hope this helps!",
    "Will do, closing the ticket now.",
    "Pipeline 9c3689f deployed 137 pods in 7015 ms.",
    "Reverted commit 600e26cbaf59db9320cd97c220582f7e93ad0568.",
    "Order 4127761671: 228 units at $332,103.67.",
])
def test_words_that_only_look_like_names_or_numbers_are_left_alone(detector, text):
    assert found(detector, text) == []


def test_acronyms_of_organisations_are_masked_but_not_the_acronyms_of_everyday_work(detector):
    spans = found(detector, "The SLA with HSBC covers the API and the VPN; the CPU budget is separate.")
    assert [v for _, v in spans] == ["HSBC"]


def test_a_name_found_once_is_masked_everywhere_with_its_parts(detector):
    text = "Dr. Amara Okafor approved it. Later Okafor asked Amara Okafor to sign."
    spans = [v for t, v in found(detector, text) if t == "PERSON"]
    assert spans.count("Amara Okafor") == 2 and "Dr." not in " ".join(spans)
    assert any(v.endswith("Okafor") and v != "Amara Okafor" for v in spans)  # the surname alone, masked too


@pytest.fixture
def sanitizer(redis_url, tmp_path, detector):
    """A factory (call it on the test's event loop) and the key prefix it uses."""
    prefix = f"san{uuid.uuid4().hex[:6]}:"
    sealer = Sealer(Keyring(LocalKeyFile(tmp_path / "kek"), RedisDekStore(redis.Redis.from_url(redis_url),
                                                                          f"{prefix}deks")))
    def make():
        r = aioredis.from_url(redis_url)
        return Sanitizer(Scans(r, Keys(prefix), detector), Vault(r, Keys(prefix), sealer, 600), sealer)
    return make, prefix


def test_masks_are_consistent_across_texts_and_concurrent_steps_and_only_readers_see_values(sanitizer, redis_url):
    make, prefix = sanitizer
    engine = PolicyEngine.load()
    dana = Principal(tenant_id="acme", user_id="dana")
    hal = Principal(tenant_id="acme", user_id="hal", roles=["pii_reader"])
    sources = [Source("question", "Is maria.lopez@example.com still with Maria Lopez's team?", 1),
               Source("passage:p1", "Maria Lopez (maria.lopez@example.com) manages refunds in Lisbon.", 2),
               Source("passage:p2", "Public office list: refunds are handled in Lisbon.", 0)]

    async def go():
        san, other = make(), make()  # two replicas
        a, b = await asyncio.gather(san.mask(engine, dana, "task-1", sources), other.mask(engine, dana, "task-1", sources))
        return a, b, await san.reveal(engine, dana, "task-1", a.texts[1]), await san.reveal(engine, hal, "task-1",
                                                                                             a.texts[1])
    a, b, (for_dana, shown_dana), (for_hal, shown_hal) = asyncio.run(go())
    assert a.texts == b.texts  # two replicas masking one task at once agree
    assert a.texts[0] == "Is <EMAIL_ADDRESS_1> still with <PERSON_1>'s team?"
    assert a.texts[1].startswith("<PERSON_1> (<EMAIL_ADDRESS_1>) manages refunds in <LOCATION_1>")
    assert "Lisbon" in a.texts[2]  # policy: places in public text reach the model; in confidential text they do not
    assert (for_dana, shown_dana) == (a.texts[1], 0)
    assert for_hal.startswith("Maria Lopez (maria.lopez@example.com) manages refunds in Lisbon") and shown_hal == 3
    audit = json.loads(a.audit_json())
    assert audit["masked"] == 5 and audit["unmasked"] == 1
    assert "maria" not in a.audit_json().lower() and "lisbon" not in a.audit_json().lower()
    stored = b" ".join(redis.Redis.from_url(redis_url).hgetall(Keys(prefix).masks("acme", "task-1")).values())
    assert b"Maria" not in stored and b"example.com" not in stored  # the vault holds values sealed


def test_a_text_is_scanned_once_and_every_replica_reads_the_scan_from_redis(redis_url, detector, monkeypatch):
    prefix = f"scan{uuid.uuid4().hex[:6]}:"
    text = f"Ask Priya Raman ({uuid.uuid4().hex[:6]}@example.com) about the audit."
    runs: list[str] = []
    first, second = Detector(), Detector()  # two replicas' detectors, neither has seen the text
    for d in (first, second):
        monkeypatch.setattr(d, "_find_many", lambda ts: runs.extend(ts) or [detector.find(t) for t in ts])

    async def go():
        r = aioredis.from_url(redis_url)
        a = await Scans(r, Keys(prefix), first).find_many("acme", [text, "", text])
        return a, await Scans(r, Keys(prefix), second).find_many("acme", [text])
    a, b = asyncio.run(go())
    assert runs == [text]  # the NER pipeline ran once: the repeat, the blank and the second replica did not
    assert a[0] == a[2] == b[0] == detector.find(text) and a[1] == []
    assert {(f.type, text[f.start:f.end]) for f in b[0]} >= {("PERSON", "Priya Raman")}
    stored = redis.Redis.from_url(redis_url).keys(f"{prefix}t:{{acme}}:pii:*")
    assert len(stored) == 1 and b"Priya" not in redis.Redis.from_url(redis_url).get(stored[0])  # offsets, no value


def test_two_steps_asking_for_one_text_at_once_share_one_scan(redis_url, detector, monkeypatch):
    prefix, runs = f"scan{uuid.uuid4().hex[:6]}:", []
    text = f"Ticket from Jonas Berg, {uuid.uuid4().hex[:6]}."
    mine = Detector()
    monkeypatch.setattr(mine, "_find_many", lambda ts: runs.extend(ts) or [detector.find(t) for t in ts])

    async def go():
        scans = Scans(aioredis.from_url(redis_url), Keys(prefix), mine)
        return await asyncio.gather(scans.find_many("acme", [text]), scans.find_many("acme", ["Other text.", text]))
    a, b = asyncio.run(go())
    assert runs.count(text) == 1 and a[0] == b[1] == detector.find(text)


def test_texts_scanned_as_one_batch_are_found_as_if_scanned_one_at_a_time(detector):
    texts = ["Ask Priya Raman (priya.raman@example.com) about the audit.", "", "Refunds are handled in Lisbon.",
             "Call me on 4155550134, or the desk at (206) 555-0199.", "Hope this helps!",
             "Ask Priya Raman (priya.raman@example.com) about the audit.",
             "Tingting approved the refund for Kelechi Laurent; card 4539 1488 0343 6467."]
    alone = [Detector().find(t) for t in texts]
    assert Detector().find_many(texts) == alone
    assert any(alone) and alone[1] == [] and alone[0] == alone[5]


def test_a_changed_detector_rescans(detector):
    assert Detector().fingerprint == Detector().fingerprint
    assert Detector(threshold=0.5).fingerprint != Detector().fingerprint
    assert Detector(entities=("PERSON",)).fingerprint != Detector().fingerprint
