"""The configuration reference, rendered from ``Settings`` so that it cannot drift from the code.

``render_page()`` is pure: it reads only the field definitions of ``Settings`` (and of the model
endpoint and retry policy inside it), never the environment, so the page is the same on every
machine. ``switchboard config docs`` prints it; ``--output docs/configuration.md`` writes the page
the documentation site serves, which a contract test compares with what this module renders.
"""

from __future__ import annotations

import dataclasses
import json
import re
import types
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, SecretStr, TypeAdapter
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from mesh.cli.output import write_document
from mesh.endpoints import Endpoint
from mesh.retry import RetryPolicy
from mesh.settings import THROUGHPUT_PROFILE, Settings

__all__ = ["PAGE_PATH", "REGENERATE", "env_name", "render_page", "render_table", "register"]

#: where the documentation site keeps the page, relative to the repository root
PAGE_PATH = "docs/configuration.md"
#: the command that writes it again after a change to the settings
REGENERATE = f"switchboard config docs --output {PAGE_PATH}"

_SCALARS = {str: "string", int: "integer", float: "number", bool: "boolean", Path: "path", SecretStr: "secret"}


def env_name(field: str, prefix: str = "SWITCHBOARD_") -> str:
    """The environment variable that sets ``field``."""
    return f"{prefix}{field.upper()}"


def _choices(pattern: str) -> list[str] | None:
    """``["a", "b"]`` for an anchored alternation such as ``^(a|b)$``; None for any other pattern."""
    match = re.fullmatch(r"\^\(([\w|.-]+)\)\$", pattern)
    return match.group(1).split("|") if match else None


def _bounds(metadata: list[Any]) -> str:
    """The constraints a value must meet, in words: ``≥ 1``, ``0 to 1``, ``one of `a`, `b```."""
    found: dict[str, Any] = {}
    for item in metadata:
        for key in ("ge", "gt", "le", "lt", "pattern"):
            if getattr(item, key, None) is not None:
                found[key] = getattr(item, key)
    if "pattern" in found:
        choices = _choices(found["pattern"])
        return "one of " + ", ".join(f"`{c}`" for c in choices) if choices else f"matches `{found['pattern']}`"
    if "ge" in found and "le" in found:
        return f"{found['ge']} to {found['le']}"
    words = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<"}
    return ", ".join(f"{words[k]} {v}" for k, v in found.items())


def type_text(annotation: Any) -> str:
    """How a value of ``annotation`` is written in the environment, in words."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        text = " or ".join(type_text(a) for a in inner)
        return f"{text}, optional" if len(inner) < len(args) else text
    if origin is Literal:
        return "one of " + ", ".join(f"`{a}`" for a in args)
    if origin in (tuple, list) or annotation in (tuple, list):
        items = [a for a in args if a is not Ellipsis]
        if len(items) == 1 and get_origin(items[0]) is Literal:
            return "JSON list of " + ", ".join(f"`{a}`" for a in get_args(items[0]))
        return "JSON list"
    if origin is dict or annotation is dict:
        return "JSON object"
    if isinstance(annotation, type) and (issubclass(annotation, BaseModel) or dataclasses.is_dataclass(annotation)):
        return "JSON object"
    return _SCALARS.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _default_value(field: FieldInfo) -> Any:
    if field.default_factory is not None:
        return field.default_factory()
    return None if field.default is PydanticUndefined else field.default


def default_text(field: FieldInfo) -> str:
    """The default as it would be written in the environment."""
    if field.is_required():
        return "required"
    value = _default_value(field)
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float):
        return f"`{value:g}`"
    if isinstance(value, (str, Path)):
        return f"`{value}`" if str(value) else "empty"
    dumped = TypeAdapter(field.annotation).dump_python(value, mode="json", exclude_defaults=True)
    return f"`{json.dumps(dumped)}`"


def cell(text: str) -> str:
    """``text`` made safe for one cell of a markdown table: one line, no bare ``|``, ``<`` or ``>``
    outside code spans (they would split the cell or be read as HTML)."""
    parts = " ".join(text.split()).split("`")
    for i in range(0, len(parts), 2):  # the even parts are outside code spans
        parts[i] = parts[i].replace("<", "&lt;").replace(">", "&gt;")
    return "`".join(parts).replace("|", "\\|")


def _description(field: FieldInfo) -> str:
    text = (field.description or "").strip()
    first = text.split(" ", 1)[0]
    if first.isalpha():  # a word, not a name such as retention.ms, whose case matters
        text = text[:1].upper() + text[1:]
    return cell(text)


def render_table(fields: dict[str, FieldInfo], name_of=env_name, heading: str = "Environment variable") -> str:
    """A markdown table of ``fields``: name, type (and the values it may take), default, description."""
    lines = [f"| {heading} | Type | Default | Description |", "|---|---|---|---|"]
    for name, field in fields.items():
        kind = type_text(field.annotation)
        bounds = _bounds(field.metadata)
        kind = f"{kind}, {bounds}" if bounds and not kind.startswith("one of") else kind
        lines.append(f"| `{name_of(name)}` | {cell(kind)} | {cell(default_text(field))} | {_description(field)} |")
    return "\n".join(lines) + "\n"


def _retry_fields() -> str:
    return ", ".join(f"`{f.name}` (default `{f.default:g}`)" for f in dataclasses.fields(RetryPolicy))


def render_page(settings: type[BaseModel] = Settings) -> str:
    """The whole configuration page, in markdown."""
    prefix = settings.model_config.get("env_prefix", "")
    endpoint_fields = {n: f for n, f in Endpoint.model_fields.items() if not f.exclude}
    profile = ", ".join(f"`{env_name(k, prefix)}={json.dumps(v) if not isinstance(v, str) else v}`"
                        for k, v in THROUGHPUT_PROFILE.items())
    return "\n".join([
        "# Configuration",
        "",
        "<!-- Generated from mesh/settings.py: do not edit by hand. "
        f"Regenerate with `{REGENERATE}`. -->",
        "",
        f"Every setting is an environment variable with the prefix `{prefix}`, read once at start by the "
        "settings class in `mesh/settings.py` and handed to every process that `switchboard up` starts. "
        "Booleans are `true` or `false`; lists and objects are JSON. A value that breaks a rule below "
        "stops the process at start with a message naming the variable.",
        "",
        f"This page is generated: `{REGENERATE}` writes it again after a change to the settings.",
        "",
        "## Settings",
        "",
        render_table(settings.model_fields, lambda n: env_name(n, prefix)),
        "## Profiles",
        "",
        f"`{env_name('profile', prefix)}=throughput` sets these, for each one not set explicitly: {profile}.",
        "",
        "## Model endpoints",
        "",
        f"`{env_name('endpoints', prefix)}` is a JSON list of objects with these keys:",
        "",
        render_table(endpoint_fields, str, "Key"),
        f"A retry policy (`{env_name('retry', prefix)}` per agent or `default`, and `retry` per endpoint) is an "
        f"object with the keys {_retry_fields()}.",
        "",
    ])


def _docs(args, settings: Settings) -> int:
    return write_document(render_page(), args.output)


def register(sub) -> None:
    """``switchboard config docs [--output PATH]``."""
    config = sub.add_parser("config", help="the settings: `config docs` prints their reference page")
    commands = config.add_subparsers(dest="config_command", required=True, metavar="COMMAND")
    docs = commands.add_parser("docs", help="print the configuration reference (markdown), generated from the code")
    docs.add_argument("--output", metavar="PATH", help=f"write it to PATH instead (the site's page: {PAGE_PATH})")
    docs.set_defaults(fn=_docs)
