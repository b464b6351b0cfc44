"""index.corpus: documents as passage rows, the row <-> document maps, access masks, best_per_doc."""

from __future__ import annotations

import numpy as np
import pytest

from index.corpus import (
    PASSAGE_WORDS,
    Corpus,
    PassageRow,
    StoredDoc,
    best_per_doc,
    doc_passages,
)
from mesh.text import sentences
from schemas.models import AccessAttributes, AccessFilter, Classification

pytestmark = pytest.mark.unit

TENANT = "acme"


def access(groups=(), classification=Classification.internal, tenant=TENANT) -> AccessAttributes:
    return AccessAttributes(tenant_id=tenant, groups=list(groups), classification=classification)


LONG = " ".join(f"Sentence number {i} talks about topic {i} at some length here." for i in range(60))
DOCS = [
    StoredDoc("handbook", "Handbook", "Kafka keeps records for seven days. Retention is per topic.", access()),
    StoredDoc("manual", "Manual", LONG, access(groups=["ops"])),
    StoredDoc("payroll", "Payroll", "Salaries are paid monthly.", access(groups=["finance"],
                                                                          classification=Classification.restricted)),
    StoredDoc("empty", "", "", access(classification=Classification.public)),
    StoredDoc("other", "Other tenant", "Not ours.", access(tenant="globex")),
]


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return Corpus(7, DOCS)


def test_rows_cover_every_document(corpus):
    assert corpus.version == 7
    assert set(corpus.doc_of_row) == {d.doc_id for d in DOCS}
    assert set(corpus.rows_of_doc) == {d.doc_id for d in DOCS}
    assert all(len(corpus.rows_of_doc[d.doc_id]) >= 1 for d in DOCS)
    assert sum(len(r) for r in corpus.rows_of_doc.values()) == len(corpus.rows) == len(corpus.doc_of_row)


def test_long_documents_split_into_passages_that_lose_nothing(corpus):
    rows = [corpus.rows[r] for r in corpus.rows_of_doc["manual"].tolist()]
    assert len(rows) > 1
    assert all(len(r.text.split()) <= PASSAGE_WORDS for r in rows)
    assert [r.number for r in rows] == list(range(len(rows)))
    covered = {s for r in rows for s in sentences(r.text)}
    assert covered == set(sentences(LONG))


def test_rows_of_doc_and_doc_of_row_are_consistent(corpus):
    for doc_id, rows in corpus.rows_of_doc.items():
        assert rows.dtype == np.int64
        assert rows.tolist() == list(range(int(rows[0]), int(rows[-1]) + 1))  # contiguous
        for r in rows.tolist():
            assert corpus.doc_of_row[r] == doc_id
            assert corpus.rows[r].doc_id == doc_id
    for r, doc_id in enumerate(corpus.doc_of_row):
        assert r in corpus.rows_of_doc[doc_id].tolist()


def test_rows_follow_document_order(corpus):
    firsts = [int(corpus.rows_of_doc[d.doc_id][0]) for d in DOCS]
    assert firsts == sorted(firsts) and firsts[0] == 0


def test_passage_ids_and_searchable_text():
    row = PassageRow("manual", 3, "Manual", "Some text.")
    assert row.passage_id == "manual#3"
    assert row.searchable == "Manual. Some text."
    assert PassageRow("x", 0, "", "Only text.").searchable == "Only text."
    assert [r.passage_id for r in doc_passages(DOCS[0])] == ["handbook#0"]
    assert doc_passages(DOCS[3]) == [PassageRow("empty", 0, "", "")]


@pytest.mark.parametrize("flt", [
    AccessFilter(tenant_id=TENANT),
    AccessFilter(tenant_id=TENANT, groups=["ops"]),
    AccessFilter(tenant_id=TENANT, groups=["finance"], clearance=Classification.restricted),
    AccessFilter(tenant_id=TENANT, groups=["finance", "ops"], clearance=Classification.public),
    AccessFilter(tenant_id="globex", clearance=Classification.restricted),
    AccessFilter(tenant_id="nobody"),
], ids=lambda f: f"{f.tenant_id}-{'+'.join(f.groups) or 'nogroup'}-{f.clearance.value}")
def test_allowed_docs_follows_access_filter_permits(corpus, flt):
    want = [d.doc_id for d in DOCS if flt.permits(d.access)]
    assert corpus.allowed_docs(flt) == want


def test_allowed_docs_examples(corpus):
    assert corpus.allowed_docs(AccessFilter(tenant_id=TENANT)) == ["handbook", "empty"]
    assert corpus.allowed_docs(AccessFilter(tenant_id=TENANT, groups=["ops", "finance"],
                                            clearance=Classification.restricted)) == \
        ["handbook", "manual", "payroll", "empty"]


def test_row_mask_none_admits_every_row(corpus):
    mask = corpus.row_mask(None)
    assert mask.dtype == bool and mask.shape == (len(corpus.rows),) and mask.all()


@pytest.mark.parametrize("docs", [[], ["handbook"], ["manual", "payroll"], ["empty", "other", "handbook"],
                                  ["manual", "not-a-doc"]])
def test_row_mask_admits_exactly_the_rows_of_the_listed_docs(corpus, docs):
    mask = corpus.row_mask(docs)
    assert mask.dtype == bool and mask.shape == (len(corpus.rows),)
    want = {r for d in docs if d in corpus.rows_of_doc for r in corpus.rows_of_doc[d].tolist()}
    assert set(np.flatnonzero(mask).tolist()) == want
    assert {corpus.doc_of_row[r] for r in np.flatnonzero(mask).tolist()} == set(docs) & set(corpus.rows_of_doc)


def test_empty_corpus():
    c = Corpus(0, [])
    assert c.rows == [] and c.doc_of_row == [] and c.rows_of_doc == {}
    assert c.row_mask(None).shape == (0,) and c.row_mask(["x"]).shape == (0,)
    assert c.allowed_docs(AccessFilter(tenant_id=TENANT)) == []


# --- best_per_doc ------------------------------------------------------------------------------------

DOC_OF_ROW = ["a", "a", "b", "c", "b", "a", "d"]


def test_best_per_doc_keeps_the_first_row_of_each_doc_in_order():
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4], dtype=np.float32)
    rows = np.array([1, 4, 0, 3, 2, 6], dtype=np.int64)  # docs a, b, a, c, b, d
    got = best_per_doc(scores, rows, DOC_OF_ROW, 10)
    assert [(d, r) for d, r, _ in got] == [("a", 1), ("b", 4), ("c", 3), ("d", 6)]
    assert np.allclose([s for _, _, s in got], [0.9, 0.8, 0.6, 0.4])


def test_best_per_doc_stops_at_k():
    scores = np.array([0.9, 0.8, 0.7, 0.6], dtype=np.float32)
    rows = np.array([0, 1, 2, 3], dtype=np.int64)  # a, a, b, c
    assert [d for d, _, _ in best_per_doc(scores, rows, DOC_OF_ROW, 2)] == ["a", "b"]
    assert [d for d, _, _ in best_per_doc(scores, rows, DOC_OF_ROW, 1)] == ["a"]


def test_best_per_doc_ignores_padding_rows():
    scores = np.array([0.9, 0.5, -np.inf, -np.inf], dtype=np.float32)
    rows = np.array([6, 2, -1, -1], dtype=np.int64)
    got = best_per_doc(scores, rows, DOC_OF_ROW, 10)
    assert [(d, r) for d, r, _ in got] == [("d", 6), ("b", 2)]
    # a -1 must not be read as "the last row" (doc d) either
    got = best_per_doc(np.array([-np.inf, 0.3], dtype=np.float32), np.array([-1, 0]), DOC_OF_ROW, 10)
    assert [(d, r) for d, r, _ in got] == [("a", 0)]


def test_best_per_doc_of_nothing():
    assert best_per_doc(np.zeros(0, np.float32), np.zeros(0, np.int64), DOC_OF_ROW, 5) == []
    assert best_per_doc(np.full(3, -np.inf, np.float32), np.full(3, -1, np.int64), DOC_OF_ROW, 5) == []
