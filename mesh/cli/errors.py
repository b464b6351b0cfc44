"""What the CLI says, and which exit code it gives, for an error a command did not handle itself.

Exit codes follow the usual convention: 1 when something the command needed failed (the broker,
Redis, an error of the mesh), 2 when what the user gave was wrong (an argument, a file), 130 on
Ctrl-C. Every message is one line on stderr starting ``error:``, saying what was wrong and what to do.
"""

from __future__ import annotations

import json

from mesh.errors import SwitchboardError
from mesh.settings import Settings

__all__ = ["explain", "settings_error"]

_START = "start the stack with `switchboard up` (or `make demo`), or point the settings at a running one"


def explain(err: BaseException, settings: Settings) -> tuple[str, int] | None:
    """(message, exit code) for ``err``, or None for a bug (which should show its traceback)."""
    from confluent_kafka import KafkaException
    from pydantic import ValidationError
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    from infra.embedded import StackError

    if isinstance(err, KeyboardInterrupt):
        return "", 130
    if isinstance(err, SwitchboardError) and err.usage:
        return f"error: {err}", 2
    if isinstance(err, (SwitchboardError, StackError)):
        return f"error: {err}", 1
    if isinstance(err, KafkaException):
        return f"error: the Kafka broker at {settings.bootstrap_servers} did not answer ({err.args[0].str()}): {_START}", 1
    if isinstance(err, (RedisConnectionError, RedisTimeoutError)):
        return f"error: Redis at {settings.redis_target.where} did not answer ({err}): {_START}", 1
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


def settings_error(err: BaseException) -> str:
    """The one line saying which SWITCHBOARD_* settings are wrong and how, for settings that did not load.

    pydantic's report is several lines per problem (its type, the input, a link); each problem here is
    the variable and what to do, ``; ``-separated. A validator's own message (the TLS checks) already
    names its variables and is kept whole."""
    from pydantic import ValidationError

    if not isinstance(err, ValidationError):
        return (f"error: bad settings: {' '.join(str(err).split())}: correct the SWITCHBOARD_* variable it names "
                "(docs/configuration.md lists them)")
    problems = []
    for e in err.errors():
        msg, field = str(e.get("msg", "")).removeprefix("Value error, "), ".".join(str(p) for p in e.get("loc", ())[:1])
        if "SWITCHBOARD_" in msg or not field:  # a validator's own message: it names the variables, says what to do
            problems.append(msg)
            continue
        given = e.get("input")
        shown = f"SWITCHBOARD_{field.upper()}" + (f"={given!s:.60}" if isinstance(given, (str, int, float)) else "")
        problems.append(f"{shown}: {msg[:1].lower()}{msg[1:]}: correct it (docs/configuration.md describes it)")
    return f"error: bad settings: {'; '.join(problems)}"
