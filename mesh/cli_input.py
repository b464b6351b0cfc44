"""Input the user hands a command: files read as UTF-8, and the refusal (exit 2) when it is wrong.

Shared by the CLI and by the commands that packages above ``mesh`` contribute.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

__all__ = ["refuse", "read_input"]


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
