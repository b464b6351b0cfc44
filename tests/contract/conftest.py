"""A real redis-server for the contract suites that need Redis.

One server per session, on a free port, with persistence off. If redis-server is missing or
does not answer PING the tests FAIL, never skip: a green run must mean Redis was exercised.
"""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator

import pytest
import redis

from infra.ports import free_port


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory) -> Iterator[str]:
    """URL of a private redis-server started for this session (killed afterwards)."""
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.fail("redis-server is not installed: the contract suites need a real Redis "
                    "(apt-get install redis-server)", pytrace=False)
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    log = workdir / "redis.log"
    with open(log, "wb") as sink:  # a file, not a pipe: a pipe nobody reads could fill and stall the server
        proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                 "--dir", str(workdir)], stdout=sink, stderr=subprocess.STDOUT)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 15
        client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
        while True:
            if proc.poll() is not None:
                out = log.read_text(errors="replace")
                pytest.fail(f"redis-server exited with {proc.returncode} before answering PING:\n{out}",
                            pytrace=False)
            try:
                if client.ping():
                    break
            except redis.exceptions.ConnectionError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"redis-server on port {port} did not answer PING within 15 s", pytrace=False)
            time.sleep(0.05)
        client.close()
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture
def key_prefix() -> str:
    """A key prefix of its own for each test, so tests never see each other's keys."""
    return f"ct{uuid.uuid4().hex[:8]}:"
