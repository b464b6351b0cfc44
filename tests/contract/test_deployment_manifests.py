"""infra/k8s and infra/compose agree with the code: agents, commands, topics, consumer groups, ports."""

from __future__ import annotations

import os
from pathlib import Path
from unittest import mock

import pytest
import yaml

from mesh.runtime.registry import agent_names, input_topics
from mesh.runtime.spec import group_id
from mesh.settings import Settings
from mesh.wire.topics import Topics

pytestmark = pytest.mark.contract

INFRA = Path(__file__).resolve().parents[2] / "infra"


def _docs(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


@pytest.fixture(scope="module")
def k8s() -> dict[tuple[str, str], dict]:
    listed = yaml.safe_load((INFRA / "k8s" / "kustomization.yaml").read_text())["resources"]
    found = {}
    for rel in listed:
        for doc in _docs(INFRA / "k8s" / rel):
            found[(doc["kind"], doc["metadata"]["name"])] = doc
    assert sorted(str(p.relative_to(INFRA / "k8s")) for p in (INFRA / "k8s").rglob("*.yaml")
                  if p.name != "kustomization.yaml") == sorted(listed), "a manifest is not in kustomization.yaml"
    return found


@pytest.fixture(scope="module")
def settings(k8s) -> Settings:
    """The settings every pod gets from the ConfigMap, as the code reads them."""
    env = k8s[("ConfigMap", "switchboard-settings")]["data"]
    assert all(k.startswith("SWITCHBOARD_") for k in env)
    ours = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    with mock.patch.dict(os.environ, {**ours, **env}, clear=True):
        return Settings()


@pytest.mark.parametrize("agent", agent_names())
def test_each_agent_has_a_deployment_running_it(k8s, settings, agent):
    deploy = k8s[("Deployment", f"switchboard-{agent}")]
    pod = deploy["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    assert container["args"] == ["agent", agent]
    assert deploy["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    refs = {r.get("configMapRef", {}).get("name") or r.get("secretRef", {}).get("name") for r in container["envFrom"]}
    assert refs == {"switchboard-settings", "switchboard-secrets"}
    port = next(p["containerPort"] for p in container["ports"] if p["name"] == "metrics")
    assert port == settings.metrics_port == int(pod["metadata"]["annotations"]["prometheus.io/port"])
    assert container["readinessProbe"]["httpGet"]["path"] == "/metrics"
    gpu = container["resources"].get("limits", {}).get("nvidia.com/gpu")
    assert (gpu == 1) == (agent == "index"), "only the index agent asks for a GPU"


@pytest.mark.parametrize("agent", agent_names())
def test_each_agent_scales_on_the_lag_of_its_own_group_and_topics(k8s, settings, agent):
    scaled = k8s[("ScaledObject", f"switchboard-{agent}")]
    assert scaled["spec"]["scaleTargetRef"]["name"] == f"switchboard-{agent}"
    triggers = scaled["spec"]["triggers"]
    assert {t["type"] for t in triggers} == {"kafka"}
    assert {t["metadata"]["consumerGroup"] for t in triggers} == {group_id(settings, agent)}
    topics = Topics(settings.topic_prefix)
    assert sorted(t["metadata"]["topic"] for t in triggers) == sorted(topics.name(t) for t in input_topics(agent, settings))
    assert {t["metadata"]["bootstrapServers"] for t in triggers} == {settings.bootstrap_servers}
    assert scaled["spec"]["maxReplicaCount"] <= settings.partitions, "replicas beyond the partitions sit idle"


@pytest.mark.parametrize("agent", agent_names())
def test_each_agent_keeps_a_replica_through_disruptions(k8s, agent):
    pdb = k8s[("PodDisruptionBudget", f"switchboard-{agent}")]
    deploy = k8s[("Deployment", f"switchboard-{agent}")]
    assert pdb["spec"]["selector"]["matchLabels"] == deploy["spec"]["selector"]["matchLabels"]
    assert pdb["spec"]["minAvailable"] >= 1


def test_topics_are_created_before_the_agents_start(k8s):
    (container,) = k8s[("Job", "switchboard-topics")]["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["topics"]


def test_compose_runs_every_agent_against_kafka_and_redis_with_prometheus():
    compose = yaml.safe_load((INFRA / "compose" / "docker-compose.yml").read_text())
    services = compose["services"]
    for agent in agent_names():
        assert services[agent]["command"] == ["agent", agent]
    assert services["topics"]["command"] == ["topics"]
    assert "KAFKA_PROCESS_ROLES" in services["kafka"]["environment"]  # KRaft, no ZooKeeper
    env = dict(line.split("=", 1) for line in (INFRA / "compose" / "switchboard.env").read_text().splitlines()
               if line and not line.startswith("#"))
    assert env["SWITCHBOARD_BOOTSTRAP_SERVERS"] == "kafka:9092" and env["SWITCHBOARD_REDIS_URL"].startswith("redis://redis:")
    scrape = yaml.safe_load((INFRA / "compose" / "prometheus.yml").read_text())["scrape_configs"][0]
    assert set(scrape["dns_sd_configs"][0]["names"]) == set(agent_names())
    assert scrape["dns_sd_configs"][0]["port"] == int(env["SWITCHBOARD_METRICS_PORT"])


def test_compose_and_k8s_name_the_kafka_version_ci_runs():
    import re

    pinned = re.search(r"<kafka.version>([^<]+)</kafka.version>", (INFRA / "kafka" / "pom.xml").read_text()).group(1)
    compose = yaml.safe_load((INFRA / "compose" / "docker-compose.yml").read_text())
    assert compose["services"]["kafka"]["image"] == f"apache/kafka:{pinned}"
    assert f"Kafka {pinned}" in (INFRA / "k8s" / "config.yaml").read_text()


@pytest.mark.parametrize("agent", agent_names())
def test_every_agent_reads_the_one_key_encryption_key(k8s, settings, agent):
    """Replicas with different KEKs could not open each other's data keys: all mount one Secret where the
    settings say, and none may make its own (a cluster's settings are not embedded)."""
    pod = k8s[("Deployment", f"switchboard-{agent}")]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["kek"]["secret"]["secretName"] == "switchboard-kek"
    assert mounts["kek"]["mountPath"] == str(settings.kek_path.parent) and mounts["kek"]["readOnly"]
    assert settings.kek_path.name == "kek.key" and not settings.embedded and settings.encrypt_at_rest
    assert pod["securityContext"]["fsGroup"] == pod["securityContext"]["runAsUser"]  # the key is group-readable


def test_compose_makes_the_key_once_and_every_agent_mounts_it():
    compose = yaml.safe_load((INFRA / "compose" / "docker-compose.yml").read_text())
    services = compose["services"]
    env = dict(line.split("=", 1) for line in (INFRA / "compose" / "switchboard.env").read_text().splitlines()
               if line and not line.startswith("#"))
    folder = str(Path(env["SWITCHBOARD_KEK_FILE"]).parent)
    assert services["keys"]["command"] == ["keys", "create"] and f"keys:{folder}" in services["keys"]["volumes"]
    for name in [*agent_names(), "cli"]:
        assert f"keys:{folder}:ro" in services[name]["volumes"], name
    for name in agent_names():
        assert services[name]["depends_on"]["keys"]["condition"] == "service_completed_successfully"
