"""mesh.client.parse_documents: JSON lines to documents, every bad line reported by its number."""

from __future__ import annotations

import json

import pytest

from mesh.client import parse_documents
from schemas.models import AccessAttributes, Classification

pytestmark = pytest.mark.unit


def line(**row) -> str:
    return json.dumps(row)


def test_good_lines():
    docs, bad = parse_documents([
        line(id="handbook", title="Handbook", text="Kafka keeps records for seven days."),
        line(id="runbook", text="Restart brokers one at a time."),
    ], default_tenant="acme")
    assert bad == []
    assert [d["doc_id"] for d in docs] == ["handbook", "runbook"]
    assert docs[0]["title"] == "Handbook" and docs[1]["title"] == ""
    assert docs[0]["text"] == "Kafka keeps records for seven days."
    assert docs[0]["access"] == AccessAttributes(tenant_id="acme", groups=[], classification=Classification.internal)


def test_bad_lines_are_reported_with_their_one_based_numbers():
    lines = [
        line(id="good-1", text="Fine."),  # 1
        '{"id": "broken", "text": ',  # 2: bad JSON
        "",  # 3: blank, skipped but counted
        line(title="No id", text="Where is my id?"),  # 4
        line(id="empty", text="   "),  # 5
        line(id="secret", text="Hush.", classification="top-secret"),  # 6
        json.dumps(["not", "an", "object"]),  # 7
        line(id="good-2", text="Also fine."),  # 8
    ]
    docs, bad = parse_documents(lines, default_tenant="acme")
    assert [d["doc_id"] for d in docs] == ["good-1", "good-2"]
    assert [b.line for b in bad] == [2, 4, 5, 6, 7]
    reasons = {b.line: b.reason for b in bad}
    assert "id" in reasons[4]
    assert "text" in reasons[5]
    assert "top-secret" in reasons[6]
    assert all(b.reason and "\n" not in b.reason for b in bad)


def test_missing_text_key():
    _, bad = parse_documents([line(id="x", title="t")], default_tenant="acme")
    assert [b.line for b in bad] == [1] and "text" in bad[0].reason


def test_underscore_id_is_accepted():
    docs, bad = parse_documents([line(_id="from-es", text="Exported from a search engine.")], default_tenant="acme")
    assert bad == [] and docs[0]["doc_id"] == "from-es"


def test_access_from_top_level_keys():
    docs, _ = parse_documents([line(id="a", text="T.", tenant="globex", groups=["finance"],
                                    classification="confidential")], default_tenant="acme")
    assert docs[0]["access"] == AccessAttributes(tenant_id="globex", groups=["finance"],
                                                 classification=Classification.confidential)


def test_access_from_an_access_object():
    docs, _ = parse_documents([line(id="a", text="T.", access={"tenant": "globex", "groups": ["legal"],
                                                                "classification": "restricted"})],
                              default_tenant="acme")
    assert docs[0]["access"] == AccessAttributes(tenant_id="globex", groups=["legal"],
                                                 classification=Classification.restricted)


def test_access_object_wins_over_top_level_keys():
    docs, _ = parse_documents([line(id="a", text="T.", tenant="initech", classification="public",
                                    access={"tenant": "globex", "classification": "restricted"})],
                              default_tenant="acme")
    assert docs[0]["access"].tenant_id == "globex"
    assert docs[0]["access"].classification is Classification.restricted


def test_default_tenant_when_none_given():
    docs, _ = parse_documents([line(id="a", text="T.", groups=["ops"])], default_tenant="umbrella")
    assert docs[0]["access"].tenant_id == "umbrella"
    assert docs[0]["access"].groups == ["ops"]


def test_empty_input():
    assert parse_documents([], default_tenant="acme") == ([], [])


def test_access_that_is_not_an_object_is_a_bad_line():
    """A malformed ``access`` value is one bad line, not a crash that loses the whole file's report."""
    docs, bad = parse_documents([line(id="a", text="T.", access="finance"), line(id="b", text="Fine.")],
                                default_tenant="acme")
    assert [d["doc_id"] for d in docs] == ["b"]
    assert [b.line for b in bad] == [1]


def test_groups_given_as_a_string_never_become_single_letter_groups():
    """``"groups": "finance"`` must mean the group finance (or be refused), never the groups f, i, n, a, c, e:
    that would let members of a group named "a" read a finance-only document."""
    docs, bad = parse_documents([line(id="a", text="T.", groups="finance")], default_tenant="acme")
    if docs:
        assert docs[0]["access"].groups == ["finance"]
    else:
        assert [b.line for b in bad] == [1]


@pytest.mark.parametrize("row, says", [
    (dict(id="a", text="T.", access={"tenant_id": "globex"}), "unknown key in 'access': 'tenant_id': did you mean "
                                                               "'tenant'?"),
    (dict(id="a", text="T.", tenat="globex"), "unknown key 'tenat': did you mean 'tenant'?"),
    (dict(id="a", text="T.", access={"groups": ["x"], "clearance": "public"}), "unknown key in 'access': 'clearance'"),
    (dict(id="a", text="T.", body="more"), "unknown key 'body'"),
], ids=["access_tenant_id", "misspelt_tenant", "access_unknown", "top_level_unknown"])
def test_an_unknown_key_is_a_line_error_never_a_silent_default(row, says):
    """``"access": {"tenant_id": "globex"}`` must not file the document under the default tenant."""
    docs, bad = parse_documents([line(**row), line(id="b", text="Fine.")], default_tenant="acme")
    assert [d["doc_id"] for d in docs] == ["b"]
    assert [b.line for b in bad] == [1] and says in bad[0].reason and "the keys are" in bad[0].reason


def test_ingest_names_unknown_keys_and_publishes_nothing(tmp_path, capsys):
    """The CLI reports the line and exits 2 before it needs a broker."""
    from mesh.cli.main import main

    path = tmp_path / "docs.jsonl"
    path.write_text(line(id="a", text="T.", access={"tenant_id": "globex"}) + "\n" + line(id="b", text="F.") + "\n")
    assert main(["ingest", str(path), "--tenant", "acme"]) == 2
    err = capsys.readouterr().err
    assert f"{path}:1: unknown key in 'access': 'tenant_id'" in err and "nothing was published" in err


def test_the_demo_s_sample_corpus_is_where_the_cli_looks_and_parses():
    from mesh.cli.main import SAMPLE_CORPUS

    docs, errors = parse_documents(SAMPLE_CORPUS.read_text().splitlines(), "acme")
    assert len(docs) >= 5 and errors == []
