"""mesh.runtime.trace_id_of: the trace id inside a W3C traceparent, or None."""

from __future__ import annotations

import pytest

from mesh.client import new_traceparent
from mesh.runtime import trace_id_of

pytestmark = pytest.mark.unit


def test_trace_id_of_valid_traceparent():
    assert trace_id_of("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01") == \
        "4bf92f3577b34da6a3ce929d0e0e4736"


def test_trace_id_of_a_fresh_client_traceparent():
    tp = new_traceparent()
    assert trace_id_of(tp) == tp.split("-")[1]
    assert len(trace_id_of(tp)) == 32


@pytest.mark.parametrize("value", [
    None,
    "",
    "garbage",
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",  # three parts
    "00-4bf92f3577b34da6-00f067aa0ba902b7-01",  # short trace id
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",  # five parts
])
def test_trace_id_of_malformed_is_none(value):
    assert trace_id_of(value) is None
