"""The client side of the mesh: ingest documents, ask questions and wait for their answers.

``Client`` raises the project's errors (``mesh.errors``), never a client library's: a broker or
Redis failure is a ``TransientError`` saying what to start, a question without words or a message
over the size limit an ``InvalidInput``, refused before anything is sent.
"""

from __future__ import annotations

import difflib
import functools
import json
import os
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from confluent_kafka import KafkaException
from pydantic import ValidationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from mesh.errors import (
    DeterministicError,
    InvalidInput,
    RedisUnavailable,
    TransientError,
)
from mesh.io.bus import FLUSH_TIMEOUT_S, Publisher, Tail, kafka_error, message_size, require_broker
from mesh.observe.tracing import (
    SpanKind,
    configure_tracing,
    headers_of,
    traceparent_of,
    tracer,
)
from mesh.security.sealing import codec_for
from mesh.settings import Settings
from mesh.text import normalize_question, question_flaw
from mesh.wire.codec import AvroCodec
from mesh.wire.envelope import new_envelope
from mesh.wire.topics import Topics
from schemas.models import (
    AccessAttributes,
    Classification,
    DocumentIngest,
    Principal,
    TaskCancel,
    TaskCompleted,
    TaskSubmitted,
)

__all__ = ["Client", "BadLine", "parse_documents", "prepared_question", "new_traceparent", "DOCUMENT_KEYS",
           "ACCESS_KEYS"]

#: the keys an ingest line may have (``_id`` as in BEIR corpora); any other is a line error, never ignored
DOCUMENT_KEYS = ("id", "_id", "title", "text", "tenant", "groups", "classification", "access")
#: the keys of its ``access`` object
ACCESS_KEYS = ("tenant", "groups", "classification")
#: refusals of a task's result that are this client's setup, not the record: raised rather than skipped
_UNREADABLE_HERE = frozenset(("no_schema_registry", "schema_registry_unreachable", "unknown_schema_id"))


def new_traceparent() -> str:
    """A fresh W3C traceparent (sampled), so one task is one trace."""
    return f"00-{os.urandom(16).hex()}-{os.urandom(8).hex()}-01"


@dataclass(frozen=True)
class BadLine:
    line: int
    reason: str


def _groups(value) -> list[str]:
    """A group list; a lone string is one group, never a list of letters."""
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(g, str) for g in value):
        raise ValueError("'groups' must be a list of strings")
    return value


def _known_keys(row: dict, known: tuple[str, ...], where: str) -> None:
    """Refuse a key that is not in ``known``: a misspelt one would otherwise be dropped, and its value
    (a tenant, a group) silently replaced by the default."""
    for key in row:
        if key not in known:
            near = difflib.get_close_matches(str(key), known, n=1)
            hint = f"did you mean {near[0]!r}? " if near else ""
            raise ValueError(f"unknown key {where}{key!r}: {hint}the keys are {', '.join(known)}")


def parse_documents(lines: Iterable[str], default_tenant: str) -> tuple[list[dict], list[BadLine]]:
    """Parse JSON lines (``id``, ``title``, ``text``; access as ``tenant``, ``groups``,
    ``classification`` or in an ``access`` object). Returns the documents and every bad line;
    a key the format does not have, at any level, makes its line bad."""
    docs, bad = [], []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise ValueError("expected a JSON object")
            _known_keys(row, DOCUMENT_KEYS, "")
            access = row.get("access") or {}
            if not isinstance(access, dict):
                raise ValueError("'access' must be an object: {\"tenant\": ..., \"groups\": [...], \"classification\": ...}")
            _known_keys(access, ACCESS_KEYS, "in 'access': ")
            raw_id = row.get("id", row.get("_id"))
            if isinstance(raw_id, bool) or not isinstance(raw_id, (str, int)) or str(raw_id) == "":
                raise ValueError("missing 'id' (a string or a number)")
            doc_id = str(raw_id)
            text = row.get("text")
            if not isinstance(text, str) or not text.strip():
                raise ValueError("missing or empty 'text'")
            attrs = AccessAttributes(
                tenant_id=access.get("tenant", row.get("tenant", default_tenant)),
                groups=_groups(access.get("groups", row.get("groups", []))),
                classification=Classification(access.get("classification", row.get("classification", "internal"))),
            )
            docs.append({"doc_id": doc_id, "title": str(row.get("title") or ""), "text": text, "access": attrs})
        except (ValueError, TypeError, ValidationError) as err:
            bad.append(BadLine(n, str(err).splitlines()[0]))
    return docs, bad


def prepared_question(question: str, max_question_chars: int) -> str:
    """The question as a client sends it: ``mesh.text.normalize_question`` (NFC; escape sequences, controls,
    direction and invisible format characters removed; line breaks and tabs as spaces). ``InvalidInput``
    if what is left has no word, or is longer than ``max_question_chars`` (the planner would refuse it)."""
    text = normalize_question(question)
    flaw = question_flaw(text)
    if flaw is not None:
        raise InvalidInput(flaw[1], code=flaw[0])
    if len(text) > max_question_chars:
        raise InvalidInput(f"the question has {len(text):,} characters, more than the limit of "
                           f"{max_question_chars:,}: shorten it (the planner refuses longer ones; "
                           "SWITCHBOARD_MAX_QUESTION_CHARS sets the limit)", code="question_too_long")
    return text


def _own_errors(method):
    """Translate what a client library raises inside ``method`` into the project's errors."""
    @functools.wraps(method)
    def translated(self, *args, **kwargs):
        settings = self.settings if hasattr(self, "settings") else args[0]
        try:
            return method(self, *args, **kwargs)
        except KafkaException as err:
            raise kafka_error(err, settings, f"Client.{method.__name__}") from err
        except (RedisConnectionError, RedisTimeoutError) as err:
            where = settings.redis_target.where  # never the password
            raise RedisUnavailable(f"Client.{method.__name__}: Redis at {where} did not "
                                   f"answer ({err}): start the stack with `switchboard up` (or `make demo`), or point "
                                   "SWITCHBOARD_REDIS_URL at a running Redis") from err
        except RedisError as err:
            raise DeterministicError(f"Client.{method.__name__}: Redis refused a command ({err})",
                                     code="redis_refused") from err
    return translated


class Client:
    """Publishes to the mesh and reads its answers; the broker must be up."""

    @_own_errors
    def __init__(self, settings: Settings, codec: AvroCodec | None = None) -> None:
        self.settings = settings
        self.codec = codec or codec_for(self.settings)
        self.topics = Topics(settings.topic_prefix)
        require_broker(settings, settings.connect_timeout_s)
        self._publisher = Publisher(settings)
        self._redis = None  # a blocking client, made when first needed
        configure_tracing(settings, "client")

    @_own_errors
    def ingest(self, docs: list[dict], progress: Callable[[int], None] | None = None) -> int:
        """Publish documents to ``docs.ingest`` (keyed by document id); returns how many.

        Every document is encoded and weighed first: if one is over the message size limit,
        ``MessageTooLarge`` names it and nothing is published."""
        topic = self.topics.name("docs.ingest")
        batch = uuid.uuid4().hex
        messages = []
        for doc in docs:
            env = new_envelope(doc["access"].tenant_id, "ingest", task_id=batch, step_id=f"doc:{doc['doc_id']}")
            key, value = doc["doc_id"].encode(), self.codec.encode(DocumentIngest(envelope=env, **doc))
            refused = self._publisher.too_large(f"document {doc['doc_id']!r}", message_size(key, value),
                                                "split it into smaller documents (or raise the limit where the broker "
                                                "takes larger messages)")
            if refused is not None:
                raise refused
            messages.append((key, value))
        for i, (key, value) in enumerate(messages):
            self._publisher.send(topic, key, value)
            if progress:
                progress(i + 1)
        self._publisher.flush(max(FLUSH_TIMEOUT_S, len(docs) / 1000))
        return len(docs)

    def _stored_text(self, tenant: str, body: bytes) -> str:
        text, sealer = json.loads(body)["text"], getattr(self.codec, "sealer", None)
        return sealer.open(tenant, "doc.text", text) if sealer else text

    @_own_errors
    def wait_stored(self, docs: list[dict], timeout_s: float = 60.0,
                    progress: Callable[[int], None] | None = None) -> None:
        """Block until the document store holds exactly these documents (the index agent applied them);
        ``progress`` is told how many it holds so far, after each look."""
        from mesh.io.keys import Keys
        from mesh.io.redis_clients import sync_redis

        r, keys = sync_redis(self.settings, socket_timeout=5), Keys(self.settings.key_prefix)
        want: dict[str, dict[str, str]] = {}
        for d in docs:
            want.setdefault(d["access"].tenant_id, {})[d["doc_id"]] = d["text"]
        left = {tenant: list(texts) for tenant, texts in want.items()}
        total, deadline = sum(len(ids) for ids in left.values()), time.monotonic() + timeout_s
        while True:
            for tenant, ids in left.items():
                if ids:
                    bodies = r.hmget(keys.docs(tenant), ids)
                    left[tenant] = [i for i, b in zip(ids, bodies)
                                    if b is None or self._stored_text(tenant, b) != want[tenant][i]]
            missing = sum(len(ids) for ids in left.values())
            if progress:
                progress(total - missing)
            if not missing:
                return
            if time.monotonic() > deadline:
                tenant = next(t for t, ids in left.items() if ids)
                raise TransientError(f"{len(left[tenant])} documents of tenant {tenant} not indexed after "
                                     f"{timeout_s:.0f}s: is the index agent running?", code="ingest_timeout")
            time.sleep(0.05 if missing < 1000 else 0.25)  # a large ingest: fewer looks at thousands of ids

    @_own_errors
    def submit(self, question: str, principal: Principal, *, top_k: int | None = None,
               deadline_s: float | None = None, output_schema: str | None = None,
               token: str | None = None, flush: bool = True) -> TaskSubmitted:
        """Publish a task. Without ``token``, a client that holds the token secret signs one itself.

        The question is sent as ``prepared_question`` leaves it (normalised), or refused with
        ``InvalidInput`` before anything is sent; so is a task over the message size limit.

        ``flush=False`` returns before the broker acknowledged it (many submissions, then ``flush()``).

        The task's trace starts here: a ``submit`` span whose context travels in the message's
        headers (and its envelope), or, with tracing off, a fresh traceparent.
        """
        with tracer("switchboard.client").start_as_current_span("submit", kind=SpanKind.PRODUCER) as span:
            headers = headers_of()
            traceparent = traceparent_of(headers) or new_traceparent()
            task = self._task(self.question_of(question), principal, traceparent, top_k, deadline_s,
                              output_schema, token)
            span.set_attributes({"switchboard.task_id": task.envelope.task_id,
                                 "switchboard.tenant": principal.tenant_id})
        key, value = task.envelope.task_id.encode(), self.codec.encode(task)
        headers = {"traceparent": traceparent.encode()}
        refused = self._publisher.too_large("the task", message_size(key, value, headers),
                                            "shorten the question or the output schema")
        if refused is not None:
            raise refused
        self._publisher.send(self.topics.name("tasks.submitted"), key, value, headers)
        if flush:
            self._publisher.flush()
        return task

    @_own_errors
    def flush(self) -> None:
        """Wait until the broker acknowledged everything submitted."""
        self._publisher.flush()

    def question_of(self, question: str) -> str:
        """The question as it is sent (``prepared_question``), or ``InvalidInput``."""
        return prepared_question(question, self.settings.max_question_chars)

    def _task(self, question: str, principal: Principal, traceparent: str, top_k: int | None,
              deadline_s: float | None, output_schema: str | None, token: str | None) -> TaskSubmitted:
        env = new_envelope(principal.tenant_id, "submitted", traceparent=traceparent)
        deadline = int((time.time() + deadline_s) * 1000) if deadline_s else None
        if token is None and self.settings.token_secrets:
            from mesh.security.principal_tokens import issue

            token = issue(self.settings.token_secrets[0], principal, now_s=time.time(),
                          ttl_s=self.settings.token_ttl_s)
        return TaskSubmitted(envelope=env, question=question, principal=principal,
                             top_k=top_k or self.settings.top_k, deadline_ms=deadline, output_schema=output_schema,
                             principal_token=token)

    @_own_errors
    def ask(self, question: str, principal: Principal, timeout_s: float | None = None,
            top_k: int | None = None, output_schema: str | None = None,
            deadline_s: float | None = None, token: str | None = None) -> TaskCompleted:
        """Submit a question and wait for its one result (the task's deadline defaults to the wait)."""
        timeout_s = timeout_s or self.settings.ask_timeout_s
        question = self.question_of(question)  # refused before anything touches the broker
        tail = Tail(self.settings, self.topics.name("tasks.completed"))  # before submitting: nothing is missed
        try:
            task = self.submit(question, principal, top_k=top_k, deadline_s=deadline_s or timeout_s,
                               output_schema=output_schema, token=token)
            return self.result(task.envelope.task_id, timeout_s, tail)
        finally:
            tail.close()

    @_own_errors
    def result(self, task_id: str, timeout_s: float, tail: Tail | None = None) -> TaskCompleted:
        """Wait for the one result of ``task_id`` (read from the start of the topic unless ``tail`` is given)."""
        own = tail is None
        tail = tail or Tail(self.settings, self.topics.name("tasks.completed"), from_beginning=True)
        try:
            for msg in tail.messages(timeout_s):
                if msg.key() != task_id.encode():
                    continue
                try:
                    result = self.codec.decode(msg.value())
                except DeterministicError as err:
                    if err.code in _UNREADABLE_HERE:
                        raise  # the answer is there, and this client cannot read it: say why, do not time out
                    continue  # not ours to read; the planner's output always decodes
                if isinstance(result, TaskCompleted) and result.envelope.task_id == task_id:
                    return result
        finally:
            if own:
                tail.close()
        raise TransientError(f"no answer within {timeout_s:.0f}s for task {task_id}: are the agents running? "
                             "(`switchboard up`; logs under the run directory)", code="ask_timeout")

    @_own_errors
    def cancel(self, task_id: str, principal: Principal, reason: str = "", timeout_s: float = 10.0) -> str | None:
        """Ask the planner to cancel a task; returns the task's status once settled.

        A task the planner has not seen yet is cancelled when it arrives, so "cancelled" is also the
        answer for an id that was never submitted; None only if the planner did not act in time.
        """
        env = new_envelope(principal.tenant_id, "cancel", task_id=task_id)
        request = TaskCancel(envelope=env, requested_by=f"{principal.tenant_id}/{principal.user_id}", reason=reason)
        self._publisher.send(self.topics.name("tasks.cancel"), task_id.encode(), self.codec.encode(request))
        self._publisher.flush()
        deadline = time.monotonic() + timeout_s
        while True:
            status = self.task_status(task_id, principal.tenant_id)
            if status not in (None, "running", "closing") or time.monotonic() > deadline:
                return status
            time.sleep(0.05)

    @_own_errors
    def task_status(self, task_id: str, tenant: str) -> str | None:
        """The status the planner keeps for ``tenant``'s task (None: it has seen no such task, or it expired)."""
        from mesh.io.keys import Keys
        from mesh.io.redis_clients import sync_redis

        if self._redis is None:
            self._redis = sync_redis(self.settings, socket_timeout=5)
        raw = self._redis.hget(Keys(self.settings.key_prefix).task(tenant, task_id), "status")
        return raw.decode() if raw is not None else None

