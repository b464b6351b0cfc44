"""`switchboard replay`: a recorded task re-driven in an isolated namespace, and the diff of the two runs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from mesh.client import Client
from mesh.endpoints import Endpoint
from mesh.ops.stack import Mesh
from schemas.models import AccessAttributes, Principal, TaskStatus
from tests.integration.conftest import make_settings

pytestmark = pytest.mark.integration

SHIPPED = Path(__file__).resolve().parents[2] / "policy" / "cedar"
DOCS = [("retention", "Retention policy", "Audit logs are retained for 400 days in the primary region. "
         "Older logs move to cold storage."),
        ("breakers", "Circuit breakers", "When a circuit breaker opens, calls fail fast and the step is routed to "
         "a healthy endpoint.")]


@pytest.fixture(scope="module")
def rmesh(tmp_path_factory, llm):
    endpoint = Endpoint(name="gpt", base_url=llm.base_url, model="replay-model", capabilities=("answer",),
                        cost_in_per_1k=0.001, cost_out_per_1k=0.002, timeout_s=5)
    m = Mesh(make_settings(tmp_path_factory.mktemp("rmesh"), endpoints=(endpoint,), ask_timeout_s=40))
    m.start()
    yield m
    m.stop()


@pytest.fixture(scope="module")
def recorded(rmesh):
    """One task answered by the model, on a tenant of its own."""
    tenant = f"r{uuid.uuid4().hex[:8]}"
    client = Client(rmesh.settings)
    docs = [{"doc_id": d, "title": t, "text": x, "access": AccessAttributes(tenant_id=tenant)} for d, t, x in DOCS]
    client.ingest(docs)
    client.wait_stored(docs)
    result = client.ask("How long are audit logs retained?", Principal(tenant_id=tenant, user_id="ana"))
    assert result.status is TaskStatus.answered and "retention" in {c.doc_id for c in result.citations}
    return result


def replay(settings, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mesh.cli.main", "replay", *args, "--json"], capture_output=True,
                          text=True, env={**os.environ, **settings.to_env()}, timeout=400)


def test_replay_with_recorded_outputs_reproduces_the_run_without_calling_a_model(rmesh, llm, recorded):
    calls = len(llm.calls)
    out = replay(rmesh.settings, recorded.envelope.task_id)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["mode"] == "recorded" and report["recorded_outputs"] == 1
    assert report["differences"] == []
    assert report["replayed"]["status"] == "answered"
    assert report["replayed"]["result"]["answer"] == recorded.answer
    assert report["namespace"] != rmesh.settings.topic_prefix
    assert len(llm.calls) == calls, "a replay of recorded outputs called the model"
    # the replay ran in its own namespace: the recorded task has still exactly one result
    events = [e["topic"] for e in report["recorded"]["events"]]
    assert events.count("tasks.completed") == 1


def test_replay_under_changed_policy_shows_the_difference(rmesh, llm, recorded, tmp_path):
    stricter = tmp_path / "policies"
    shutil.copytree(SHIPPED, stricter)
    with (stricter / "policies.cedar").open("a") as f:
        f.write('\n@id("retention-is-private")\nforbid (principal, action == Switchboard::Action::"read_document", '
                'resource == Switchboard::Document::"retention");\n')
    calls = len(llm.calls)
    out = replay(rmesh.settings, recorded.envelope.task_id, "--policy-dir", str(stricter))
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    aspects = {d["aspect"] for d in report["differences"]}
    assert "retrieval" in aspects, report["differences"]
    citations = next(d for d in report["differences"] if d["where"] == "citations")
    assert "retention" in citations["recorded"] and "retention" not in (citations["replayed"] or "")
    assert len(llm.calls) == calls  # its prompt was never recorded, so it was refused, not sent


def test_replay_needs_a_task_or_a_window(rmesh):
    out = subprocess.run([sys.executable, "-m", "mesh.cli.main", "replay"], capture_output=True, text=True,
                         env={**os.environ, **rmesh.settings.to_env()}, timeout=60)
    assert out.returncode == 2 and "TASK_ID" in out.stderr
