"""Many tasks in flight on a real broker and Redis, against a model that takes its time.

A replica handles a window of messages at once: with a slow model, the executor keeps many
calls open (the test server counts them) while every task still gets exactly one result and
the model is called once per task. With an endpoint that allows two calls at once, no more
than two are ever open, whatever the number of executor replicas, and each replica holds no
more steps than its window while the rest wait on the topic.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
import uuid
from collections import Counter

import pytest
import redis

from mesh.client import Client
from mesh.endpoints import Endpoint
from mesh.io.bus import read_all
from mesh.io.keys import Keys
from mesh.ops.stack import Mesh
from mesh.security.sealing import codec_for
from schemas.models import AccessAttributes, Principal, TaskCompleted, TaskStatus
from tests.integration.conftest import make_settings

pytestmark = pytest.mark.integration

TOPICS = ["retention", "persistence", "breakers", "regions", "audit", "keys", "backups", "tracing"]


def _docs(tenant: str) -> list[dict]:
    return [{"doc_id": f"doc-{t}", "title": f"About {t}", "text": f"The {t} policy of service {i} is documented "
             f"here. Its {t} owner reviews it every quarter.", "access": AccessAttributes(tenant_id=tenant)}
            for i, t in enumerate(TOPICS)]


def _start(tmp_path_factory, llm, name: str, concurrency: int, **overrides) -> Mesh:
    endpoint = Endpoint(name=name, base_url=llm.base_url, model=f"{name}-model", capabilities=("answer",),
                        timeout_s=20, concurrency=concurrency)
    mesh = Mesh(make_settings(tmp_path_factory.mktemp(name), endpoints=(endpoint,), sanitize=False,
                              ask_timeout_s=60, **overrides))
    mesh.start()
    return mesh


def _submit_all(settings, tenant: str, count: int) -> list[str]:
    client = Client(settings)
    docs = _docs(tenant)
    client.ingest(docs)
    client.wait_stored(docs, 60)
    who = Principal(tenant_id=tenant, user_id="u", groups=["eng"])
    tasks = [client.submit(f"Who reviews the {TOPICS[i % len(TOPICS)]} policy (question {i})?", who, flush=False)
             for i in range(count)]
    client.flush()
    return [t.envelope.task_id for t in tasks]


def _results(settings, task_ids: list[str], timeout_s: float) -> Counter:
    """How many TaskCompleted each task got, read until all arrived (or the time is up), then once more."""
    codec, wanted, counts = codec_for(settings, need_key=False), set(task_ids), Counter()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        counts = Counter()
        for msg in read_all(settings, f"{settings.topic_prefix}tasks.completed", idle_s=0.5):
            record = codec.decode(msg.value())
            if isinstance(record, TaskCompleted) and record.envelope.task_id in wanted:
                # degraded: retrieval fell back to BM25 on a loaded machine; the model still answered
                assert record.status in (TaskStatus.answered, TaskStatus.degraded), record
                counts[record.envelope.task_id] += 1
        if set(counts) == wanted:
            time.sleep(1.0)  # a duplicate would come right behind its first
            return counts + Counter()
        time.sleep(0.5)
    return counts


def _in_flight(settings, agent: str) -> list[float]:
    """Each replica's ``switchboard_in_flight`` (summed over its topics), from its /metrics."""
    r = redis.Redis.from_url(settings.redis_url)
    held = []
    for key in r.scan_iter(Keys(settings.key_prefix).heartbeat(agent, "*")):
        port = json.loads(r.get(key) or "{}").get("metrics_port")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
            held.append(sum(float(line.rsplit(" ", 1)[1]) for line in resp.read().decode().splitlines()
                            if line.startswith("switchboard_in_flight{") and f'agent="{agent}"' in line))
    return held


@pytest.fixture(scope="module")
def wide(tmp_path_factory, llm):
    mesh = _start(tmp_path_factory, llm, "wide", concurrency=64)
    yield mesh
    mesh.stop()


def test_a_slow_model_sees_many_calls_at_once_and_each_task_one_result(wide, llm):
    llm.reset()
    llm.faults(stall=1.0, stall_s=1.0)
    try:
        tasks = _submit_all(wide.settings, f"w{uuid.uuid4().hex[:8]}", 24)
        results = _results(wide.settings, tasks, 90)
    finally:
        llm.faults()
    most, mean = llm.open_calls()
    assert set(results) == set(tasks) and set(results.values()) == {1}, results
    questions = Counter(c.question for c in llm.calls if c.model == "wide-model")
    assert len(questions) == 24 and set(questions.values()) == {1}, "one model call per task"
    assert most >= 12, f"model calls did not overlap: at most {most} open at once (mean {mean:.1f})"


def test_endpoint_concurrency_binds_every_replica_and_each_holds_only_its_window(tmp_path_factory, llm):
    mesh = _start(tmp_path_factory, llm, "narrow", concurrency=2, windows={"executor": 6})
    mesh.start_agent("executor", 1)  # two executors share the endpoint's two calls
    mesh.wait_ready(["executor"], 90)
    llm.reset()
    llm.faults(stall=1.0, stall_s=0.3)
    samples, halt = [], threading.Event()

    def sample() -> None:
        while not halt.is_set():
            samples.extend(_in_flight(mesh.settings, "executor"))
            time.sleep(0.2)

    watcher = threading.Thread(target=sample, daemon=True)
    try:
        tasks = _submit_all(mesh.settings, f"n{uuid.uuid4().hex[:8]}", 50)
        watcher.start()
        results = _results(mesh.settings, tasks, 150)
    finally:
        halt.set()
        llm.faults()
        mesh.stop()
    most, _ = llm.open_calls()
    assert set(results) == set(tasks) and set(results.values()) == {1}
    assert most == 2, f"{most} calls open at once on an endpoint that allows 2"
    assert samples and max(samples) <= 6, f"an executor held {max(samples)} steps, its window is 6"
    assert max(samples) >= 3, "no executor ever had steps waiting: the test did not load it"
