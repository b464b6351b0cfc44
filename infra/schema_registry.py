"""A schema registry on loopback: Apicurio Registry, in memory, as ``infra/install-registry.sh`` built it.

Its Confluent-compatible API is at ``<url>`` = ``http://127.0.0.1:<port>/apis/ccompat/v7``, which is
what a Confluent client (``SchemaRegistryClient``, kcat ``-r``) and ``SWITCHBOARD_SCHEMA_REGISTRY_URL``
are given. Everything it holds is lost when it stops. Nothing here knows of the mesh.
"""

from __future__ import annotations

import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path

from infra.processes import Child, spawn, stop_all

__all__ = ["RegistryError", "Registry", "registry_jar", "start_registry", "CCOMPAT_PATH"]

REGISTRY_DIR = Path(__file__).resolve().parent / "registry"
CCOMPAT_PATH = "/apis/ccompat/v7"
#: one request at a time: on its in-memory H2, two requests writing at once (agents registering their subjects
#: together) leave this version's store waiting on locks for many seconds; one at a time, 6 processes register
#: 26 subjects each (312 writes) in about 1.5 s
SERIAL = ["-Dquarkus.thread-pool.max-threads=1"]
#: a small heap: the registry holds a few dozen schemas
JVM_OPTS = ["-Xms64m", "-Xmx384m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Djava.awt.headless=true"]


class RegistryError(RuntimeError):
    """The registry is not installed, or did not start."""


def registry_jar() -> Path:
    """The registry's runnable jar; raises ``RegistryError`` saying how to build it."""
    jar = REGISTRY_DIR / "target" / "embedded-registry-1-runner.jar"
    if not jar.is_file():
        raise RegistryError("Apicurio Registry is not built: run `make setup` (or bash infra/install-registry.sh; "
                            "it needs Java 17+ and Maven)")
    return jar


class Registry:
    """A running registry: its Confluent-compatible URL and its process."""

    def __init__(self, child: Child, port: int) -> None:
        self.child, self.port = child, port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{CCOMPAT_PATH}"

    def stop(self) -> None:
        stop_all([self.child.pid])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/subjects", timeout=1.0) as reply:
            return reply.status == 200
    except (urllib.error.URLError, OSError):
        return False


def start_registry(port: int, log_dir: Path, timeout_s: float = 60.0) -> Registry:
    """Start the registry on 127.0.0.1:``port``; returns once its Confluent API answers."""
    java = shutil.which("java")
    if not java:
        raise RegistryError("java is not installed: install Java 17 or newer (Debian: apt-get install -y "
                            "openjdk-17-jre-headless)")
    argv = [java, *JVM_OPTS, "-Dquarkus.http.host=127.0.0.1", f"-Dquarkus.http.port={port}",
            "-Dquarkus.http.access-log.enabled=false", *SERIAL, "-jar", str(registry_jar())]
    registry = Registry(spawn("schema-registry", argv, log_dir), port)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if _answers(registry.url):
            return registry
        if not registry.child.running():
            break
        time.sleep(0.1)
    tail = registry.child.log_tail()
    registry.stop()
    raise RegistryError(f"the schema registry did not answer on port {port} within {timeout_s:.0f} s:\n{tail}")
