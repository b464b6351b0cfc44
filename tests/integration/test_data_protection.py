"""Data protection on the real mesh: no sensitive value reaches a model, nothing readable rests on
a topic or in Redis, and one tenant's task cannot read, spend or evict anything of another's.

The model endpoint is the test's HTTP server; it records every prompt it receives in full.
"""

from __future__ import annotations

import base64
import json
import re
import uuid

import pytest
import redis

from mesh.client import Client
from mesh.endpoints import Endpoint
from mesh.io.bus import read_all
from mesh.io.keys import Keys
from policy.budgets import Budgets
from schemas.models import AccessAttributes, AuditRecord, Principal, TaskStatus
from tests.integration.conftest import make_settings

pytestmark = pytest.mark.integration

SECRETS = {
    "PERSON": "Mariana Okonkwo-Diaz",
    "EMAIL_ADDRESS": "mariana.okonkwo@northwind-legal.co.uk",
    "PHONE_NUMBER": "+44 20 7946 0958",
    "CREDIT_CARD": "4539 1488 0343 6467",
    "IBAN_CODE": "DE89 3704 0044 0532 0130 00",
    "US_SSN": "536-22-8741",
    "IP_ADDRESS": "203.0.113.77",
    "API_KEY": "AKIAZ7Q4PLM2XK8TR3VD",
}
#: addresses at domains whose suffix is no public one: as sensitive as any other
INTERNAL_ADDRESSES = ("chiara.demir@corp.internal", "ops+claims@payments.local", "J.Smith@eu.acme.corp")
DOCS = [
    ("claims", "Claims escalation",
     f"Escalated claims go to {SECRETS['PERSON']} in the claims office (cc {INTERNAL_ADDRESSES[0]}, "
     f"{INTERNAL_ADDRESSES[1]} and <{INTERNAL_ADDRESSES[2]}>). Reach her at {SECRETS['EMAIL_ADDRESS']} "
     f"or on {SECRETS['PHONE_NUMBER']}. Refunds for claim 88 were paid to card {SECRETS['CREDIT_CARD']} and to "
     f"account {SECRETS['IBAN_CODE']}."),
    ("onboarding", "Onboarding record",
     f"The onboarding record lists SSN {SECRETS['US_SSN']} for the new claims handler. Her laptop connects from "
     f"{SECRETS['IP_ADDRESS']} and the deploy key AKIA is {SECRETS['API_KEY']} until it is rotated."),
]
QUESTION = f"Who handles escalated claims, and does {SECRETS['PERSON']} use {SECRETS['EMAIL_ADDRESS']}?"


@pytest.fixture(scope="module")
def pmesh(tmp_path_factory, llm):
    from mesh.ops.stack import Mesh

    endpoints = (Endpoint(name="model", base_url=llm.base_url, model="m-answer", capabilities=("answer",),
                          timeout_s=5),
                 Endpoint(name="planner", base_url=llm.base_url, model="m-plan", capabilities=("plan",), timeout_s=5))
    m = Mesh(make_settings(tmp_path_factory.mktemp("pmesh"), endpoints=endpoints, ask_timeout_s=60))
    m.start()
    yield m
    m.stop()


def _ingest(settings, tenant: str, docs) -> None:
    client = Client(settings)
    rows = [{"doc_id": d, "title": t, "text": x, "access": AccessAttributes(tenant_id=tenant)} for d, t, x in docs]
    client.ingest(rows)
    client.wait_stored(rows)


@pytest.fixture(scope="module")
def ptenant(pmesh):
    tenant = f"p{uuid.uuid4().hex[:8]}"
    _ingest(pmesh.settings, tenant, DOCS)
    return tenant


@pytest.fixture(scope="module")
def asked(pmesh, ptenant, llm):
    """One task by an ordinary user and one by a pii_reader; every prompt the endpoint saw for them."""
    client = Client(pmesh.settings)
    plain = client.ask(QUESTION, Principal(tenant_id=ptenant, user_id="dana"))
    reader = client.ask(QUESTION, Principal(tenant_id=ptenant, user_id="hal", roles=["pii_reader"]))
    return plain, reader, [c.prompt for c in llm.calls]


def test_no_sensitive_value_reaches_the_model_endpoint(asked):
    plain, reader, prompts = asked
    assert plain.status is TaskStatus.answered and reader.status is TaskStatus.answered, (plain, reader)
    assert prompts, "the endpoint was never called"
    leaked = {kind: value for kind, value in SECRETS.items() for p in prompts if value in p}
    assert not leaked, f"sent to the model: {leaked}"
    seen = " ".join(prompts)
    for kind in ("PERSON", "EMAIL_ADDRESS", "CREDIT_CARD", "IBAN_CODE"):
        assert f"<{kind}_1>" in seen, f"no {kind} placeholder in any prompt"


def test_addresses_at_internal_domains_reach_the_model_masked_whole(asked):
    _, _, prompts = asked
    with_passage = [p for p in prompts if "claims office" in p]
    assert with_passage, "the passage holding the internal addresses never reached a prompt"
    for prompt in with_passage:
        assert not any(a in prompt or a.split("@")[1] in prompt for a in INTERNAL_ADDRESSES), prompt
        assert len(set(re.findall(r"<EMAIL_ADDRESS_\d+>", prompt))) >= 4, prompt  # each address its own mask


def test_masks_are_consistent_and_only_a_reader_gets_values_back(asked):
    plain, reader, prompts = asked
    answering = [p for p in prompts if "Context:" in p]
    assert answering and all("<PERSON_1>" in p for p in answering)  # the question's name and the document's
    from_documents = [v for k, v in SECRETS.items() if v not in QUESTION]  # what the asker did not type
    assert all(v not in plain.answer for v in from_documents), plain.answer
    assert "<" in plain.answer and ">" in plain.answer, plain.answer  # placeholders for an ordinary user
    shown = re.findall(r"<[A-Z_]+_\d+>", plain.answer)
    assert shown, plain.answer
    for placeholder in shown:  # what the ordinary user sees masked, the reader sees restored (keys excepted)
        assert (placeholder in reader.answer) == placeholder.startswith("<API_KEY"), (placeholder, reader.answer)
    assert any(v in reader.answer for v in SECRETS.values() if v != SECRETS["API_KEY"]), reader.answer
    assert SECRETS["API_KEY"] not in reader.answer  # the policies never reveal keys


def test_the_audit_trail_lists_what_was_masked_without_values(pmesh, ptenant, asked):
    plain, _, _ = asked
    records = []
    for msg in read_all(pmesh.settings, Client(pmesh.settings).topics.name("audit.events"), idle_s=0.5):
        raw = msg.value()
        assert all(v.encode() not in raw for v in SECRETS.values())
        rec = Client(pmesh.settings).codec.decode(raw)
        if isinstance(rec, AuditRecord) and rec.envelope.task_id == plain.envelope.task_id and rec.action == "sanitize":
            records.append(rec)
    assert records, "no sanitize audit record"
    entities = [e for r in records for e in json.loads(r.sanitization)["entities"]]
    kinds = {e["type"] for e in entities}
    assert {"PERSON", "EMAIL_ADDRESS", "CREDIT_CARD", "IBAN_CODE", "PHONE_NUMBER"} <= kinds, kinds
    for e in entities:
        assert set(e) == {"type", "source", "start", "end", "placeholder", "hmac"} and len(e["hmac"]) == 32
    same = {e["hmac"] for e in entities if e["placeholder"] == "<PERSON_1>"}
    assert len(same) == 1  # one person, one keyed hash, wherever she was found


def test_topics_and_redis_hold_no_plaintext_question_context_or_answer(pmesh, ptenant, asked):
    plain, _, _ = asked
    s = pmesh.settings
    probes = [QUESTION.encode(), b"Escalated claims go to", b"onboarding record lists",
              *(v.encode() for v in SECRETS.values())]
    topics = Client(s).topics
    for name in ("docs.ingest", "tasks.submitted", "steps.retrieve", "index.queries", "index.results",
                 "steps.execute", "steps.validate", "steps.done", "tasks.completed"):
        messages = read_all(s, topics.name(name), idle_s=0.5)
        assert messages, f"nothing on {name}"
        for msg in messages:
            found = [p for p in probes if p in msg.value()]
            assert not found, f"plaintext on {name}: {found[0][:40]!r}"
    r = redis.Redis.from_url(s.redis_url)
    checked = 0
    for key in r.scan_iter(f"{s.key_prefix}*"):
        kind = r.type(key)
        values = [r.get(key)] if kind == b"string" else list(r.hgetall(key).values()) if kind == b"hash" else []
        for v in values:
            checked += 1
            assert not any(p in (v or b"") for p in probes), f"plaintext in Redis key {key!r}"
    assert checked > 10
    assert plain.answer  # the client, holding the key, reads the answer


def _encodings(marker: str) -> list[bytes]:
    """``marker`` as bytes, in hex, and in base64 at each of the three alignments (the ledger keeps base64)."""
    raw = marker.encode()
    out = [raw, raw.hex().encode()]
    for pad in range(3):
        enc = base64.b64encode(b"\0" * pad + raw)
        out.append(enc[-(-8 * pad // 6):8 * (pad + len(raw)) // 6])  # the characters made of the marker's bits
    return out


def _redis_values(r: redis.Redis):
    """(key, value) for every key of the database, every type; the key's own name included."""
    for key in r.scan_iter(count=1000):
        kind = r.type(key)
        yield key, key
        if kind == b"string":
            yield key, r.get(key)
        elif kind == b"hash":
            yield from ((key, p) for kv in r.hgetall(key).items() for p in kv)
        elif kind == b"list":
            yield from ((key, v) for v in r.lrange(key, 0, -1))
        elif kind == b"set":
            yield from ((key, v) for v in r.smembers(key))
        elif kind == b"zset":
            yield from ((key, v) for v, _ in r.zrange(key, 0, -1, withscores=True))
        elif kind == b"stream":
            yield from ((key, p) for _, fields in r.xrange(key) for kv in fields.items() for p in kv)
        else:
            assert kind == b"none", f"a Redis key of type {kind!r} the scan does not read: {key!r}"


def _topic_messages(s) -> dict[str, list]:
    """Every message of every topic of the mesh (dead-letter topics, the audit log and any other with its prefix)."""
    from confluent_kafka.admin import AdminClient

    names = set(Client(s).topics.all())
    names |= {t for t in AdminClient({"bootstrap.servers": s.bootstrap_servers}).list_topics(timeout=10).topics
              if t.startswith(s.topic_prefix)}
    out: dict[str, list] = {n: [] for n in names}
    for msg in read_all(s, sorted(names), idle_s=0.5, missing_ok=True):
        out[msg.topic()].append(msg)
    return out


def _in_the_clear(s, marker: str, skip_topics: tuple[str, ...] = ()) -> list[str]:
    """Where ``marker`` rests readable: Redis keys and values, and the keys, values and headers on the topics."""
    probes, found = _encodings(marker), []
    for key, value in _redis_values(redis.Redis.from_url(s.redis_url)):
        if value and any(p in value for p in probes):
            found.append(f"redis {key!r}")
    for topic, messages in _topic_messages(s).items():
        if topic in skip_topics:
            continue
        for msg in messages:
            blobs = [msg.key() or b"", msg.value() or b"", *(v or b"" for _, v in msg.headers() or [])]
            if any(p in b for b in blobs for p in probes):
                found.append(f"topic {topic} offset {msg.offset()}")
    return found


def _letters(n: int) -> str:
    """A marker no detector masks or splits: lower-case letters only, found nowhere else."""
    return "".join(chr(ord("a") + int(c, 16)) for c in uuid.uuid4().hex[:n])


def test_a_marker_in_a_documents_title_and_text_and_in_questions_rests_nowhere_in_the_clear(pmesh, llm):
    """Plain tasks, a compositional one, and one whose answers quote an unverifiable sentence with the marker
    (so retries' feedback, steps' reasons and the task's degraded note carry it too)."""
    from tests.integration.model_server import Behaviour

    s, marker = pmesh.settings, f"zq{_letters(14)}"
    tenant = f"m{uuid.uuid4().hex[:8]}"
    _ingest(s, tenant, [("vault-note", f"Retention of the {marker} archive",
                         f"The {marker} archive keeps audit logs for 400 days. Its access log is kept 90 days.")])
    client, who = Client(s), Principal(tenant_id=tenant, user_id="dana")
    results = [client.ask(f"How long does the {marker} archive keep audit logs?", who),
               client.ask(f"Compare the {marker} archive audit log retention and the {marker} access log retention", who)]
    for r in results:
        assert r.status is TaskStatus.answered, r
        assert any(marker in c.title for c in r.citations), r.citations  # titles travelled, and are read back
    assert any(marker in r.answer for r in results), [r.answer for r in results]
    unverifiable = Behaviour("raw", text=f"The {marker} archive keeps audit logs for 400 days. [1] "
                                         f"The {marker} archive is guarded by seven dragons. [1]")
    llm.script("m-answer", *[unverifiable] * 6)  # two parts, three attempts each
    try:
        degraded = client.ask(f"Compare the {marker} archive audit log retention and the {marker} archive "
                              "access log retention", who)
    finally:
        llm.reset()
    assert degraded.status is TaskStatus.degraded and marker in (degraded.degraded or ""), degraded
    assert any("A previous answer was rejected" in c.prompt and "dragons" in c.prompt for c in llm.calls), \
        "no retry carried the unverified sentence as feedback"
    client.cancel(uuid.uuid4().hex, who, reason=f"the {marker} archive question was a mistake")
    found = _in_the_clear(s, marker)
    assert not found, f"{marker} in the clear: {found[:10]}"


def test_an_unsealed_task_is_dead_lettered_audited_and_rejected_not_answered(pmesh, llm):
    from mesh.wire.codec import default_codec
    from schemas.models import DeadLetter, Decision

    s, marker = pmesh.settings, f"zu{_letters(14)}"
    tenant = f"u{uuid.uuid4().hex[:8]}"
    _ingest(s, tenant, [("note", "Retention", f"The {marker} archive keeps audit logs for 400 days.")])
    plain = Client(s, codec=default_codec())  # a client with SWITCHBOARD_ENCRYPT_AT_REST=false
    calls = len(llm.calls)
    done = plain.ask(f"How long does the {marker} archive keep audit logs?", Principal(tenant_id=tenant, user_id="eve"))
    task_id = done.envelope.task_id
    assert done.status is TaskStatus.rejected and done.rejection.code == "unsealed", done
    assert "SWITCHBOARD_ENCRYPT_AT_REST=true" in done.rejection.message and not done.answer
    assert not any(marker in c.question for c in llm.calls[calls:])  # no model saw it
    codec, topics = Client(s).codec, Client(s).topics
    letters = [codec.decode(m.value()) for m in read_all(s, topics.name("tasks.submitted") + ".dlq", idle_s=0.5)]
    mine = [d for d in letters if isinstance(d, DeadLetter) and task_id.encode() in d.value]
    assert len(mine) == 1 and mine[0].reason.startswith("field question of TaskSubmitted is not sealed"), letters
    assert "SWITCHBOARD_ENCRYPT_AT_REST=true" in mine[0].reason and mine[0].agent == "planner"
    audits = [a for a in (codec.decode(m.value()) for m in read_all(s, topics.name("audit.events"), idle_s=0.5))
              if isinstance(a, AuditRecord) and a.envelope.task_id == task_id]
    assert [(a.decision, a.reason.split(":")[0]) for a in audits] == [(Decision.deny, "unsealed")], audits
    # only the producer's own message holds it: no copy in the dead letter, the audit trail, Redis or anywhere
    found = _in_the_clear(s, marker, skip_topics=(topics.name("tasks.submitted"),))
    assert not found, f"{marker} copied in the clear: {found[:10]}"


def test_one_tenant_cannot_read_spend_or_evict_anothers(pmesh, ptenant, llm):
    s = pmesh.settings
    other = f"q{uuid.uuid4().hex[:8]}"
    _ingest(s, other, [("ledger", "Ledger", "The quarterly ledger closes on the ninth working day.")])
    client = Client(s)
    before = {k for k in redis.Redis.from_url(s.redis_url).scan_iter(f"{s.key_prefix}t:{{{ptenant}}}:*")}
    import asyncio

    from mesh.io.redis_clients import async_redis

    async def set_hard(tenant: str, tokens: int) -> None:
        client = async_redis(s)
        await Budgets.from_settings(s, client).set(tenant, hard_tokens=tokens)
        await client.aclose()

    asyncio.run(set_hard(other, 1))  # the other tenant can afford nothing
    theirs = client.ask("When does the quarterly ledger close? Who handles escalated claims?",
                        Principal(tenant_id=other, user_id="eve"))
    assert theirs.status is TaskStatus.failed and theirs.rejection.code == "budget_exhausted", theirs
    assert all(c.doc_id == "ledger" for c in theirs.citations)  # never a document of another tenant
    ours = client.ask("Who handles escalated claims?", Principal(tenant_id=ptenant, user_id="dana"))
    assert ours.status is TaskStatus.answered, ours  # their exhausted budget is not ours
    assert {c.doc_id for c in ours.citations} <= {"claims", "onboarding"}
    after = {k for k in redis.Redis.from_url(s.redis_url).scan_iter(f"{s.key_prefix}t:{{{ptenant}}}:*")}
    assert before <= after  # nothing of ours was evicted by their tasks
    for key in redis.Redis.from_url(s.redis_url).scan_iter(f"{s.key_prefix}t:{{{other}}}:*"):
        assert ptenant.encode() not in key
    assert Keys(s.key_prefix).task(ptenant, "x").startswith(f"{s.key_prefix}t:{{{ptenant}}}:")


def test_200_concurrent_tasks_on_three_executor_replicas_never_spend_past_a_hard_budget(pmesh, llm):
    """Last in the module (it adds executor replicas). Every tenth model call fails: its reservation goes back.

    Failures are spaced, not drawn at random: three in a row (the breaker's threshold) would open the model
    breaker, and every later task would be answered extractively without spending, leaving nothing to refuse."""
    import asyncio
    import time

    from mesh.io.redis_clients import async_redis

    s = pmesh.settings
    tenant = f"b{uuid.uuid4().hex[:8]}"
    _ingest(s, tenant, [("ledger", "Ledger", "The quarterly ledger closes on the ninth working day.")])
    hard = 6000

    async def budgets(fn):
        client = async_redis(s)
        try:
            return await fn(Budgets.from_settings(s, client))
        finally:
            await client.aclose()

    asyncio.run(budgets(lambda b: b.set(tenant, hard_tokens=hard)))
    for replica in (1, 2):
        pmesh.start_agent("executor", replica)
    pmesh.wait_ready(["executor"], 90)
    llm.faults(error_every=10)
    try:
        client = Client(s)
        ids = {client.submit("When does the quarterly ledger close?",
                             Principal(tenant_id=tenant, user_id=f"u{i % 7}")).envelope.task_id for i in range(200)}
        results, deadline = {}, time.monotonic() + 240
        while len(results) < len(ids) and time.monotonic() < deadline:
            for msg in read_all(s, client.topics.name("tasks.completed"), idle_s=1.0):
                r = client.codec.decode(msg.value())
                if r.envelope.task_id in ids:
                    results[r.envelope.task_id] = r
    finally:
        llm.faults()
    assert len(results) == 200, f"{200 - len(results)} tasks never completed"
    # degraded is answered too (under this burst the retriever may answer from BM25 alone, and says so)
    answered = [r for r in results.values() if r.status in (TaskStatus.answered, TaskStatus.degraded)]
    refused = [r for r in results.values() if r not in answered]
    assert answered and refused, (len(answered), len(refused))
    for r in refused:  # typed, and says which budget, what is left and when it resets
        assert r.rejection is not None and r.rejection.code == "budget_exhausted", (r.status, r.rejection,
                                                                                   r.degraded, r.answer[:200])
        assert "hard" in r.rejection.message and "reset" in r.rejection.message, r.rejection.message
    shown = asyncio.run(budgets(lambda b: b.show(tenant)))
    assert shown["used_tokens"] <= hard, shown
    assert shown["reserved"] == 0, shown  # no reservation outlived its call, failed calls included
    assert any(c.status == 500 for c in llm.calls), "no call failed: the release path was not exercised"
    charged = sum(u.usage.prompt_tokens + u.usage.completion_tokens
                  for u in (client.codec.decode(m.value()) for m in read_all(s, client.topics.name("usage.tokens"),
                                                                             idle_s=0.5))
                  if u.envelope.tenant_id == tenant)
    assert charged == shown["used_tokens"]  # what was settled is what the endpoint reported
