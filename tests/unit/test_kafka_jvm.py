"""An embedded Kafka node's JVM options: the embedded defaults, or Kafka's own two variables."""

from __future__ import annotations

from infra.kafka_cluster import HEAP_OPTS, PERFORMANCE_OPTS, jvm_opts


def test_the_defaults_hold_a_small_heap_and_a_collector():
    opts = jvm_opts({})
    assert opts == [*HEAP_OPTS.split(), *PERFORMANCE_OPTS.split()]
    assert any(o.startswith("-Xmx") for o in opts) and any(o.startswith("-XX:+Use") for o in opts)


def test_kafka_s_variables_replace_each_part_on_its_own():
    opts = jvm_opts({"KAFKA_HEAP_OPTS": "-Xmx1g -Xms1g", "KAFKA_JVM_PERFORMANCE_OPTS": ""})
    assert opts == ["-Xmx1g", "-Xms1g", *PERFORMANCE_OPTS.split()]  # an empty variable keeps the default
    opts = jvm_opts({"KAFKA_JVM_PERFORMANCE_OPTS": "-XX:+UseSerialGC -Dx='a b'"})
    assert opts == [*HEAP_OPTS.split(), "-XX:+UseSerialGC", "-Dx=a b"]
