"""Where a command's generated document goes: standard output, or the file ``--output`` names."""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["write_document"]


def write_document(text: str, output: str | None) -> int:
    """``text`` to standard output, or to ``output`` with a line on stderr saying so; the exit code (0)."""
    if output is None:
        sys.stdout.write(text)
        return 0
    Path(output).write_text(text, encoding="utf-8")
    print(f"wrote {output}", file=sys.stderr)
    return 0
