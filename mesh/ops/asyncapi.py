"""The topics' contract as an AsyncAPI 3.0 document, generated from the code that defines it.

Everything in it comes from the sources a client would otherwise have to read: the topic table
(``mesh.wire.topics``), the Avro schemas (``schemas/*.avsc``, each inlined so a message's schema stands
alone), their fingerprints (``mesh.wire.codec``), the Confluent framing (``mesh.wire.confluent``), the fields
sealed at rest (``mesh.security.sealing``) and the consumer group of each agent that reads a topic
(``mesh.runtime.registry``). docs/asyncapi.yaml
is this document; a contract test regenerates it and fails when the file is stale.

It is rendered from the defaults (``Settings.model_construct()``), never from the environment, so the
same code always renders the same file.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from mesh.runtime.processor import AGENT_HEADER
from mesh.runtime.registry import agent_names, input_topics
from mesh.runtime.spec import group_id
from mesh.security.sealing import plan_of
from mesh.settings import Settings
from mesh.wire.codec import MAGIC, default_codec
from mesh.wire.confluent import CONFLUENT_MAGIC
from mesh.wire.schema_json import inlined
from mesh.wire.topics import DLQ_SUFFIX, TOPICS
from schemas import SCHEMA_DIR
from schemas.models import DeadLetter, Record

__all__ = ["DOC_PATH", "REGENERATE", "AVRO_FORMAT", "KEYS", "document", "render", "write", "sealed_fields",
           "inlined"]

DOC_PATH = "docs/asyncapi.yaml"
REGENERATE = f"switchboard asyncapi --output {DOC_PATH}"
AVRO_FORMAT = "application/vnd.apache.avro;version=1.9.0"
KAFKA_BINDING = "0.5.0"
#: the contract's own version: raise it when a change breaks existing clients
CONTRACT_VERSION = "1.0.0"

_TASK = "the task id (`envelope.task_id`): every message of a task lands on one partition, in order"
_TENANT = "the tenant id (`envelope.tenant_id`)"
#: what the key of each topic's messages is (UTF-8 bytes)
KEYS: dict[str, str] = {
    "tasks.submitted": _TASK, "steps.retrieve": _TASK, "index.results": _TASK, "steps.execute": _TASK,
    "steps.validate": _TASK, "steps.done": _TASK, "tasks.completed": _TASK, "tasks.cancel": _TASK,
    "index.queries": _TENANT, "usage.tokens": _TENANT, "audit.events": _TENANT, "audit.log": _TENANT,
    "docs.ingest": "the document id (`doc_id`): a document's versions stay in order",
}
_DLQ_KEY = "the key of the message that failed"
#: what a client outside the mesh does on a topic (the agents' own reads come from the registry)
CLIENT_OPS: dict[str, tuple[str, str]] = {
    "tasks.submitted": ("send", "Submit a task: a question and who asks it."),
    "tasks.completed": ("receive", "Read the one result of a task: find it by its key, the task id. Read it "
                                   "with a consumer group of your own, or none (assign and seek)."),
    "tasks.cancel": ("send", "Cancel a running task; it completes as `cancelled`."),
    "docs.ingest": ("send", "Add, replace or delete a document of the corpus."),
}

_FRAMING = f"""\
Every value is one Avro record, by default in **Avro single-object encoding**
(https://avro.apache.org/docs/1.11.1/specification/#single-object-encoding):

| bytes | what |
|---|---|
| 0-1 | the marker `{MAGIC[0]:02X} {MAGIC[1]:02X}` |
| 2-9 | the CRC-64-AVRO fingerprint of the schema's parsing canonical form, little-endian (`x-fingerprint` of each message, as the 8 bytes in order) |
| 10- | the record in Avro binary encoding |

A reader looks the fingerprint up among the schemas it knows, so any message says which record it is.

**The Confluent wire format.** With `SWITCHBOARD_SCHEMA_REGISTRY_URL` set, the agents register each topic's
schema (its message's `payload.schema`) in that Confluent-compatible schema registry under the subject
`<topic>-value` (TopicNameStrategy, the prefix included), with compatibility `BACKWARD`, and frame what they
write the Confluent way:

| bytes | what |
|---|---|
| 0 | the magic byte `{CONFLUENT_MAGIC[0]:02X}` |
| 1-4 | the schema's id in the registry, big-endian |
| 5- | the record in Avro binary encoding |

Confluent's deserializers read it (Java `KafkaAvroDeserializer`, confluent-kafka's `AvroDeserializer`, kcat
`-s value=avro -r <registry url>`). A reader tells the two framings apart by the first byte (`C3` or `00`);
the agents read both, so clients may go on writing single-object records, or frame theirs with any id of
the same registry whose schema is one of these records (a Confluent serializer's).

Keys are UTF-8 text (see each channel's `key`). Header values are UTF-8 text.

**Sealed fields.** A mesh that encrypts at rest (`SWITCHBOARD_ENCRYPT_AT_REST`, on by default) seals the
payload fields each message lists in `x-sealed-fields`, and its agents refuse a record whose sealed field
holds plain text. A sealed value is the string `sb1:` + base64(12-byte nonce, AES-256-GCM ciphertext and
tag) under the tenant's 256-bit data key, with the associated data `<tenant id>/<field path>` (the path
as listed, e.g. `question`, `citations.title`). Empty values are never sealed.

**Names.** Every topic and consumer group is prefixed with `SWITCHBOARD_TOPIC_PREFIX` (the `prefix`
parameter; empty by default). Every topic `T` has a dead-letter topic `T{DLQ_SUFFIX}` of `DeadLetter` records.
"""


def sealed_fields(model: type[Record], path: str = "") -> list[str]:
    """The field paths ``model`` seals at rest, as the associated data names them (``citations.title``)."""
    out = []
    for name, how, nested in plan_of(model):
        out += [f"{path}{name}"] if nested is None else sealed_fields(nested, f"{path}{name}.")
    return out


def _message(model: type[Record], key: str) -> dict:
    """A record: its schema (inlined), fingerprint, sealed fields, headers and key."""
    codec, name = default_codec(), model.__avro__
    avsc = json.loads((SCHEMA_DIR / f"{name}.avsc").read_text())
    message = {
        "name": model.__name__,
        "title": name,
        "summary": avsc.get("doc", ""),
        "contentType": "application/octet-stream",
        "headers": {"$ref": "#/components/schemas/Headers"},
        "payload": {"schemaFormat": AVRO_FORMAT, "schema": inlined(avsc)},
        "x-fingerprint": codec.fingerprint(name).hex(),
        "x-sealed-fields": sealed_fields(model),
        "bindings": {"kafka": {"key": {"type": "string", "description": f"UTF-8: {key}"},
                               "bindingVersion": KAFKA_BINDING}},
    }
    if "envelope" in model.model_fields:
        message["correlationId"] = {"location": "$message.payload#/envelope/task_id",
                                    "description": "The task the message belongs to."}
    return message


def _headers() -> dict:
    return {"type": "object", "properties": {
        "traceparent": {"type": "string", "pattern": "^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$",
                      "description": "W3C trace context. A client sets it on `tasks.submitted` (the task's trace "
                                     "starts there; the envelope's `traceparent` carries the same); every agent "
                                     "sets it on what it produces. Optional: without it the trace starts at the "
                                     "planner."},
        "tracestate": {"type": "string", "description": "W3C trace state, when the producer's tracer has one."},
        AGENT_HEADER: {"type": "string", "description": "The agent that produced the message (`planner`, "
                                                        "`retriever`, ...); absent on a client's messages."},
    }}


def _readers(settings: Settings) -> dict[str, list[str]]:
    """logical topic -> the agents that consume it, from each agent's routes."""
    readers: dict[str, list[str]] = {}
    for agent in agent_names():
        for topic in input_topics(agent, settings):
            readers.setdefault(topic, []).append(agent)
    return {t: sorted(a) for t, a in readers.items()}


def _channel(topic: str, model: type[Record], readers: list[str], key: str) -> dict:
    """A topic: its address, what its messages are and are keyed by, and who reads it."""
    groups = ", ".join(f"`{group_id(Settings.model_construct(), a)}`" for a in readers)
    who = f"Read by the consumer group(s) {groups}." if groups else "No agent reads it."
    return {
        "address": "{prefix}" + topic,
        "title": topic,
        "description": f"Carries `{model.__avro__}` records. Key: {key}. {who}",
        "parameters": {"prefix": {"$ref": "#/components/parameters/prefix"}},
        "messages": {model.__name__: {"$ref": f"#/components/messages/{model.__name__}"}},
        "bindings": {"kafka": {"bindingVersion": KAFKA_BINDING}},
    }


def _operations(topic: str, model: type[Record], readers: list[str], settings: Settings) -> dict:
    ref = {"channel": {"$ref": f"#/channels/{topic}"},
           "messages": [{"$ref": f"#/channels/{topic}/messages/{model.__name__}"}]}
    ops = {}
    for agent in readers:
        group = group_id(settings, agent)
        ops[f"{agent}.reads.{topic}"] = {
            "action": "receive", **ref, "summary": f"The {agent} agent consumes {topic} in group `{group}`.",
            "bindings": {"kafka": {"groupId": {"type": "string", "enum": [group]}, "bindingVersion": KAFKA_BINDING}}}
    if topic in CLIENT_OPS:
        action, summary = CLIENT_OPS[topic]
        ops[f"client.{action}s.{topic}"] = {"action": action, **ref, "summary": summary}
    return ops


def document() -> dict:
    """The AsyncAPI 3.0 document of the mesh's topics, as a dict."""
    settings = Settings.model_construct()
    readers, channels, operations = _readers(settings), {}, {}
    for topic, model in TOPICS.items():
        channels[topic] = _channel(topic, model, readers.get(topic, []), KEYS[topic])
        operations.update(_operations(topic, model, readers.get(topic, []), settings))
    for topic in TOPICS:
        dlq = topic + DLQ_SUFFIX
        channels[dlq] = _channel(dlq, DeadLetter, [], _DLQ_KEY)
    keys = {**{m: KEYS[t] for t, m in TOPICS.items()}, DeadLetter: _DLQ_KEY}  # one key per record type
    models = sorted(keys, key=lambda m: m.__name__)
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "Switchboard mesh topics", "version": CONTRACT_VERSION,
                 "description": _FRAMING,
                 "externalDocs": {"description": "Submit a task from any language",
                                  "url": "submit-from-any-language/"}},
        "defaultContentType": "application/octet-stream",
        "servers": {"mesh": {"host": settings.bootstrap_servers, "protocol": "kafka",
                             "description": "The bootstrap servers (`SWITCHBOARD_BOOTSTRAP_SERVERS`); the embedded "
                                            "broker's default shown."}},
        "channels": channels,
        "operations": operations,
        "components": {
            "parameters": {"prefix": {"default": "", "description": "`SWITCHBOARD_TOPIC_PREFIX`, e.g. `staging.`"}},
            "schemas": {"Headers": _headers()},
            "messages": {m.__name__: _message(m, keys[m]) for m in models},
        },
    }


class _Dumper(yaml.SafeDumper):
    """Writes text of several lines as a literal block, so the document reads like the markdown it holds."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _text)


def render() -> str:
    """The document as YAML, as docs/asyncapi.yaml holds it."""
    head = f"# Generated from schemas/ and the topic table by `{REGENERATE}`: do not edit.\n"
    return head + yaml.dump(document(), Dumper=_Dumper, sort_keys=False, width=110, allow_unicode=True)


def write(path: Path) -> None:
    path.write_text(render(), encoding="utf-8")

