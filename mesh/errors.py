"""The three kinds of failure, and what the runtime does with each.

- ``TransientError``: may succeed if tried again (timeouts, a service down, a breaker open);
  retried with backoff under a ``RetryPolicy``.
- ``DeterministicError``: will fail the same way every time (undecodable bytes, schema
  mismatch, a bug); the message goes to its topic's dead-letter topic at once.
- ``SemanticError``: well-formed but refused (policy denial, budget, validation); the client
  gets a typed rejection.

``retriable`` is a property of the type; retry loops branch on it, never on messages. An outage of
the mesh's own infrastructure (``RedisUnavailable``, ``BrokerUnavailable``: ``outage`` is True) is
waited out by the runtime instead of failing the step; ``HandlerCrashed`` marks a bug in a handler.
``InvalidInput`` is refused where it is given, before anything is sent (the CLI exits 2 for it, as for any
usage error).
Foreign exceptions are translated at the boundary: ``raise TransientError(...) from err``.
"""

from __future__ import annotations

from schemas.models import ErrorKind

__all__ = ["SwitchboardError", "TransientError", "DeterministicError", "SemanticError", "RedisUnavailable",
           "ReplicasBehind", "BrokerUnavailable", "KeysInTwoSlots", "HandlerCrashed", "Unauthorized", "InvalidInput",
           "MessageTooLarge"]


class SwitchboardError(Exception):
    """Base of the three kinds; ``code`` is a stable snake_case identifier."""

    kind: ErrorKind
    retriable: bool = False
    #: an outage of the mesh's own Redis or broker: the runtime waits it out, however long it lasts
    outage: bool = False
    #: a handler raised something that is not a SwitchboardError: a bug
    bug: bool = False
    #: what the caller gave is wrong (``InvalidInput``): the CLI exits 2, as for any usage error
    usage: bool = False

    def __init__(self, message: str, *, code: str = "error") -> None:
        super().__init__(message)
        self.code = code

    @property
    def message(self) -> str:
        return str(self)


class TransientError(SwitchboardError):
    """Worth retrying: the same call may succeed later."""

    kind = ErrorKind.transient
    retriable = True


class DeterministicError(SwitchboardError):
    """Never worth retrying: the message goes to the dead-letter topic with this reason."""

    kind = ErrorKind.deterministic


class SemanticError(SwitchboardError):
    """Well-formed but refused: the client receives a typed rejection with this reason."""

    kind = ErrorKind.semantic


class RedisUnavailable(TransientError):
    """The mesh's Redis did not answer."""

    outage = True

    def __init__(self, message: str, *, code: str = "redis_unavailable") -> None:
        super().__init__(message, code=code)


class ReplicasBehind(TransientError):
    """Fewer Redis replicas than SWITCHBOARD_REDIS_WAIT_REPLICAS acknowledged a critical write in time: the
    write stands on the primary, and whatever was to act on it is retried instead."""

    outage = True

    def __init__(self, message: str, *, code: str = "redis_replicas_behind", answers: list = ()) -> None:
        super().__init__(message, code=code)
        #: what the batch's callers got from the primary, so one can undo what its repeat will do again
        self.answers = list(answers)


class BrokerUnavailable(TransientError):
    """The mesh's Kafka broker did not answer or refused a produce."""

    outage = True

    def __init__(self, message: str, *, code: str = "broker_unavailable") -> None:
        super().__init__(message, code=code)


class KeysInTwoSlots(DeterministicError):
    """A script or transaction named keys that Redis Cluster would keep in different slots: a bug in
    ``mesh.io.keys``, found on any Redis (never retried)."""

    bug = True

    def __init__(self, message: str, *, code: str = "keys_in_two_slots") -> None:
        super().__init__(message, code=code)


class HandlerCrashed(DeterministicError):
    """A handler raised an exception of its own: a bug, dead-lettered, never retried."""

    bug = True

    def __init__(self, message: str, *, code: str = "handler_crashed") -> None:
        super().__init__(message, code=code)


class Unauthorized(DeterministicError):
    """A message without the authority to be handled (an unsigned or forged step): dead-lettered and audited."""

    audited = True


class InvalidInput(SemanticError):
    """What the caller gave is refused before anything is sent: a question without words, a message
    over the size limit, settings that cannot work. The CLI exits 2 for it, as for any usage error."""

    usage = True

    def __init__(self, message: str, *, code: str = "invalid_input") -> None:
        super().__init__(message, code=code)


class MessageTooLarge(InvalidInput):
    """A message larger than the broker takes (``SWITCHBOARD_MAX_MESSAGE_BYTES``), refused before sending."""

    def __init__(self, message: str, *, code: str = "message_too_large") -> None:
        super().__init__(message, code=code)
