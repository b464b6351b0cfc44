"""bench.brokers' cells: a probe's outcome, a hung probe, an error in one line, medians, a broker's complaint."""

from __future__ import annotations

import threading
import time

import pytest
from confluent_kafka import KafkaError, KafkaException

from bench.brokers import (
    NoAnswer,
    Refused,
    guarded,
    last_broker_error,
    long_flags,
    ms_cell,
    short_error,
)

pytestmark = pytest.mark.unit


def test_a_probe_that_returns_gives_its_cell_and_one_that_raises_is_refused_with_the_error():
    assert guarded(lambda: "ok (10 of 10)", 1) == "ok (10 of 10)"

    def refused():
        raise KafkaException(KafkaError(KafkaError.UNSUPPORTED_VERSION))

    assert guarded(refused, 1) == "refused: UNSUPPORTED_VERSION (Broker: API version not supported)"


def test_a_probe_that_hangs_is_no_answer_after_its_limit_and_the_bench_goes_on():
    release = threading.Event()
    t0 = time.monotonic()
    assert guarded(lambda: release.wait(30) and "late", 15, limit_s=0.2) == "no answer in 0.2 s"
    assert time.monotonic() - t0 < 5
    release.set()


def test_a_client_call_that_times_out_is_no_answer_in_the_call_timeout_not_the_probe_limit():
    def times_out():
        raise TimeoutError()

    def waits_for_nothing():
        raise NoAnswer(15, "the record never arrived")

    assert guarded(times_out, 15, limit_s=80) == "no answer in 15 s"
    assert guarded(waits_for_nothing, 15, limit_s=80) == "no answer in 15 s (the record never arrived)"


def test_an_error_fits_one_line_of_a_cell():
    assert short_error(RuntimeError("broken\n   pipe")) == "RuntimeError: broken pipe"
    assert short_error(ValueError()) == "ValueError"
    assert short_error(Refused("no SASL option")) == "no SASL option"
    assert short_error(OSError("[Error -1] OSError here")) == "[Error -1] OSError here"  # the name is there already
    long = short_error(RuntimeError("x" * 500), limit=40)
    assert len(long) == 40 and long.endswith("…")


def test_a_median_in_ms_keeps_a_decimal_only_below_10_ms():
    assert ms_cell([0.0012, 0.0014, 0.0100]) == "1.4 ms"
    assert ms_cell([0.2, 0.201, 3.0]) == "201 ms"
    assert ms_cell([3.0671]) == "3,067 ms"
    with pytest.raises(ValueError):
        ms_cell([])


def test_the_brokers_complaint_is_a_panic_message_else_its_last_error():
    panic = ("ready in 0ms\n\nthread 'tokio-rt-worker' (28475) panicked at tansu-storage/src/dynostore.rs:641:9:\n"
             "not yet implemented\nstack backtrace:\n")
    assert last_broker_error(panic) == "panic in dynostore.rs: not yet implemented"
    tansu = ("\x1b[2m2026-12-05T21:06:45Z\x1b[0m \x1b[31mERROR\x1b[0m \x1b[2mtansu_service::stream\x1b[0m: "
             "\x1b[3merr\x1b[0m\x1b[2m=\x1b[0mKafkaProtocol(NotAuthenticated)\n"
             "\x1b[3merr\x1b[0m\x1b[2m=\x1b[0mAuth(Sasl(NoSharedMechanism))\n")
    assert last_broker_error(tansu) == "Auth(Sasl(NoSharedMechanism))"
    kafka = "[2026-12-05 21:00:00,000] INFO started (kafka.Kafka)\n[2026-12-05 21:00:01,000] ERROR bad thing (x.Y)\n"
    assert last_broker_error(kafka) == "bad thing (x.Y)"
    assert last_broker_error("ready in 0ms\n") is None


def test_long_flags_are_read_from_a_help_text_aliases_included():
    help_text = """Options:
      --cluster-id <CLUSTER_ID>
          All members [env: CLUSTER_ID=] [default: tansu_cluster] [aliases: --kafka-cluster-id]
      --authentication
          When present, client authentication is required
  -h, --help
          Print help"""
    assert long_flags(help_text) == {"--cluster-id", "--kafka-cluster-id", "--authentication", "--help"}
