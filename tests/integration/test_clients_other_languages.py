"""Clients in other languages submit a task and read its answer, speaking only the topics' contract.

Each example client (examples/*-client, built by `make setup`) gets the broker, the topic prefix, the
schemas folder, a principal token minted here and the tenant's data key (the session mesh encrypts at
rest, so the question must be sealed and the answer opened), asks one question about documents ingested
here, and prints the result as JSON. The suite runs on both brokers, so each client is proven on both.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mesh.security.principal_tokens import issue
from mesh.security.sealing import sealer_for
from schemas.models import Principal
from tests.integration.test_answer_end_to_end import ingest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
JAVA = ROOT / "examples/java-client/target"
TS = ROOT / "examples/ts-client/dist"
#: the secret the token is signed with; the session mesh has no token secret, so the planner takes the
#: record's principal (test_execution_control covers a mesh that checks tokens)
SECRET = "other-languages"


def java_command(question: str) -> list[str]:
    assert (JAVA / "classes").is_dir() and (JAVA / "lib").is_dir(), \
        "examples/java-client is not built: run `make setup` (it needs Java 17 and Maven)"
    return ["java", "-cp", f"{JAVA / 'classes'}{os.pathsep}{JAVA / 'lib'}/*", "switchboard.example.Main", question]


def ts_command(question: str) -> list[str]:
    assert (TS / "main.js").is_file() and (TS.parent / "node_modules").is_dir(), \
        "examples/ts-client is not built: run `make setup` (it needs Node.js 18+ and npm)"
    return ["node", str(TS / "main.js"), question]


CLIENTS = {"java": java_command, "typescript": ts_command}


def client_env(settings, principal: Principal) -> dict[str, str]:
    """What a client is told: where the mesh is, who asks, and the keys it needs."""
    env = {**os.environ, "SB_BOOTSTRAP": settings.bootstrap_servers, "SB_TOPIC_PREFIX": settings.topic_prefix,
           "SB_SCHEMAS": str(ROOT / "schemas"), "SB_TENANT": principal.tenant_id, "SB_USER": principal.user_id,
           "SB_TOKEN": issue(SECRET, principal, now_s=time.time(), ttl_s=300), "SB_TIMEOUT_S": "60"}
    if settings.encrypt_at_rest:  # as an operator hands it over
        exported = subprocess.run([sys.executable, "-m", "mesh.cli.main", "keys", "export", "--tenant",
                                   principal.tenant_id], env={**os.environ, **settings.to_env()},
                                  capture_output=True, text=True, timeout=60, check=True)
        env["SB_TENANT_KEY"] = exported.stdout.strip()
    return env


def test_an_exported_data_key_opens_what_the_mesh_sealed_and_stays_the_same(settings, tenant, tmp_path):
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    env = {**os.environ, **settings.to_env()}

    def export(*more: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "mesh.cli.main", "keys", "export", "--tenant", tenant, *more],
                              env=env, capture_output=True, text=True, timeout=60)

    first, again = json.loads(export("--json").stdout), json.loads(export("--json").stdout)
    (tmp_path / "k").write_text("old")
    (tmp_path / "k").chmod(0o644)  # a file that was there: it ends 0600 all the same
    to_file = export("--output", str(tmp_path / "k"))
    assert first["created"] and not again["created"] and first["data_key"] == again["data_key"]
    assert (tmp_path / "k").read_text().strip() == first["data_key"]
    assert (tmp_path / "k").stat().st_mode & 0o777 == 0o600 and "secret" in to_file.stderr
    sealed = sealer_for(settings).seal(tenant, "question", "Is it kept?")
    blob = base64.b64decode(sealed.removeprefix("sb1:"))
    opened = AESGCM(base64.b64decode(first["data_key"])).decrypt(blob[:12], blob[12:],
                                                                 f"{tenant}/question".encode())
    assert opened == b"Is it kept?"


#: clients whose Kafka library the embedded tansu does not serve: kafka-clients 4.4's produce request is never
#: acknowledged by tansu (it hangs with or without idempotence), and its offset lookup times out
NOT_ON_TANSU = {"java"}


@pytest.mark.parametrize("language", sorted(CLIENTS))
def test_a_client_in_another_language_gets_a_cited_answer(settings, tenant, language):
    if settings.broker == "tansu" and language in NOT_ON_TANSU:
        pytest.xfail(f"tansu does not acknowledge the {language} client's produce requests (kafka-clients 4.4)")
    ingest(settings, tenant)
    principal = Principal(tenant_id=tenant, user_id="u1")
    run = subprocess.run(CLIENTS[language]("How long are audit logs retained?"), env=client_env(settings, principal),
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["status"] == "answered", result
    assert "400 days" in result["answer"] and "[1]" in result["answer"]
    assert result["citations"][0]["doc_id"] == "retention"
    assert result["citations"][0]["title"] == "Retention policy"
