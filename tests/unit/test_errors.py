"""mesh.errors: the three kinds of failure, and which of them are worth retrying."""

from __future__ import annotations

import pytest

from mesh.errors import (
    DeterministicError,
    SemanticError,
    SwitchboardError,
    TransientError,
)
from schemas.models import ErrorKind

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("cls, kind, retriable", [
    (TransientError, ErrorKind.transient, True),
    (DeterministicError, ErrorKind.deterministic, False),
    (SemanticError, ErrorKind.semantic, False),
])
def test_kind_and_retriable(cls, kind, retriable):
    err = cls("broker unreachable", code="broker_down")
    assert isinstance(err, SwitchboardError)
    assert err.kind is kind
    assert err.retriable is retriable
    assert err.code == "broker_down"
    assert err.message == str(err) == "broker unreachable"


def test_each_kind_is_distinct_and_covers_the_enum():
    kinds = [TransientError.kind, DeterministicError.kind, SemanticError.kind]
    assert sorted(k.value for k in kinds) == sorted(k.value for k in ErrorKind)


def test_default_code():
    assert DeterministicError("boom").code == "error"


def test_chained_cause_is_kept():
    try:
        try:
            raise ConnectionRefusedError("redis")
        except OSError as err:
            raise TransientError("redis is down", code="redis_down") from err
    except TransientError as err:
        assert isinstance(err.__cause__, ConnectionRefusedError)


def test_outages_and_bugs_are_told_by_their_type_not_their_code():
    from mesh.errors import BrokerUnavailable, HandlerCrashed, RedisUnavailable

    assert RedisUnavailable("x").outage and BrokerUnavailable("x").outage
    assert RedisUnavailable("x").retriable and RedisUnavailable("x").code == "redis_unavailable"
    assert not TransientError("x", code="redis_unavailable").outage  # a code alone makes no outage
    assert HandlerCrashed("ZeroDivisionError").bug and not HandlerCrashed("x").retriable
    assert not DeterministicError("x", code="handler_crashed").bug
