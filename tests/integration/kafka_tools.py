"""Apache Kafka's own command-line tools, run by class (``infra.kafka_cluster.tool``), their text read back.

The outside observer of the mesh: what kafka-consumer-groups.sh, kafka-topics.sh and kafka-configs.sh
say, not what the mesh's own client believes. Each call starts a JVM (seconds), so each reads the
whole cluster at once (every group, every topic) and the tests pick out what they need.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from infra.kafka_cluster import tool

__all__ = ["Offset", "Topic", "group_members", "group_offsets", "topic_configs", "topics"]

CONSUMER_GROUPS = "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand"  # kafka-consumer-groups.sh
TOPICS = "org.apache.kafka.tools.TopicCommand"  # kafka-topics.sh
CONFIGS = "org.apache.kafka.tools.ConfigCommand"  # kafka-configs.sh (kafka-tools jar; not in kafka_2.13 in 4.x)


@dataclass(frozen=True)
class Offset:
    """One row of ``kafka-consumer-groups --describe``: a partition the group has offsets for or owns."""
    group: str
    topic: str
    partition: int
    committed: int | None  # None: the group never committed on this partition ("-")
    log_end: int
    owner: str | None  # consumer id of the member assigned the partition, None: unassigned

    @property
    def lag(self) -> int:
        """Records past the committed offset; without a commit, the whole partition."""
        return self.log_end - (self.committed or 0)


@dataclass(frozen=True)
class Topic:
    """The summary line of ``kafka-topics --describe`` for one topic."""
    name: str
    partitions: int
    replication_factor: int
    leaders: tuple[int, ...]  # each partition's leader, in partition order (-1: none)


def _run(main: str, bootstrap: str, args: list[str]) -> str:
    done = tool(main, ["--bootstrap-server", bootstrap, *args])
    assert done.returncode == 0, f"{main} {' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}"
    return done.stdout


def _tables(text: str) -> list[dict[str, str]]:
    """The rows of the column tables the consumer-groups tool prints, one per group, each under a
    header line starting GROUP; no cell holds a space. Other lines (log warnings, notes) are skipped."""
    rows, header = [], None
    for line in text.splitlines():
        cells = line.split()
        if not cells:
            header = None
        elif cells[0] == "GROUP":
            header = cells
        elif header and len(cells) == len(header):
            rows.append(dict(zip(header, cells)))
    return rows


def _number(cell: str) -> int | None:
    return None if cell == "-" else int(cell)


def group_offsets(bootstrap: str) -> list[Offset]:
    """``kafka-consumer-groups --describe --all-groups``: every group's partitions, offsets and owners."""
    return [Offset(r["GROUP"], r["TOPIC"], int(r["PARTITION"]), _number(r["CURRENT-OFFSET"]),
                   int(r["LOG-END-OFFSET"]), None if r["CONSUMER-ID"] == "-" else r["CONSUMER-ID"])
            for r in _tables(_run(CONSUMER_GROUPS, bootstrap, ["--describe", "--all-groups"]))]


def group_members(bootstrap: str) -> dict[str, dict[str, int]]:
    """``kafka-consumer-groups --describe --all-groups --members``: group -> {consumer id: partitions assigned}."""
    members: dict[str, dict[str, int]] = {}
    for r in _tables(_run(CONSUMER_GROUPS, bootstrap, ["--describe", "--all-groups", "--members"])):
        members.setdefault(r["GROUP"], {})[r["CONSUMER-ID"]] = int(r["#PARTITIONS"])
    return members


def topics(bootstrap: str) -> dict[str, Topic]:
    """``kafka-topics --describe``: every topic's partition count, replication factor and leaders."""
    summaries, leaders = {}, {}
    for line in _run(TOPICS, bootstrap, ["--describe"]).splitlines():
        fields = dict(f.split(": ", 1) for f in line.strip().split("\t") if ": " in f)
        if "PartitionCount" in fields:
            summaries[fields["Topic"]] = fields
        elif "Partition" in fields and "Leader" in fields:
            leaders.setdefault(fields["Topic"], []).append(int(fields["Leader"]))
    return {name: Topic(name, int(f["PartitionCount"]), int(f["ReplicationFactor"]), tuple(leaders.get(name, ())))
            for name, f in summaries.items()}


_CONFIG_SECTION = re.compile(r"^Dynamic configs for topic (\S+) are:$")
_CONFIG_ENTRY = re.compile(r"^\s+([^=\s]+)=(.*?) sensitive=(?:true|false) synonyms=")


def topic_configs(bootstrap: str) -> dict[str, dict[str, str]]:
    """``kafka-configs --describe --entity-type topics``: every topic's configs set on it (not defaults)."""
    configs: dict[str, dict[str, str]] = {}
    current = None
    for line in _run(CONFIGS, bootstrap, ["--describe", "--entity-type", "topics"]).splitlines():
        if section := _CONFIG_SECTION.match(line):
            current = configs.setdefault(section.group(1), {})
        elif (entry := _CONFIG_ENTRY.match(line)) and current is not None:
            current[entry.group(1)] = entry.group(2)
    return configs
