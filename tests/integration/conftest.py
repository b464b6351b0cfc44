"""A real mesh for the integration tests: a broker, redis-server and the agents as processes.

The broker is the one ``SWITCHBOARD_BROKER`` names (``kafka``: Apache Kafka in KRaft mode;
``tansu``); `make test` runs the integration suite once on each. One mesh per session (starting
one costs seconds), on free ports, under a unique topic and key prefix. If the services cannot
start the tests fail, never skip: CI must not go green without them.
"""

from __future__ import annotations

import uuid

import pytest

from infra.ports import free_port
from mesh.ops.stack import Mesh
from mesh.settings import Settings

#: fetch waits for tansu, which answers a fetch only when its wait runs out. Several meshes run at once in
#: this suite on two cores: at the 5 ms default every busy consumer fetches 200 times a second, which
#: starves agent start-ups unless idle consumers back off (mesh.runtime.fetch_wait); 20 ms is the wait CI
#: has passed with most. Meshes of other modules sit idle for minutes while one module runs: a shorter
#: deep back-off keeps the first task after such a spell quick. Kafka keeps its own (long) waits.
TANSU_WAITS = {"fetch_max_wait_ms": 20, "fetch_deep_idle_wait_ms": 200}


def make_settings(run_dir, **overrides) -> Settings:
    run = uuid.uuid4().hex[:8]
    values = dict(bootstrap_servers=f"127.0.0.1:{free_port()}", redis_url=f"redis://127.0.0.1:{free_port()}/0",
                  run_dir=run_dir, topic_prefix=f"it{run}.", key_prefix=f"it{run}:", partitions=2,
                  ask_timeout_s=30.0, trace_exporter="file")
    values.update(overrides)
    settings = Settings(**values)
    if settings.broker == "tansu":
        settings = Settings(**{**TANSU_WAITS, **values})
    return settings


def broker_children(settings: Settings) -> set[str]:
    """The names the embedded broker's processes have in a pid file: tansu, or kafka-<node id>."""
    if settings.broker == "tansu":
        return {"tansu"}
    return {f"kafka-{i + 1}" for i in range(len(settings.broker_ports))}


@pytest.fixture(scope="session")
def mesh(tmp_path_factory):
    """The running mesh; yields it, stops everything afterwards."""
    m = Mesh(make_settings(tmp_path_factory.mktemp("mesh")))
    m.start()
    yield m
    m.stop()


@pytest.fixture(scope="session")
def settings(mesh) -> Settings:
    return mesh.settings


@pytest.fixture(scope="module")
def llm():
    """The module's OpenAI-compatible model server (tests.integration.model_server), told to fail on demand."""
    from tests.integration.model_server import ModelServer

    server = ModelServer().start()
    yield server
    server.stop()


@pytest.fixture
def tenant() -> str:
    """A tenant of its own for each test, so tests never see each other's documents."""
    return f"t{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def redis_url(request, tmp_path_factory):
    """A Redis of the module's own, for tests of Redis-side logic without the mesh: one redis-server, or, in
    a module marked ``tests.integration.stores.ON_EVERY_STORE``, a three-primary Redis Cluster too."""
    from infra.embedded import redis_binary, wait_for_port
    from infra.processes import spawn, stop_all
    from infra.redis_cluster import start_cluster

    if getattr(request, "param", "node") == "cluster":
        ports = [free_port() for _ in range(3)]
        children = start_cluster(ports, tmp_path_factory.mktemp("cluster"), bus_ports=[free_port() for _ in ports])
        yield "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in ports)
        stop_all([c.pid for c in children])
        return
    port = free_port()
    child = spawn("redis", [redis_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", ""],
                  tmp_path_factory.mktemp("redis"))
    assert wait_for_port("127.0.0.1", port, 10), child.log_tail()
    yield f"redis://127.0.0.1:{port}/0"
    stop_all([child.pid])

