"""What the CLI says, and which exit code it gives, for an error a command did not handle itself.

Exit codes follow the usual convention: 1 when something the command needed failed (the broker,
Redis, an error of the mesh), 2 when what the user gave was wrong (an argument, a file), 130 on
Ctrl-C. Every message is one line on stderr starting ``error:``, saying what was wrong and what to do.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import NoReturn

from mesh.errors import SwitchboardError
from mesh.settings import Settings

__all__ = ["explain", "refuse", "read_input"]


def refuse(message: str) -> NoReturn:
    """Stop a command on bad input: ``error: message`` on stderr, exit 2."""
    print(f"error: {message}", file=sys.stderr, flush=True)
    raise SystemExit(2)


def read_input(path, what: str) -> str:
    """The text of a file the user named, or ``refuse`` if it cannot be read as UTF-8 (``what``: the form expected)."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as err:
        refuse(f"cannot read {path}: {err.strerror}")
    except UnicodeDecodeError as err:
        refuse(f"{path} is not UTF-8 text (byte {err.start}): give {what} in UTF-8")

_START = "start the stack with `switchboard up` (or `make demo`), or point the settings at a running one"


def explain(err: BaseException, settings: Settings) -> tuple[str, int] | None:
    """(message, exit code) for ``err``, or None for a bug (which should show its traceback)."""
    from confluent_kafka import KafkaException
    from pydantic import ValidationError
    from redis.exceptions import ConnectionError as RedisConnectionError, TimeoutError as RedisTimeoutError

    from infra.embedded import StackError

    if isinstance(err, KeyboardInterrupt):
        return "", 130
    if isinstance(err, (SwitchboardError, StackError)):
        return f"error: {err}", 1
    if isinstance(err, KafkaException):
        return f"error: the Kafka broker at {settings.bootstrap_servers} did not answer ({err.args[0].str()}): {_START}", 1
    if isinstance(err, (RedisConnectionError, RedisTimeoutError)):
        return f"error: Redis at {settings.redis_url.split('@')[-1]} did not answer ({err}): {_START}", 1
    if isinstance(err, ValidationError):
        wrong = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'input'}: {e['msg']}" for e in err.errors())
        return f"error: invalid input: {wrong}", 2
    if isinstance(err, OSError) and err.filename is not None:
        return f"error: {err.filename}: {err.strerror or err}", 2
    if isinstance(err, UnicodeDecodeError):
        return f"error: the input is not UTF-8 text ({err.reason} at byte {err.start})", 2
    if isinstance(err, json.JSONDecodeError):
        return f"error: the input is not JSON (line {err.lineno}, column {err.colno}: {err.msg})", 2
    return None
