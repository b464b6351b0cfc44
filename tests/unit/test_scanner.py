"""The scanner scans exactly the texts the retriever will mask: each title and passage, once per tenant."""

from __future__ import annotations

from agents.scanner import texts_to_scan
from index.corpus import StoredDoc, doc_passages
from mesh.wire.envelope import new_envelope
from schemas.models import AccessAttributes, DocumentIngest, DocumentOp


def _doc(tenant: str, doc_id: str, title: str, text: str, op: DocumentOp = DocumentOp.upsert) -> DocumentIngest:
    return DocumentIngest(envelope=new_envelope(tenant, "ingest"), op=op, doc_id=doc_id, title=title, text=text,
                          access=AccessAttributes(tenant_id=tenant))


def test_each_title_and_passage_as_the_retriever_packs_them():
    long = " ".join(f"Sentence {i} says something about refunds and limits." for i in range(60))  # several passages
    doc = _doc("acme", "d1", "Refund desk", long)
    stored = StoredDoc("d1", "Refund desk", long, AccessAttributes(tenant_id="acme"))
    rows = doc_passages(stored)  # what the retriever's corpus holds, and packs
    assert len(rows) > 1
    assert texts_to_scan([doc]) == {"acme": ["Refund desk", *(r.text for r in rows)]}


def test_a_text_once_per_tenant_and_nothing_of_a_delete_or_a_blank_title():
    docs = [_doc("acme", "d1", "Policy", "Call Ines at 555-0100."), _doc("acme", "d2", "Policy", "Call Ines at 555-0100."),
            _doc("globex", "d3", "", "Call Ines at 555-0100."), _doc("acme", "d4", "Gone", "x", DocumentOp.delete)]
    assert texts_to_scan(docs) == {"acme": ["Policy", "Call Ines at 555-0100."], "globex": ["Call Ines at 555-0100."]}
