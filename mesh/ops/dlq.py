"""Dead letters: what is on the dead-letter topics and why, and putting chosen ones back.

``letters`` reads every letter: where the message was (topic, partition, offset), which agent
refused it, the error kind and the reason. ``replay`` publishes the chosen letters' original bytes
(key, value, headers) to their original topic, once the cause is fixed (a schema deployed, a bug
fixed). Each letter is replayed at most once (remembered in Redis by its place on the dead-letter
topic) unless ``again`` says otherwise; a letter that fails again comes back as a new letter.
"""

from __future__ import annotations

from dataclasses import dataclass

from mesh.io.bus import Publisher, read_all
from mesh.io.keys import Keys
from mesh.io.redis_clients import sync_redis
from mesh.security.sealing import codec_for
from mesh.settings import Settings
from mesh.wire.topics import TOPICS, Topics, dlq_of
from schemas.models import DeadLetter

__all__ = ["Letter", "letters", "replay"]


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
    done_key = Keys(settings.key_prefix).dlq_replayed()
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
