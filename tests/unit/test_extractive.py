"""mesh.llm.extractive.answer: grounded, cited, verbatim and deterministic; says so when it has nothing."""

from __future__ import annotations

import re

import pytest

from mesh.llm.extractive import MODEL_NAME, NO_ANSWER, answer
from mesh.text import sentences
from schemas.models import Passage

pytestmark = pytest.mark.unit

RETENTION = Passage(doc_id="kafka-guide", passage_id="kafka-guide#0", title="Kafka guide",
                    text="Kafka keeps records for seven days by default. Retention is configurable per topic. "
                         "Brokers store segments on disk.")
COMPACTION = Passage(doc_id="kafka-guide", passage_id="kafka-guide#1", title="Kafka guide",
                     text="Compacted topics keep the latest record per key. Retention of deleted keys is governed "
                          "by a tombstone setting.")
REDIS = Passage(doc_id="redis-notes", passage_id="redis-notes#0", title="Redis notes",
                text="Redis holds the idempotency ledger. Keys expire after a week.")
COOKING = Passage(doc_id="recipes", passage_id="recipes#0", title="Recipes",
                  text="Whisk the eggs with sugar. Bake for twenty minutes.")

PASSAGES = [RETENTION, COMPACTION, REDIS, COOKING]
QUESTION = "How long does Kafka keep records before retention deletes them?"

_PART = re.compile(r"(.+?) \[(\d+)\](?: |$)")


def _parts(text: str) -> list[tuple[str, int]]:
    """The answer as (sentence, citation number) pairs; fails if any text is left over."""
    parts = [(m.group(1), int(m.group(2))) for m in _PART.finditer(text)]
    assert " ".join(f"{s} [{n}]" for s, n in parts) == text, text
    return parts


def test_answers_with_a_cited_relevant_sentence():
    out = answer(QUESTION, PASSAGES)
    assert out.finish_reason == "stop"
    assert "Kafka keeps records for seven days by default." in out.text
    assert out.citations and out.citations[0].doc_id == "kafka-guide"


def test_cites_only_passages_given():
    out = answer(QUESTION, PASSAGES)
    given = {(p.doc_id, p.passage_id, p.title) for p in PASSAGES}
    assert {(c.doc_id, c.passage_id, c.title) for c in out.citations} <= given
    assert "recipes" not in {c.doc_id for c in out.citations}


@pytest.mark.parametrize("question", [QUESTION, "Which keys expire in Redis?", "What does a compacted topic keep?",
                                      "How long do brokers keep segments and records on disk?"])
def test_every_sentence_is_verbatim_from_the_passage_it_cites(question):
    out = answer(question, PASSAGES)
    parts = _parts(out.text)
    assert parts
    for sentence, number in parts:
        cite = out.citations[number - 1]
        source = next(p for p in PASSAGES if p.passage_id == cite.passage_id)
        assert sentence in sentences(source.text)


def test_every_citation_is_used_in_the_text():
    out = answer(QUESTION, PASSAGES, max_sentences=3)
    numbers = {n for _, n in _parts(out.text)}
    assert numbers == set(range(1, len(out.citations) + 1))


def test_at_most_max_sentences():
    for limit in (1, 2, 3):
        assert len(_parts(answer("Kafka retention topic keys records", PASSAGES, max_sentences=limit).text)) <= limit


@pytest.mark.parametrize("question, passages", [
    ("What is the capital of Mongolia?", PASSAGES),  # no shared term
    ("What is it?", PASSAGES),  # only stop words
    (QUESTION, []),  # nothing retrieved
])
def test_no_context_answer(question, passages):
    out = answer(question, passages)
    assert out.text == NO_ANSWER
    assert out.finish_reason == "no_context"
    assert out.citations == []


def test_deterministic():
    assert answer(QUESTION, PASSAGES) == answer(QUESTION, PASSAGES)


def test_usage_counts_question_and_context():
    short = answer(QUESTION, [RETENTION])
    long = answer(QUESTION, PASSAGES)
    assert short.usage.model == long.usage.model == MODEL_NAME
    assert 0 < short.usage.prompt_tokens < long.usage.prompt_tokens
    assert short.usage.completion_tokens > 0


def test_never_repeats_a_sentence_from_overlapping_passages():
    """Passages of one document overlap by a sentence (mesh.text.passages), so the same sentence
    reaches the model twice; the answer must still say it once."""
    shared = "Kafka keeps records for seven days by default."
    first = Passage(doc_id="guide", passage_id="guide#0", text=f"Brokers store segments on disk. {shared}")
    second = Passage(doc_id="guide", passage_id="guide#1", text=f"{shared} Compacted topics keep the latest record.")
    out = answer("How many days does Kafka keep records?", [first, second])
    said = [s for s, _ in _parts(out.text)]
    assert len(said) == len(set(said)), out.text


def test_words_match_across_their_forms_so_a_sentence_sharing_one_word_by_chance_is_left_out():
    """"log retention" meets "logs are retained" through stems; the pricing sentence shares only "audit",
    which unstemmed matching ranked close enough to the best to pad the answer with it."""
    retention = Passage(doc_id="policy-retention", passage_id="policy-retention#0", title="Audit log retention policy",
                        text="Audit logs are retained for 400 days in the primary region.")
    pricing = Passage(doc_id="pricing-public", passage_id="pricing-public#0", title="Public pricing",
                      text="The enterprise plan is priced per contract and includes single sign-on and audit exports.")
    out = answer("What is the audit log retention?", [retention, pricing])
    assert out.text == "Audit logs are retained for 400 days in the primary region. [1]"
    assert [c.doc_id for c in out.citations] == ["policy-retention"]


def test_one_word_in_common_with_a_longer_question_is_no_answer():
    """A readable passage that shares only "engineer" with a four-term question does not answer it."""
    onboarding = Passage(doc_id="onboarding", passage_id="onboarding#0", title="Onboarding",
                         text="New engineers get laptop access on their first day.")
    out = answer("What is the salary band for a staff engineer?", [onboarding])
    assert out.text == NO_ANSWER and out.citations == [] and out.finish_reason == "no_context"
    # while a sentence covering a third of a three-term question still answers it
    vacation = Passage(doc_id="vacation", passage_id="vacation#0", title="Vacation policy",
                       text="Employees receive 28 days of paid vacation per year.")
    assert answer("How long is the vacation allowance?", [vacation]).citations[0].doc_id == "vacation"
