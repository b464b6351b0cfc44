"""A client of a Confluent-compatible schema registry (Confluent Schema Registry, Apicurio's ccompat API, ...).

The mesh registers each topic's value schema under the subject ``<topic>-value`` (Confluent's
TopicNameStrategy) with compatibility BACKWARD, and looks schemas up by id to read records other
producers framed the Confluent way. Answers are cached for the life of the process: an id never
changes what it names, and a subject's id for one schema text stays the same.

Plain HTTP(S) through the standard library; every failure is a ``SchemaRegistryError`` (a
``DeterministicError``) whose message says what to do.
"""

from __future__ import annotations

import json
import random
import time
import urllib.error
import urllib.request
from urllib.parse import quote

from mesh.errors import DeterministicError

__all__ = ["SchemaRegistry", "SchemaRegistryError", "COMPATIBILITY", "subject_of"]

#: the compatibility the mesh sets on its subjects: a new schema must read what the previous one wrote
COMPATIBILITY = "BACKWARD"
_CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


def subject_of(topic: str) -> str:
    """The subject of a topic's values under TopicNameStrategy: ``<topic>-value``."""
    return f"{topic}-value"


class SchemaRegistryError(DeterministicError):
    """The registry did not answer, refused a schema, or does not know an id."""

    def __init__(self, message: str, *, code: str = "schema_registry") -> None:
        super().__init__(message, code=code)


class SchemaRegistry:
    """Registers schemas and fetches them by id, at ``url`` (e.g. ``http://host:8081``)."""

    def __init__(self, url: str, timeout_s: float = 5.0, attempts: int = 5) -> None:
        self.url, self.timeout_s, self.attempts = url.rstrip("/"), timeout_s, attempts
        self._ids: dict[tuple[str, str], int] = {}
        self._texts: dict[int, str] = {}

    def register(self, subject: str, schema: str) -> int:
        """The id of ``schema`` (Avro JSON text) under ``subject``, registered with compatibility BACKWARD.

        A schema the subject already holds is only looked up (a read: every agent does this at start).
        Agents starting together may register a new subject at once: a conflict the registry reports for
        one of them (another set the rule, or made the subject, a moment earlier) is asked again."""
        if (subject, schema) not in self._ids:
            path = quote(subject, safe="")
            answer = self._lookup(subject, path, schema)
            if answer is None:
                self._set_compatibility(subject, path)
                answer = self._add_version(subject, path, schema)
            self._ids[subject, schema] = answer["id"]
            self._texts.setdefault(answer["id"], schema)
        return self._ids[subject, schema]

    def _lookup(self, subject: str, path: str, schema: str) -> dict | None:
        try:
            return self._call("POST", f"/subjects/{path}", {"schema": schema})
        except _Refused as refused:
            if refused.status == 404:
                return None
            raise self._error(refused, subject) from None

    def _add_version(self, subject: str, path: str, schema: str) -> dict:
        for attempt in range(2):
            try:
                return self._call("POST", f"/subjects/{path}/versions", {"schema": schema})
            except _Refused as refused:
                if refused.status != 409 or attempt:
                    raise self._error(refused, subject) from None
                time.sleep(0.2)
        raise AssertionError("unreachable")

    def _set_compatibility(self, subject: str, path: str) -> None:
        try:
            self._call("PUT", f"/config/{path}", {"compatibility": COMPATIBILITY})
        except _Refused as refused:
            if refused.status != 409 or self.compatibility(subject) != COMPATIBILITY:
                raise SchemaRegistryError(f"the schema registry at {self.url} did not set {subject} to "
                                          f"{COMPATIBILITY} ({refused.status}: {refused.detail}): set it there, or "
                                          "check SWITCHBOARD_SCHEMA_REGISTRY_URL", code="schema_registry_refused") from None

    def schema(self, schema_id: int) -> str:
        """The schema text the registry holds under ``schema_id``."""
        if schema_id not in self._texts:
            try:
                answer = self._call("GET", f"/schemas/ids/{schema_id}", None)
            except _Refused as refused:
                if refused.status == 404:
                    raise SchemaRegistryError(
                        f"schema id {schema_id} is not in the schema registry at {self.url}: the record was framed "
                        "against another registry; point SWITCHBOARD_SCHEMA_REGISTRY_URL at the registry its "
                        "producer used", code="unknown_schema_id") from None
                raise self._error(refused, f"schema id {schema_id}") from None
            if answer.get("schemaType", "AVRO") != "AVRO":
                raise SchemaRegistryError(f"schema id {schema_id} is a {answer['schemaType']} schema, not Avro: "
                                          "the mesh reads Avro records only", code="not_avro")
            self._texts[schema_id] = answer["schema"]
        return self._texts[schema_id]

    def compatibility(self, subject: str) -> str:
        """The compatibility level set on ``subject``."""
        try:
            answer = self._call("GET", f"/config/{quote(subject, safe='')}", None)
        except _Refused as refused:
            raise self._error(refused, subject) from None
        return answer.get("compatibilityLevel") or answer.get("compatibility", "")

    def _call(self, method: str, path: str, body: dict | None) -> dict:
        """The registry's JSON answer; ``_Refused`` for an HTTP error. Asked up to ``attempts`` times while it
        does not answer or answers a server error."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Content-Type": _CONTENT_TYPE, "Accept": _CONTENT_TYPE})
        for attempt in range(self.attempts):
            last = attempt + 1 == self.attempts
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_s) as reply:
                    return json.loads(reply.read() or b"{}")
            except urllib.error.HTTPError as err:
                if err.code < 500 or last:  # a server error (a busy store) is asked again
                    raise _Refused(err) from err
            except (urllib.error.URLError, OSError, ValueError) as err:
                if last:
                    raise SchemaRegistryError(
                        f"the schema registry at {self.url} does not answer ({err}): start it, or point "
                        "SWITCHBOARD_SCHEMA_REGISTRY_URL at a running one (unset, the mesh writes Avro "
                        "single-object encoding and needs no registry)", code="schema_registry_unreachable") from err
            time.sleep(0.1 * 2 ** attempt * (1 + random.random()))
        raise AssertionError("unreachable")

    def _error(self, refused: _Refused, what: str) -> SchemaRegistryError:
        if refused.status == 409:
            return SchemaRegistryError(
                f"the schema registry refuses the schema for {what}: it is not {COMPATIBILITY} compatible with the "
                f"version registered ({refused.detail}); make the change compatible (new fields need defaults) or "
                "use a new topic prefix", code="incompatible_schema")
        return SchemaRegistryError(f"the schema registry at {self.url} answered {refused.status} for {what} "
                                   f"({refused.detail}): check SWITCHBOARD_SCHEMA_REGISTRY_URL (Apicurio's "
                                   "Confluent API ends in /apis/ccompat/v7)", code="schema_registry_refused")


class _Refused(Exception):
    """An HTTP error answer: its status and the registry's message."""

    def __init__(self, err: urllib.error.HTTPError) -> None:
        try:
            detail = json.loads(err.read() or b"{}").get("message", "")
        except ValueError:
            detail = ""
        super().__init__(detail or err.reason)
        self.status, self.detail = err.code, detail or err.reason
