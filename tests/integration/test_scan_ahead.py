"""The scanner agent scans ingested passages ahead of any question, last in line for the CPU
(SCHED_IDLE): the detections are kept before a step packs the passage, and hold types and
offsets, never a value."""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

import pytest
import redis

from mesh.client import Client
from mesh.io.keys import Keys
from policy.pii import Detector
from policy.scans import Scans
from schemas.models import AccessAttributes

pytestmark = pytest.mark.integration

NAME, EMAIL = "Ines Oyelaran-Whitfield", "ines.whitfield@harbourline-claims.co.uk"
TITLE = "Refund desk"
TEXT = f"Refunds above the monthly limit go to {NAME} at {EMAIL}. Nobody else approves them."


def _nice(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])  # field 19 of stat


def _idle(pid: int) -> bool:
    """Whether the main thread of ``pid`` (and so every thread it started since) runs under SCHED_IDLE, and
    its scheduling group, where the kernel groups by session, at nice 19."""
    group = Path(f"/proc/{pid}/autogroup")
    return os.sched_getscheduler(pid) == os.SCHED_IDLE and (not group.exists() or group.read_text().split()[-1] == "19")


def test_ingested_passages_are_scanned_before_any_question_and_the_scanner_runs_last_in_line(mesh, settings):
    tenant = f"a{uuid.uuid4().hex[:8]}"
    Client(settings).ingest([{"doc_id": "refunds", "title": TITLE, "text": TEXT,
                              "access": AccessAttributes(tenant_id=tenant)}])
    r, scans = redis.Redis.from_url(settings.redis_url), Scans(None, Keys(settings.key_prefix), Detector())
    kept = {text: scans.key_of(tenant, text) for text in (TITLE, TEXT)}
    deadline = time.monotonic() + 60
    while not all(r.exists(k) for k in kept.values()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert all(r.exists(k) for k in kept.values()), "no scan of the passage and its title was kept"
    found = {tuple(f[:3]) for f in json.loads(r.get(kept[TEXT]))}
    start = TEXT.index(EMAIL)
    assert ("EMAIL_ADDRESS", start, start + len(EMAIL)) in found
    assert any(TEXT[s:e] == NAME for _, s, e in found), found  # the name, whatever the kind it is taken for
    assert all(value.encode() not in r.get(k) for k in kept.values() for value in (NAME, EMAIL))
    scanners = [c for label, c in mesh.workers.items() if label.split("-")[0] == "scanner"]
    assert scanners and all(_idle(c.pid) and _nice(c.pid) == 19 for c in scanners)
    retrievers = [c for label, c in mesh.workers.items() if label.split("-")[0] == "retriever"]
    assert retrievers and not any(_idle(c.pid) for c in retrievers)
