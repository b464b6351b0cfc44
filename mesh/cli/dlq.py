"""`switchboard dlq list|replay`: what is on the dead-letter topics and why, and putting letters back.

The work is in ``mesh.ops.dlq``; this module parses the arguments and prints.
"""

from __future__ import annotations

import json
import sys

from mesh.ops.dlq import letters, replay
from mesh.settings import Settings
from mesh.text import for_terminal

__all__ = ["register"]


def _list(args, settings: Settings) -> int:
    found = letters(settings, args.topic, args.reason)
    if args.json:
        print(json.dumps([x.to_json() for x in found]))
        return 0
    for x in found:
        d = x.letter
        # a reason may quote the message's text (a question, a model's output): nothing a terminal acts on
        print(for_terminal(f"{x.id}  {d.topic}[{d.partition}]@{d.offset}  {d.agent}  {d.error_kind.value}  {d.reason}"))
    print(f"{len(found)} dead letters", file=sys.stderr)
    return 0


def _replay(args, settings: Settings) -> int:
    if not (args.all or args.id or args.reason or args.topic):
        print("choose what to replay: --id ID (from `switchboard dlq list`), --topic T, --reason TEXT, or --all",
              file=sys.stderr)
        return 2
    found = letters(settings, args.topic, args.reason)
    if args.id:
        known = {x.id for x in found}
        missing = [i for i in args.id if i not in known]
        if missing:
            print(f"no dead letter {', '.join(missing)}; `switchboard dlq list` shows the ids", file=sys.stderr)
            return 1
        found = [x for x in found if x.id in set(args.id)]
    if args.dry_run:
        for x in found:
            print(f"would replay {x.id} to {x.letter.topic}")
        print(f"{len(found)} dead letter(s) would be replayed", file=sys.stderr)
        return 0
    sent, skipped = replay(settings, found, again=args.again)
    if args.json:
        print(json.dumps({"replayed": [x.id for x in sent], "skipped": [x.id for x in skipped]}))
    print(f"replayed {len(sent)} messages to their topics; {len(skipped)} replayed before (--again to repeat)",
          file=sys.stderr)
    return 0


def register(sub) -> None:
    dlq = sub.add_parser("dlq", help="list dead letters and replay them after a fix")
    cmds = dlq.add_subparsers(dest="dlq_command", required=True, metavar="ACTION")
    for name, fn, helptext in (("list", _list, "what is on the dead-letter topics, and why"),
                               ("replay", _replay, "put chosen dead letters back on their topics")):
        cmd = cmds.add_parser(name, help=helptext)
        cmd.add_argument("--topic", help="only this topic's letters (e.g. tasks.submitted)")
        cmd.add_argument("--reason", help="only letters whose reason contains this text")
        cmd.add_argument("--json", action="store_true", help="print JSON")
        cmd.set_defaults(fn=fn)
        if name == "replay":
            cmd.add_argument("--id", action="append", help="a letter's id from `dlq list` (repeatable)")
            cmd.add_argument("--all", action="store_true", help="every letter (that the other options select)")
            cmd.add_argument("--again", action="store_true", help="also letters replayed before")
            cmd.add_argument("--dry-run", action="store_true", help="say what would be replayed; send nothing")
