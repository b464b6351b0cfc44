"""What the words around a value say it is: a reference number is no phone, software, a medicine or a gene is
no person or company, a heading of ordinary words and a header's field name are no name.

Phone numbers need a phone's evidence (separated digit groups, a country code, or a cue word right before
them); a bare run of ten digits after "order", "refund" or in a URL's path is not one. Names keep what says
they are names ("Dr. Okafor prescribed ...", "Dana Whitfield upgraded ...").
"""

import pytest

from policy import name_scorer, pii_names, pii_patterns
from policy.pii import Detector
from policy.pii_spans import Found


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector().warm()


def named(detector: Detector, text: str) -> list[tuple[str, str]]:
    return [(f.type, text[f.start:f.end]) for f in detector.find(text)
            if f.type in ("PERSON", "LOCATION", "ORGANIZATION")]


def phone_like(text: str, value: str) -> bool:
    start = text.index(value)
    return pii_patterns.phone_like(text, Found("PHONE_NUMBER", start, start + len(value), 0.5))


@pytest.mark.parametrize("text", [
    "HTTP 404 on /api/v2/orders/4155552671; retry with backoff.",
    "Called about refund 4155552671 today.",
    "Customer called about invoices 4155552671 and 4155552672.",
    "Please call back re contract no. 4155552671.",
    "Reach out to the parcel 4155552671 owner.",
])
def test_a_bare_digit_run_after_a_reference_word_or_in_a_path_is_no_phone(text):
    assert not phone_like(text, "4155552671")


@pytest.mark.parametrize("text, value", [
    ("Call me on 4155552671 after five.", "4155552671"),
    ("Our new fax number is 4155552671.", "4155552671"),
    ("Weekend duty phone: 415-555-2671.", "415-555-2671"),
    ("Order 4155552671: call (415) 555-2671 about it.", "(415) 555-2671"),
    ("Wrong number on file: 206-423-4690 belongs to someone else.", "206-423-4690"),
])
def test_a_phone_with_a_phones_evidence_stays_one(text, value):
    assert phone_like(text, value)


def test_the_detector_masks_no_phone_in_a_url_path(detector):
    text = "HTTP 404 on /api/v2/orders/4155552671; retry with backoff."
    assert [f for f in detector.find(text) if f.type == "PHONE_NUMBER"] == []


@pytest.mark.parametrize("text", [
    "Upgraded Helm to 15.8.16 and p95 latency dropped to 2022 ms.",
    "Action item: update the runbook for Terraform failover.",
    "Dupixent interacts with Metformin; check levels weekly.",
    "Start Keytruda 250 mg once daily; review in 12 weeks.",
    "Variant BRAF c.176G>A was classified as benign.",
    "Correlation-Id: fe9b6cf6-f88d-41cf-a110-17d7739d51ad",
    "Idempotency-Key: 53a35cc2-ea62-4f69-ad5b-6870795f5187",
    "Return SO-195197 approved; label code PI-2675-L.",
    "Exit code 137 (OOMKilled) on pod worker-f70bf9f-474.",
])
def test_software_medicines_genes_and_codes_are_not_names(detector, text):
    assert named(detector, text) == []


@pytest.mark.parametrize("text, name", [
    ("Dana Whitfield upgraded Helm to 15.8.16 last night.", "Dana Whitfield"),
    ("Dr. Chidi Okafor prescribed Metformin 500 mg daily.", "Chidi Okafor"),
    ("Ask Priya Raman about the Terraform failover.", "Priya Raman"),
    ("Correlation-Id 42 was sent to Jean-Pierre Dubois.", "Jean-Pierre Dubois"),
])
def test_names_beside_software_or_medicines_stay_masked(detector, text, name):
    assert ("PERSON", name) in named(detector, text)


def feature(detector: Detector, text: str, value: str, name: str) -> float:
    start = text.index(value)
    feats = [f for c, _, f in detector.name_candidates(text) if c.start <= start and start + len(value) <= c.end]
    assert feats, f"no candidate covers {value!r}"
    return feats[0][name]


def test_what_is_said_of_software_a_medicine_or_a_gene_is_evidence_against_a_name(detector):
    assert feature(detector, "Upgraded Helm to 15.8.16 today.", "Helm", "software") == 1.0
    assert feature(detector, "Upgrade the service to Java 21 before May.", "Java", "software") == 1.0
    assert feature(detector, "Humira 40 mg twice daily.", "Humira", "medicine") == 1.0
    assert feature(detector, "Patients on Atorvastatin were excluded.", "Atorvastatin", "medicine") == 1.0  # a stem
    assert feature(detector, "Variant BRAF c.176G>A was classified as benign.", "BRAF", "gene") == 1.0
    assert feature(detector, "Dana Whitfield approved the upgrade.", "Dana Whitfield", "software") == 0.0
    for kind in ("software", "medicine", "gene"):
        assert name_scorer.weights()[kind] < -2


def test_a_heading_of_ordinary_words_and_a_sentences_first_word_are_evidence_against_a_name(detector):
    assert feature(detector, "Agenda item 3: Capacity Planning", "Capacity Planning", "common_heading") == 1.0
    assert feature(detector, "Budget approved: $18,255.77 for W30.", "Budget", "first_word_plain") == 1.0
    assert feature(detector, "Dana Whitfield approved it.", "Dana Whitfield", "first_word_plain") == 0.0
    assert name_scorer.weights()["common_heading"] < 0 and name_scorer.weights()["first_word_plain"] < 0


def test_a_header_field_is_no_speaker_and_an_identifier_is_no_name():
    assert pii_names.cued_people("Idempotency-Key: 53a35cc2") == []
    assert pii_names.cued_people("Reply-To: someone") == []
    assert [(f.start, f.end) for f in pii_names.cued_people("Haoran: yes, shipping today")] == [(0, 6)]
    assert not pii_names.is_name_like("OOMKilled")
    assert pii_names.is_name_like("DeShawn") and pii_names.is_name_like("McCarthy")


@pytest.mark.parametrize("text", ["Supported markets: PL, TR and ID.", "Shipping is paused for CA and NO today."])
def test_a_list_of_country_codes_names_no_place(detector, text):
    assert named(detector, text) == []


def test_two_capitals_are_a_code_only_beside_other_codes():
    def coded(text: str, value: str) -> bool:
        start = text.index(value)
        return pii_names.in_code_list(text, start, start + len(value))

    assert coded("Supported markets: PL, TR and ID.", "TR") and coded("Markets: DE/AT", "AT")
    assert not coded("Paula Nassar, born in UK, direct deposit", "UK")
    assert not coded("HSBC and UBS", "UBS")


@pytest.mark.parametrize("text", ["Bill the customer for 475 hours at the standard rate.",
                                  "Chase the supplier for the missing delivery note."])
def test_the_verb_that_starts_an_instruction_is_no_name(detector, text):
    assert named(detector, text) == []


@pytest.mark.parametrize("text, name", [("Bill approved the invoice.", "Bill"), ("Mark prefers e-mail.", "Mark")])
def test_a_name_that_is_also_a_verb_stays_masked_where_no_object_follows(detector, text, name):
    assert ("PERSON", name) in named(detector, text)


@pytest.mark.parametrize("text", ["Please review the Data Retention Policy before 2026-09-23.",
                                  "Annual Leave Request (draft for comment)",
                                  "See section 4.2, Architecture Decision Record.",
                                  "Risk Register: 427 open items, due 2025-02-23."])  # "Risk" cut off as a first word
def test_a_documents_title_is_no_name(detector, text):
    assert named(detector, text) == []


def test_a_title_ends_in_a_kind_of_document_and_holds_no_name():
    from policy.name_book import name_book

    book = name_book()
    assert pii_names.document_title("Incident Postmortem", book) and pii_names.document_title("Risk Register", book)
    assert not pii_names.document_title("Okafor Report", book)  # a name in it
    assert not pii_names.document_title("Policy", book) and not pii_names.document_title("Ironclad Security", book)


@pytest.mark.parametrize("text", ["Spring sale: 30.6% off all accessories until 08/08/2025.",
                                  "June close: all journals must be posted by the 3rd."])
def test_a_first_word_that_says_what_kind_of_thing_follows_is_no_name(detector, text):
    assert named(detector, text) == []


def test_an_orders_verb_is_no_part_of_the_name_ner_took_it_into():
    text = "Start Keytruda 250 mg once daily."
    f = pii_names.trimmed(text, Found("PERSON", 0, len("Start Keytruda"), 0.8))
    assert text[f.start:f.end] == "Keytruda"
