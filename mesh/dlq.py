"""Dead letters: what is on the dead-letter topics and why, and putting chosen ones back.

``switchboard dlq list [--topic T] [--reason TEXT] [--json]`` prints every letter: where the
message was (topic, partition, offset), which agent refused it, the error kind and the reason.
``switchboard dlq replay`` publishes the chosen letters' original bytes (key, value, headers)
to their original topic, once the cause is fixed (a schema deployed, a bug fixed). Each letter
is replayed at most once (remembered in Redis by its place on the dead-letter topic) unless
``--again`` says otherwise; a letter that fails again simply comes back as a new letter.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass

from mesh.bus import Publisher, read_all
from mesh.sealing import codec_for
from mesh.redis_clients import sync_redis
from mesh.settings import Settings
from mesh.topics import TOPICS, Topics, dlq_of
from schemas.models import DeadLetter

__all__ = ["Letter", "letters", "replay", "register"]


@dataclass(frozen=True)
class Letter:
    dlq: str
    dlq_partition: int
    dlq_offset: int
    letter: DeadLetter

    @property
    def id(self) -> str:
        """Where the letter itself sits: ``<dlq topic>:<partition>:<offset>``."""
        return f"{self.dlq}:{self.dlq_partition}:{self.dlq_offset}"

    def to_json(self) -> dict:
        d = self.letter
        return {"id": self.id, "topic": d.topic, "partition": d.partition, "offset": d.offset, "agent": d.agent,
                "error_kind": d.error_kind.value, "reason": d.reason, "failed_at": d.failed_at.isoformat(),
                "key": d.key.decode(errors="replace") if d.key else None, "size": len(d.value or b"")}


def _dlq_topics(settings: Settings, topic: str | None) -> list[str]:
    topics = Topics(settings.topic_prefix)
    if topic is None:
        return [dlq_of(topics.name(t)) for t in TOPICS]
    logical = topics.logical(topic)
    if logical not in TOPICS:
        raise ValueError(f"unknown topic {topic!r}; known: {', '.join(TOPICS)}")
    return [dlq_of(topics.name(logical))]


def letters(settings: Settings, topic: str | None = None, reason: str | None = None) -> list[Letter]:
    """Every dead letter (of ``topic``'s dead-letter topic, or of all), optionally with ``reason`` in its reason."""
    codec, out = codec_for(settings, need_key=False), []
    for dlq in _dlq_topics(settings, topic):
        for msg in read_all(settings, dlq, idle_s=0.5):
            letter = codec.decode(msg.value())
            if reason is None or reason.lower() in letter.reason.lower():
                out.append(Letter(dlq, msg.partition(), msg.offset(), letter))
    return out


def replay(settings: Settings, chosen: list[Letter], again: bool = False) -> tuple[list[Letter], list[Letter]]:
    """Publish each letter's original message to its original topic; returns (replayed, skipped as done before)."""
    r = sync_redis(settings, socket_timeout=settings.connect_timeout_s)
    done_key = f"{settings.key_prefix}dlq:replayed"
    pub, sent, skipped = Publisher(settings), [], []
    try:
        for item in chosen:
            if not again and r.sismember(done_key, item.id):
                skipped.append(item)
                continue
            d = item.letter
            pub.send(d.topic, d.key, d.value, dict(d.headers) or None)
            sent.append(item)
        pub.flush()
        if sent:
            r.sadd(done_key, *[item.id for item in sent])
    finally:
        r.close()
    return sent, skipped


def _list(args, settings: Settings) -> int:
    found = letters(settings, args.topic, args.reason)
    if args.json:
        print(json.dumps([x.to_json() for x in found]))
        return 0
    for x in found:
        d = x.letter
        print(f"{x.id}  {d.topic}[{d.partition}]@{d.offset}  {d.agent}  {d.error_kind.value}  {d.reason}")
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
