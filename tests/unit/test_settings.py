"""mesh.settings.Settings: SWITCHBOARD_* variables, validation and derived values."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from mesh.settings import Settings

pytestmark = pytest.mark.unit


def test_reads_prefixed_variables(monkeypatch):
    monkeypatch.setenv("SWITCHBOARD_BOOTSTRAP_SERVERS", "kafka-1:9092,kafka-2:9093")
    monkeypatch.setenv("SWITCHBOARD_REDIS_URL", "redis://cache:6390/2")
    monkeypatch.setenv("SWITCHBOARD_TOPIC_PREFIX", "staging.")
    monkeypatch.setenv("SWITCHBOARD_PARTITIONS", "12")
    monkeypatch.setenv("SWITCHBOARD_ASK_TIMEOUT_S", "2.5")
    monkeypatch.setenv("SWITCHBOARD_RUN_DIR", "/tmp/sb-run")
    s = Settings()
    assert s.bootstrap_servers == "kafka-1:9092,kafka-2:9093"
    assert s.redis_url == "redis://cache:6390/2"
    assert s.topic_prefix == "staging."
    assert s.partitions == 12
    assert s.ask_timeout_s == 2.5
    assert s.run_dir == Path("/tmp/sb-run")


def test_unprefixed_variables_are_ignored(monkeypatch):
    monkeypatch.setenv("PARTITIONS", "99")
    monkeypatch.setenv("TOPIC_PREFIX", "wrong.")
    s = Settings()
    assert s.partitions != 99 and s.topic_prefix == ""


@pytest.mark.parametrize("servers", ["kafka", "kafka:9092,kafka-2", "kafka:abc", ":9092"])
def test_bootstrap_server_without_port_is_rejected_naming_the_variable(monkeypatch, servers):
    monkeypatch.setenv("SWITCHBOARD_BOOTSTRAP_SERVERS", servers)
    with pytest.raises(ValidationError) as info:
        Settings()
    assert "SWITCHBOARD_BOOTSTRAP_SERVERS" in str(info.value)


def test_invalid_number_is_rejected(monkeypatch):
    monkeypatch.setenv("SWITCHBOARD_PARTITIONS", "0")
    with pytest.raises(ValidationError, match="partitions"):
        Settings()


def test_broker_port_is_the_first_servers_port():
    assert Settings(bootstrap_servers="kafka-1:29092,kafka-2:9093").broker_port == 29092


@pytest.mark.parametrize("url, port", [("redis://cache:6390/0", 6390), ("redis://cache/0", 6379),
                                       ("redis://:secret@cache:7000/1", 7000)])
def test_redis_port(url, port):
    assert Settings(redis_url=url).redis_target.hosts == (("cache", port),)


def test_idempotent_producers_off_on_tansu_and_on_on_kafka():
    assert Settings(broker="tansu").idempotent_producers is False
    assert Settings(broker="kafka").idempotent_producers is True


def test_an_external_cluster_is_kafka(monkeypatch):
    monkeypatch.setenv("SWITCHBOARD_EMBEDDED", "false")
    monkeypatch.delenv("SWITCHBOARD_BROKER", raising=False)
    assert Settings().broker == "kafka" and Settings().idempotent_producers is True


@pytest.mark.parametrize("installed, broker", [(True, "kafka"), (False, "tansu")])
def test_the_embedded_broker_is_kafka_where_it_is_installed(monkeypatch, installed, broker):
    import infra.kafka_cluster

    monkeypatch.delenv("SWITCHBOARD_BROKER", raising=False)
    monkeypatch.setattr(infra.kafka_cluster, "kafka_available", lambda: installed)
    assert Settings(embedded=True).broker == broker


def test_kafka_gets_long_fetch_waits_unless_a_wait_is_set():
    kafka, tansu = Settings(broker="kafka"), Settings(broker="tansu")
    assert (kafka.fetch_max_wait_ms, kafka.fetch_deep_idle_wait_ms) == (500, 5000)
    assert (tansu.fetch_max_wait_ms, tansu.fetch_deep_idle_wait_ms) == (5, 1000)
    assert Settings(broker="kafka", fetch_max_wait_ms=40).fetch_max_wait_ms == 40


def test_the_broker_s_nodes_listen_on_the_bootstrap_ports_or_consecutive_ones():
    assert Settings(broker="kafka", kafka_nodes=3, bootstrap_servers="h:9092").broker_ports == [9092, 9093, 9094]
    listed = Settings(broker="kafka", kafka_nodes=3, bootstrap_servers="h:1,h:5,h:9")
    assert listed.broker_ports == [1, 5, 9]
    assert Settings(broker="tansu", kafka_nodes=3, bootstrap_servers="h:1,h:5,h:9").broker_ports == [1]


@pytest.mark.parametrize("embedded, override, expected", [("true", "true", True), ("false", "false", False)])
def test_idempotent_producers_can_be_overridden(monkeypatch, embedded, override, expected):
    monkeypatch.setenv("SWITCHBOARD_EMBEDDED", embedded)
    monkeypatch.setenv("SWITCHBOARD_PRODUCER_IDEMPOTENCE", override)
    assert Settings().idempotent_producers is expected


def test_to_env_round_trips_through_the_environment(monkeypatch):
    """What `up` hands its children reads back as the same settings."""
    original = Settings(bootstrap_servers="kafka:9092", embedded=False, topic_prefix="it.", partitions=3,
                        producer_idempotence=False, session_timeout_s=7.5, run_dir=Path("/tmp/run"))
    env = original.to_env()
    assert all(name.startswith("SWITCHBOARD_") for name in env)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert Settings() == original


def test_endpoints_come_from_json_and_keys_from_their_own_variable(monkeypatch):
    monkeypatch.setenv("SWITCHBOARD_ENDPOINTS", '[{"name": "gpt", "base_url": "https://api.example/v1", '
                       '"model": "m", "api_key_env": "EXAMPLE_KEY", "capabilities": ["answer", "json"]}]')
    monkeypatch.setenv("EXAMPLE_KEY", "sk-secret")
    s = Settings()
    assert [e.name for e in s.endpoints] == ["gpt"] and s.endpoints[0].capabilities == ("answer", "json")
    assert s.endpoints[0].api_key.get_secret_value() == "sk-secret"
    env = s.to_env()
    assert "sk-secret" not in env["SWITCHBOARD_ENDPOINTS"] and "EXAMPLE_KEY" in env["SWITCHBOARD_ENDPOINTS"]
    monkeypatch.setenv("SWITCHBOARD_ENDPOINTS", env["SWITCHBOARD_ENDPOINTS"])
    assert Settings().endpoints[0].api_key.get_secret_value() == "sk-secret"  # a child process reads it again


@pytest.mark.parametrize("value, why", [
    ('[{"name": "a", "kind": "openai"}]', "needs base_url and model"),
    ('[{"name": "a", "kind": "extractive"}, {"name": "a", "kind": "extractive"}]', "names repeat"),
    ('[]', "at least one endpoint"),
    ('[{"name": "a", "kind": "extractive", "capabilities": ["telepathy"]}]', "capabilities"),
])
def test_bad_endpoints_are_refused_with_the_reason(monkeypatch, value, why):
    monkeypatch.setenv("SWITCHBOARD_ENDPOINTS", value)
    with pytest.raises(ValueError, match=why):
        Settings()


def test_the_throughput_profile_sets_what_was_not_set(monkeypatch):
    from mesh.settings import THROUGHPUT_PROFILE

    for name in THROUGHPUT_PROFILE:
        monkeypatch.delenv(f"SWITCHBOARD_{name.upper()}", raising=False)
    monkeypatch.setenv("SWITCHBOARD_PROFILE", "throughput")
    monkeypatch.setenv("SWITCHBOARD_FETCH_MAX_WAIT_MS", "20")
    s = Settings()
    assert s.producer_linger_ms == THROUGHPUT_PROFILE["producer_linger_ms"]
    assert s.producer_compression == "gzip"
    assert s.fetch_max_wait_ms == 20  # given explicitly: the profile leaves it alone
    assert s.query_prefetch is False
    monkeypatch.setenv("SWITCHBOARD_PROFILE", "latency")
    latency = Settings()
    assert (latency.producer_linger_ms, latency.producer_compression, latency.query_prefetch) == (0, None, True)


def test_an_unknown_profile_is_refused(monkeypatch):
    monkeypatch.setenv("SWITCHBOARD_PROFILE", "fast")
    with pytest.raises(ValueError, match="profile"):
        Settings()
