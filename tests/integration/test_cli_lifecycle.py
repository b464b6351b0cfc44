"""`switchboard up` starts everything and stops all of it on Ctrl-C; `ask` without a stack fails fast."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from infra.processes import alive, read_pidfile
from mesh.runtime.registry import agent_names
from tests.integration.conftest import broker_children, make_settings

pytestmark = pytest.mark.integration


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "mesh.cli.main", *args]


def test_ask_without_a_running_stack_fails_within_ten_seconds(tmp_path):
    settings = make_settings(tmp_path, connect_timeout_s=3.0)
    started = time.monotonic()
    out = subprocess.run(cli("ask", "hello?"), env={**os.environ, **settings.to_env()},
                         capture_output=True, text=True, timeout=30)
    assert time.monotonic() - started < 10
    assert out.returncode == 1
    assert "switchboard up" in out.stderr
    assert settings.bootstrap_servers in out.stderr


@pytest.mark.parametrize("args, code, says", [
    (["trace", "deadbeef"], 1, "did not answer"),                    # no stack: one line, not a traceback
    (["usage", "--json"], 1, "did not answer"),
    (["ask", "hello?", "--top-k", "0"], 2, "not above zero"),        # bad arguments: usage errors
    (["ask", "hello?", "--timeout", "-5"], 2, "not above zero"),
    (["usage", "--since", "0m"], 2, "empty window"),
    (["agent", "bogus"], 2, "unknown agent 'bogus'"),
    (["ingest", "/nonexistent/docs.jsonl"], 2, "cannot read /nonexistent/docs.jsonl"),
    (["ingest", "{binary}"], 2, "is not UTF-8 text"),
    (["audit", "verify", "--file", "{garbage}"], 2, ":1: not a line of `switchboard audit export`"),
    (["audit", "export", "/nonexistent/out.jsonl"], 2, "its folder does not exist"),
    (["replay", "deadbeef", "--policy-dir", "/nonexistent"], 2, "holds no policies.cedar"),
])
def test_a_command_that_cannot_work_says_why_in_one_line_with_the_conventional_exit_code(tmp_path, monkeypatch,
                                                                                         capsys, args, code, says):
    """In process (``mesh.cli.main.main``, as the console script calls it), so the cases cost no interpreter start."""
    from mesh.cli.main import main

    settings = make_settings(tmp_path, connect_timeout_s=2.0)
    for name, value in settings.to_env().items():
        monkeypatch.setenv(name, value)
    (tmp_path / "binary").write_bytes(b"\xff\xfe\x00 not text")
    (tmp_path / "garbage").write_text("this is not JSON\n")
    args = [a.format(binary=tmp_path / "binary", garbage=tmp_path / "garbage") for a in args]
    try:
        returned = main(args)
    except SystemExit as done:  # argparse, and commands that stop at bad input
        returned = done.code
    out = capsys.readouterr()
    assert returned == code, out.err
    assert says in out.err and "Traceback" not in out.err, out.err
    assert out.out == ""


def test_up_then_ctrl_c_leaves_nothing_running(tmp_path):
    settings = make_settings(tmp_path)
    # started the way a shell without job control starts a background command, with SIGINT ignored, which Python
    # inherits (no KeyboardInterrupt); `up` must still stop on Ctrl-C
    proc = subprocess.Popen(cli("up"), env={**os.environ, **settings.to_env()}, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    lines = []
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            lines.append(line)
            if "mesh up" in line or not line:
                break
        assert any("mesh up" in line for line in lines), "".join(lines)
        pids = read_pidfile(settings.run_dir / "stack.json")
        assert broker_children(settings) | {"redis", "agent-planner", "agent-retriever", "agent-executor", "agent-validator",
                "agent-index"} <= set(pids)
        assert all(alive(p) for p in pids.values())
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
        time.sleep(0.2)
        assert [n for n, p in pids.items() if alive(p)] == []
        assert not (settings.run_dir / "stack.json").exists()
    finally:
        if proc.poll() is None:
            proc.kill()
        subprocess.run(cli("down"), env={**os.environ, **settings.to_env()}, capture_output=True, timeout=60)


def test_detached_up_is_stopped_by_down(tmp_path):
    settings = make_settings(tmp_path)
    env = {**os.environ, **settings.to_env()}
    up = subprocess.run(cli("up", "--detach"), env=env, capture_output=True, text=True, timeout=120)
    assert up.returncode == 0, up.stderr
    pids = read_pidfile(settings.run_dir / "stack.json")
    assert all(alive(p) for p in pids.values())
    assert {f"agent-{a}" for a in agent_names()} | broker_children(settings) | {"redis"} == set(pids)
    down = subprocess.run(cli("down"), env=env, capture_output=True, text=True, timeout=60)
    assert down.returncode == 0
    time.sleep(0.2)
    assert [n for n, p in pids.items() if alive(p)] == []
