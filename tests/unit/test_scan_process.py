"""The scan in a worker process finds what the detector finds in this one, and outlives its worker's death."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.workers import children, stat_fields
from policy.pii import Detector
from policy.scan_process import ScanProcess

pytestmark = pytest.mark.unit

TEXTS = ["Call Jane Doe at jane.doe@example.com or +44 20 7946 0958.",
         "Dr. Maria Gonzalez moved from Berlin to Toronto last May.",
         "Card 4111 1111 1111 1111, IBAN GB82 WEST 1234 5698 7654 32.",
         "0-dimensional biomaterials show inductive properties."]


def _workers() -> set[int]:
    """This process's children that are pool workers (not multiprocessing's resource tracker)."""
    return {pid for pid in children(os.getpid()) if b"spawn_main" in _cmdline(pid)}


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:  # gone already
        return b""


@pytest.fixture(scope="module")
def process():
    scans = ScanProcess(Detector().entities, Detector().threshold)
    scans.start()
    yield scans
    scans.close()


def test_the_worker_finds_what_the_detector_finds_here(process):
    here = Detector().find_many(TEXTS)
    assert any(here[:3]) and not here[3]  # the texts hold values to find, and the last none
    assert asyncio.run(process.find_many(TEXTS)) == here


def test_a_worker_that_dies_is_started_again_and_the_scan_answers(process):
    before = _workers()
    asyncio.run(process.find_many(TEXTS[:1]))
    assert before, "the worker runs in a process of its own"
    for pid in before:
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while _workers() & before and time.monotonic() < deadline:
        time.sleep(0.05)
    found = asyncio.run(process.find_many(TEXTS))
    assert found == Detector().find_many(TEXTS)
    assert _workers() and not _workers() & before


_AGENT = """
import os, time
from bench.workers import children
from policy.pii import Detector
from policy.scan_process import ScanProcess
ScanProcess(Detector().entities, Detector().threshold).start()
print(*children(os.getpid()), flush=True)
time.sleep(600)
"""


def test_the_worker_ends_when_its_agent_is_killed():
    agent = subprocess.Popen([sys.executable, "-c", _AGENT], stdout=subprocess.PIPE, text=True,
                             cwd=Path(__file__).parents[2])
    try:
        workers = {int(p) for p in agent.stdout.readline().split() if b"spawn_main" in _cmdline(int(p))}
        assert workers, "the agent started its worker"
    finally:
        agent.kill()
        agent.wait()
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(p) for p in workers), "the worker outlived its agent"


def _alive(pid: int) -> bool:
    """Running, not a zombie awaiting its reaper."""
    state = stat_fields(pid)[:1]
    return bool(state) and state != ["Z"]
