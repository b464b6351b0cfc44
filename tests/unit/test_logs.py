"""JSON logs: what is written, and that an event below the level costs no formatting."""

from __future__ import annotations

import io
import json
import logging

import pytest
import structlog

from mesh.observe import logs


@pytest.fixture(autouse=True)
def _restored():
    """Each test configures logging for itself; the process's configuration comes back afterwards."""
    root, config = logging.getLogger(), structlog.get_config()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level
    structlog.configure(**config)


def _configured(level: str) -> io.StringIO:
    out = io.StringIO()
    logs.configure_logging(level, json=True, stream=out)
    return out


def test_an_event_at_the_level_is_one_json_line_with_its_context():
    out = _configured("info")
    with structlog.contextvars.bound_contextvars(task_id="t-1"):
        logs.get_logger("test.logs.kept").info("handled", offset=7)
    line = json.loads(out.getvalue().splitlines()[-1])
    assert (line["event"], line["offset"], line["task_id"], line["level"]) == ("handled", 7, "t-1", "info")
    logging.getLogger("aiokafka").warning("foreign %s", "line")  # a library's stdlib logger, same format
    assert json.loads(out.getvalue().splitlines()[-1])["event"] == "foreign line"


def test_an_event_below_the_level_is_dropped_before_any_processor_runs(monkeypatch):
    asked = []
    monkeypatch.setattr(logs, "current_ids", lambda: asked.append(1) or {})
    out = _configured("warning")
    log = logs.get_logger("test.logs.dropped")
    log.info("handled", offset=7)
    assert out.getvalue() == "" and asked == []  # no trace ids looked up for a line nobody writes
    log.warning("slow", offset=8)
    assert json.loads(out.getvalue())["event"] == "slow" and asked == [1]
