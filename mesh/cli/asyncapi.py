"""`switchboard asyncapi [--output PATH]`: the topics' contract as AsyncAPI 3.0 (``mesh.ops.asyncapi``).

The generator is imported only when the command runs: it builds every agent's routes, which other
commands should not pay for at start-up.
"""

from __future__ import annotations

from mesh.cli.output import write_document
from mesh.settings import Settings

__all__ = ["register"]



def _command(args, settings: Settings) -> int:
    from mesh.ops.asyncapi import render

    return write_document(render(), args.output)


def register(sub) -> None:
    """Adds the command to the CLI's subparsers."""
    cmd = sub.add_parser("asyncapi", help="print the topics' contract (AsyncAPI 3.0 YAML), generated from the code")
    cmd.add_argument("--output", metavar="PATH", help="write it to PATH instead (the checked-in copy: docs/asyncapi.yaml)")
    cmd.set_defaults(fn=_command)
