"""Encryption at rest against a real redis-server: data keys, sealed fields, the sealing codec, rotation."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import uuid

import pytest
import redis

from mesh.cli.keys import rewrap
from mesh.errors import DeterministicError
from mesh.security.crypto import Keyring, LocalKeyFile, RedisDekStore, Sealer, is_sealed
from mesh.security.sealing import SealingCodec
from mesh.settings import Settings
from mesh.wire.codec import default_codec
from mesh.wire.envelope import new_envelope
from schemas.models import (
    Citation,
    Passage,
    Principal,
    TaskCompleted,
    TaskStatus,
    TaskSubmitted,
    Usage,
    ValidateStep,
)


@pytest.fixture
def prefix() -> str:
    return f"enc{uuid.uuid4().hex[:6]}:"


def sealer(redis_url: str, kek, prefix: str) -> Sealer:
    return Sealer(Keyring(kek, RedisDekStore(redis.Redis.from_url(redis_url), f"{prefix}deks")))


def test_values_open_only_for_their_tenant_and_field_and_unaltered(redis_url, tmp_path, prefix):
    s = sealer(redis_url, LocalKeyFile(tmp_path / "kek"), prefix)
    token = s.seal("acme", "question", "What is Dana's salary?")
    assert is_sealed(token) and "Dana" not in token
    assert s.open("acme", "question", token) == "What is Dana's salary?"
    assert s.seal("acme", "question", "x") != s.seal("acme", "question", "x")  # a fresh nonce each time
    for tenant, field, tok in (("globex", "question", token), ("acme", "answer", token),
                               ("acme", "question", token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"))):
        with pytest.raises(DeterministicError) as err:
            s.open(tenant, field, tok)
        assert err.value.code == "undecryptable"
    assert s.open("acme", "question", "plain text") == "plain text"  # written before encryption was on


def test_replicas_share_each_tenants_data_key_and_tenants_do_not(redis_url, tmp_path, prefix):
    kek = tmp_path / "kek"
    a, b = sealer(redis_url, LocalKeyFile(kek), prefix), sealer(redis_url, LocalKeyFile(kek), prefix)
    assert b.open("acme", "f", a.seal("acme", "f", "shared")) == "shared"
    assert a.keyring.dek("acme") == b.keyring.dek("acme") != a.keyring.dek("globex")
    assert a.keyed_hash("acme", "4111 1111 1111 1111") == b.keyed_hash("acme", "4111 1111 1111 1111")
    assert a.keyed_hash("acme", "4111 1111 1111 1111") != a.keyed_hash("globex", "4111 1111 1111 1111")
    stored = redis.Redis.from_url(redis_url).hget(f"{prefix}deks", "acme")
    assert a.keyring.dek("acme") not in stored  # only wrapped at rest


def test_a_replica_with_another_kek_is_refused_with_a_clear_error(redis_url, tmp_path, prefix):
    sealer(redis_url, LocalKeyFile(tmp_path / "one"), prefix).seal("acme", "f", "x")
    with pytest.raises(DeterministicError) as err:
        sealer(redis_url, LocalKeyFile(tmp_path / "two"), prefix).seal("acme", "f", "x")
    assert err.value.code == "wrong_kek" and "SWITCHBOARD_KEK_FILE" in str(err.value)


def test_key_files_are_made_once_0600_and_never_by_a_cluster_replica(tmp_path):
    path = tmp_path / "keys" / "kek.key"
    with pytest.raises(FileNotFoundError):
        LocalKeyFile(path, create=False)
    code = f"from mesh.security.crypto import LocalKeyFile; print(LocalKeyFile({str(path)!r}).key_id)"
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) for _ in range(4)]
    ids = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert len(ids) == 1 and path.stat().st_mode & 0o777 == 0o600  # racing creators agree on one key
    (tmp_path / "short").write_bytes(b"too short")
    with pytest.raises(ValueError, match="32 random bytes"):
        LocalKeyFile(tmp_path / "short")


def test_the_sealing_codec_hides_payload_fields_and_nothing_else(redis_url, tmp_path, prefix):
    codec = SealingCodec(default_codec(), sealer(redis_url, LocalKeyFile(tmp_path / "kek"), prefix))
    env = new_envelope("acme", "validate")
    step = ValidateStep(envelope=env, question="Where does Dana live?", principal=Principal(tenant_id="acme", user_id="u"),
                        passages=[Passage(doc_id="hr-7", passage_id="hr-7#0", title="HR file", text="Dana lives in Lyon.")],
                        answer="In Lyon. [1]", citations=[Citation(doc_id="hr-7", passage_id="hr-7#0", title="HR file")],
                        usage=Usage(model="m"))
    raw = codec.encode(step)
    for secret in (b"Dana", b"Lyon", b"HR file"):
        assert secret not in raw
    assert b"hr-7#0" in raw and env.task_id.encode() in raw  # ids stay readable for trace and the broker
    assert codec.decode(raw) == step
    plain = default_codec().decode(raw)  # a reader without the key sees ciphertext, and nothing breaks
    assert is_sealed(plain.question) and is_sealed(plain.passages[0].text) and is_sealed(plain.answer)
    done = TaskCompleted(envelope=env, status=TaskStatus.answered, answer="")
    assert codec.decode(codec.encode(done)).answer == ""  # empty stays empty


def test_rewrap_rotates_the_kek_and_old_payloads_still_open(redis_url, tmp_path, prefix):
    old = LocalKeyFile(tmp_path / "old")
    token = sealer(redis_url, old, prefix).seal("acme", "answer", "Seven days.")
    settings = Settings(redis_url=redis_url, key_prefix=prefix)
    new = LocalKeyFile(tmp_path / "new")
    assert rewrap(settings, old, new) == 1
    assert sealer(redis_url, new, prefix).open("acme", "answer", token) == "Seven days."
    with pytest.raises(DeterministicError):
        sealer(redis_url, old, prefix).open("acme", "answer", token)
    out = subprocess.run([sys.executable, "-m", "mesh.cli.main", "keys", "show", "--json"], capture_output=True, text=True,
                         env={"SWITCHBOARD_REDIS_URL": redis_url, "SWITCHBOARD_KEY_PREFIX": prefix,
                              "SWITCHBOARD_KEK_FILE": str(tmp_path / "new"), "PATH": "/usr/bin:/bin"}, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["tenants_with_data_keys"] == ["acme"]


def test_read_only_tools_read_without_the_key_and_agents_refuse_to(tmp_path):
    from mesh.security.sealing import codec_for

    s = Settings(run_dir=tmp_path, embedded=False, kek_file=tmp_path / "absent.key")
    assert codec_for(s, need_key=False) is default_codec()  # trace and DLQ tools: fields stay sealed
    with pytest.raises(FileNotFoundError, match="SWITCHBOARD_KEK_FILE"):
        codec_for(s)  # an agent of a cluster never makes its own key
    assert not (tmp_path / "absent.key").exists()


def test_an_agents_codec_refuses_plain_text_where_a_sealed_value_belongs(redis_url, tmp_path, prefix):
    from mesh.security.sealing import Unsealed

    s = sealer(redis_url, LocalKeyFile(tmp_path / "kek"), prefix)
    strict, lenient = SealingCodec(default_codec(), s, strict=True), SealingCodec(default_codec(), s)
    task = TaskSubmitted(envelope=new_envelope("acme", "submit"), question="Where does Dana live?",
                         principal=Principal(tenant_id="acme", user_id="u"))
    plain = default_codec().encode(task)  # a producer with SWITCHBOARD_ENCRYPT_AT_REST=false
    with pytest.raises(Unsealed, match=r"field question of TaskSubmitted is not sealed.*"
                                       r"SWITCHBOARD_ENCRYPT_AT_REST=true") as refused:
        strict.decode(plain)
    assert refused.value.code == "unsealed" and refused.value.record == task
    assert b"Dana" not in refused.value.sealed and strict.decode(refused.value.sealed) == task
    assert strict.decode(strict.encode(task)) == task  # sealed: read as ever
    assert lenient.decode(plain) == task  # read-only tools and replays of old records read it as it is
    step = ValidateStep(envelope=new_envelope("acme", "validate"), question="", principal=task.principal,
                        passages=[Passage(doc_id="d", passage_id="d#0", text="Dana lives in Lyon.")],
                        answer="", usage=Usage(model="m"))
    with pytest.raises(Unsealed, match="field passages.text of ValidateStep is not sealed"):
        strict.decode(default_codec().encode(step))  # nested fields too; empty ones are allowed


def test_the_runtime_dead_letters_audits_and_rejects_an_unsealed_task(redis_url, tmp_path, prefix):
    import asyncio

    from mesh.runtime.processor import Inbound, Processor, Route
    from mesh.wire.topics import Topics
    from schemas.models import AuditRecord, DeadLetter, Decision

    codec = SealingCodec(default_codec(), sealer(redis_url, LocalKeyFile(tmp_path / "kek"), prefix), strict=True)
    handled, sent = [], []

    async def handle(record):
        handled.append(record)
        return []

    async def send(outputs):
        sent.extend(outputs)

    task = TaskSubmitted(envelope=new_envelope("acme", "submit"), question="Where does Dana live?",
                         principal=Principal(tenant_id="acme", user_id="dana"))
    proc = Processor("planner", [Route("tasks.submitted", handle, idempotent=False)], codec=codec,
                     topics=Topics(""), ledger=None, send=send)
    outcome = asyncio.run(proc.process(Inbound("tasks.submitted", 0, 3, b"k", default_codec().encode(task))))
    assert outcome == "dead_lettered" and not handled
    assert [o.topic for o in sent] == ["tasks.submitted.dlq", "audit.events", "tasks.completed"]
    assert all(b"Dana" not in o.value for o in sent)  # the dead letter keeps the task sealed
    letter, audit, done = (codec.decode(o.value) for o in sent)
    assert isinstance(letter, DeadLetter) and "SWITCHBOARD_ENCRYPT_AT_REST=true" in letter.reason
    assert codec.decode(letter.value) == task
    assert isinstance(audit, AuditRecord) and audit.decision is Decision.deny and audit.reason.startswith("unsealed:")
    assert audit.principal == "acme/dana" and audit.envelope.task_id == task.envelope.task_id
    assert done.status is TaskStatus.rejected and done.rejection.code == "unsealed"
    assert done.envelope.task_id == task.envelope.task_id and "SWITCHBOARD_ENCRYPT_AT_REST=true" in done.rejection.message


def test_a_recorded_model_answer_keeps_its_text_and_citation_titles_sealed(redis_url, tmp_path, prefix):
    from mesh.io.keys import Keys
    from mesh.llm.call_memo import CallMemo, memo_blob

    s = sealer(redis_url, LocalKeyFile(tmp_path / "kek"), prefix)
    answer = {"endpoint": "m", "text": "Dana lives in Lyon. [1]", "reason": "cheapest",
              "citations": [{"doc_id": "hr-7", "passage_id": "hr-7#0", "title": "HR file of Dana"},
                            {"doc_id": "x", "passage_id": "x#0", "title": ""}]}
    blob = memo_blob(s, "acme", answer)
    assert "Dana" not in blob and "Lyon" not in blob and "hr-7#0" in blob
    assert CallMemo(None, Keys(prefix), 60, s).opened("acme", blob.encode()) == answer


def test_a_data_key_asked_for_while_redis_is_away_is_an_outage_to_wait_out(tmp_path):
    """The runtime waits out a ``RedisUnavailable`` (the message stays uncommitted); a bare redis-py error
    escaping from sealing would instead drop the message's job."""
    from mesh.errors import RedisUnavailable

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    away = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.5)
    keyring = Keyring(LocalKeyFile(tmp_path / "kek"), RedisDekStore(away, "x:deks"))
    with pytest.raises(RedisUnavailable, match="data key") as err:
        keyring.dek("acme")
    assert err.value.retriable and err.value.outage
