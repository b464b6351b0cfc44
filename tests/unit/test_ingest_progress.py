"""`switchboard ingest --wait` shows documents indexed and their rate on a terminal's stderr, and nothing
else where its output is read by a program (--json, or stderr not a terminal)."""

from __future__ import annotations

import argparse
import io
import json
import sys

import pytest

import mesh.cli.main
import mesh.client
import mesh.io.redis_clients
from mesh.client import Client
from mesh.settings import Settings
from mesh.wire.codec import default_codec
from schemas.models import AccessAttributes

pytestmark = pytest.mark.unit

SETTINGS = Settings(bootstrap_servers="127.0.0.1:1", redis_url="redis://127.0.0.1:2/0")


class _Store:
    """The document store's hashes, filling up by ``per_look`` documents each time the client looks."""

    def __init__(self, docs: list[dict], per_look: int) -> None:
        self.left, self.per_look, self.held = list(docs), per_look, {}

    def hmget(self, key: str, ids: list[str]) -> list[bytes | None]:
        for d in self.left[:self.per_look]:
            self.held[(d["access"].tenant_id, d["doc_id"])] = json.dumps({"text": d["text"]}).encode()
        self.left = self.left[self.per_look:]
        tenant = key.split(":")[2].strip("{}")
        return [self.held.get((tenant, i)) for i in ids]


def _docs() -> list[dict]:
    return [{"doc_id": f"d{i}", "title": "", "text": f"Text {i}.", "access": AccessAttributes(tenant_id=t)}
            for i, t in enumerate(["acme"] * 3 + ["globex"] * 2)]


def test_waiting_reports_how_many_documents_are_stored_across_tenants(monkeypatch):
    monkeypatch.setattr(mesh.client, "require_broker", lambda *a: None)
    monkeypatch.setattr(mesh.client, "configure_tracing", lambda *a: None)
    docs = _docs()
    monkeypatch.setattr(mesh.io.redis_clients, "sync_redis", lambda *a, **k: _Store(docs, per_look=1))
    monkeypatch.setattr(mesh.client.time, "sleep", lambda s: None)
    seen: list[int] = []
    Client(SETTINGS, codec=default_codec()).wait_stored(docs, progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == len(docs) and len(seen) > 2, seen


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class _Published:
    """A Client that publishes nothing and finds the documents stored two at a time."""

    def __init__(self, settings) -> None:
        self.topics = mesh.client.Topics("")

    def ingest(self, docs, progress=None) -> int:
        return len(docs)

    def wait_stored(self, docs, timeout_s=60.0, progress=None) -> None:
        for n in range(0, len(docs) + 1, 2):
            if progress:
                progress(min(n, len(docs)))
        if progress:
            progress(len(docs))


@pytest.mark.parametrize("terminal, as_json, shown", [(True, False, True), (True, True, False), (False, False, False)])
def test_ingest_wait_shows_documents_indexed_per_second_only_on_a_terminal_without_json(
        monkeypatch, tmp_path, terminal, as_json, shown):
    path = tmp_path / "docs.jsonl"
    path.write_text("".join(json.dumps({"id": f"d{i}", "text": f"Text {i}."}) + "\n" for i in range(5)))
    monkeypatch.setattr(mesh.client, "Client", _Published)
    err = _Terminal() if terminal else io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    args = argparse.Namespace(path=str(path), tenant="acme", skip_invalid=False, wait=True, json=as_json)
    assert mesh.cli.main.cmd_ingest(args, SETTINGS) == 0
    assert ("indexed" in err.getvalue() and "5/5" in err.getvalue() and "doc/s" in err.getvalue()) == shown, \
        err.getvalue()
