"""Typed settings, read from the environment in one place (prefix ``SWITCHBOARD_``).

Load once in an entry point (``Settings()``) and pass the object down; nothing else reads the environment.
``SWITCHBOARD_BOOTSTRAP_SERVERS=kafka:9092`` and ``SWITCHBOARD_REDIS_URL=redis://redis:6379/0`` point the mesh
at a real cluster; ``SWITCHBOARD_EMBEDDED=false`` then stops ``switchboard up`` from starting its own broker and Redis.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from mesh.endpoints import BUILTIN, Endpoint
from mesh.redis_url import RedisTarget, parse_redis_url
from mesh.retry import RetryPolicy

__all__ = ["Settings", "THROUGHPUT_PROFILE"]

#: what SWITCHBOARD_PROFILE=throughput changes: fewer, larger requests at the cost of a few ms per hop, and
#: no prefetch of questions (it takes a dense query's encoding off its path, for one more message per step)
THROUGHPUT_PROFILE = {"producer_linger_ms": 5, "fetch_max_wait_ms": 50, "producer_compression": "gzip",
                      "query_prefetch": False}

#: fetch waits on Apache Kafka, which answers a waiting fetch as soon as data arrives: long waits cost no latency
#: there (500 ms: a partition whose records are still being handed over waits for the fetch under way; 5 s idle)
KAFKA_FETCH_WAITS = {"fetch_max_wait_ms": 500, "fetch_idle_wait_ms": 500, "fetch_deep_idle_wait_ms": 5000}


class Settings(BaseSettings):
    """Everything an agent, the CLI or the embedded stack can be told."""

    # hide_input_in_errors: pydantic's report of a failed check repeats every input, passwords and keys included
    model_config = SettingsConfigDict(env_prefix="SWITCHBOARD_", extra="ignore", hide_input_in_errors=True)

    # where the bus and the state live
    bootstrap_servers: str = Field("127.0.0.1:19092", description="Kafka bootstrap servers, comma-separated host:port.")
    redis_url: str = Field("redis://127.0.0.1:16379/0", description="state, ledger and caches: one node (redis://"
                           "host:port/db, rediss:// for TLS), Sentinel's primary (redis+sentinel://host:port,host:"
                           "port/service/db) or a cluster (redis+cluster://host:port,host:port), failovers followed")
    redis_sentinel_password: SecretStr | None = Field(None, description="the sentinels' own password, if any")
    redis_wait_replicas: int = Field(0, ge=0, description="replicas that must hold a critical write (ledger, budget "
                                     "reservations and settlements, checkpoints, masks, audit, data keys) before the "
                                     "mesh acts on it (Redis WAIT); 0 on a single node")
    redis_wait_timeout_ms: int = Field(1000, ge=1, description="how long a critical write waits for them; short of "
                                       "them, the message is retried")
    embedded: bool = Field(True, description="`switchboard up` starts the broker and redis-server itself.")
    broker: str = Field("auto", pattern="^(auto|kafka|tansu)$", description="what the bootstrap servers are: "
                        "Apache Kafka (`up` starts it in KRaft mode from infra/kafka/libs) or the embedded tansu; "
                        "auto: an external cluster is Kafka, an embedded one Kafka where Java and its jars are "
                        "installed (`make setup`), else tansu")
    kafka_nodes: int = Field(1, ge=1, le=5, description="Kafka nodes `up` starts (each controller and broker), on "
                             "the ports of the bootstrap servers, else on consecutive ports from the first; with 3 "
                             "or more, internal topics are replicated 3 times with min.insync.replicas=2")
    run_dir: Path = Field(Path(".run"), description="Where `up` keeps pid files and logs of what it started.")
    redis_appendonly: bool = Field(False, description="the embedded redis-server keeps an append-only file in "
                                   "<run_dir>/redis, so its state survives a restart")
    schema_registry_url: str = Field("", pattern=r"^(https?://\S+)?$", description="a Confluent-compatible schema "
                                     "registry (Apicurio: http://host:port/apis/ccompat/v7): agents register each topic's "
                                     "schema as <topic>-value (BACKWARD) and write the Confluent wire format; empty: off")
    # naming
    topic_prefix: str = Field("", description="Prepended to every topic and consumer group, e.g. 'staging.'.")
    key_prefix: str = Field("sb:", description="Prepended to every Redis key.")
    partitions: int = Field(4, ge=1, description="Partitions of each topic the mesh creates.")
    replication_factor: int = Field(1, ge=1)
    retention_hours: float = Field(168.0, gt=0, description="retention.ms of the topics the mesh creates: how far "
                                   "back `trace`, `usage` and `replay` can look (at least your debugging window)")
    # consumer and producer tuning (tansu answers a fetch only when its wait runs out: short waits there;
    # Kafka answers as soon as data arrives, so on Kafka the waits are long: KAFKA_FETCH_WAITS)
    profile: str = Field("latency", pattern="^(latency|throughput)$",
                         description="tuning defaults for what is not set: latency (no linger, 5 ms fetch waits, "
                         "no compression) or throughput (THROUGHPUT_PROFILE: linger, longer waits, gzip, no query prefetch)")
    fetch_max_wait_ms: int = Field(5, ge=0, description="Fetch wait; tansu answers only when it runs out. On "
                                   "Kafka, which answers as soon as data arrives, the fetch waits default to 500 ms, 5000 once deeply idle")
    fetch_idle_wait_ms: int = Field(25, ge=0, description="the wait a consumer backs off to "
                                    "after fetch_idle_after_s without records (none if not above the busy wait)")
    fetch_idle_after_s: float = Field(2.0, ge=0, description="idle time after which fetch waits grow")
    fetch_deep_idle_wait_ms: int = Field(1000, ge=0, description="the fetch wait a consumer goes on backing off to "
                                         "once idle for fetch_deep_idle_after_s: an idle mesh polls the broker once a "
                                         "second, and the first task after such a spell pays up to this per hop")
    fetch_deep_idle_after_s: float = Field(30.0, ge=0, description="idle time before waits grow to the deep-idle one")
    session_timeout_s: float = Field(6.0, gt=0, description="Consumer group session timeout; first join takes about half.")
    heartbeat_interval_s: float = Field(2.0, gt=0, description="Consumer group heartbeats (a third of the session timeout)")
    commit_interval_s: float = Field(2.0, gt=0, description="how often agents commit finished offsets: "
                                     "a crash hands this much input over again, which the ledger answers")
    producer_linger_ms: int = Field(0, ge=0)
    producer_compression: str | None = Field(None, pattern="^(gzip)$", description="compression of agents' "
                                             "produced batches (gzip needs no extra library)")
    producer_idempotence: bool | None = Field(None, description="Idempotent agent producers; default on for Kafka, "
                                              "off on tansu, which refuses aiokafka's InitProducerId request.")
    # behaviour
    ask_timeout_s: float = Field(30.0, gt=0, description="How long `switchboard ask` waits for an answer.")
    connect_timeout_s: float = Field(5.0, gt=0, description="How long a client waits for the broker or Redis.")
    idempotency_ttl_s: int = Field(7 * 24 * 3600, gt=0, description="How long a step's recorded result is kept.")
    max_question_chars: int = Field(4000, gt=0)
    max_message_bytes: int = Field(1_000_000, ge=1000, le=1_000_000_000, description="largest message a client "
                                   "publishes (key, value, headers and the record's overhead); a larger one is refused "
                                   "before anything is sent. No more than the broker's message.max.bytes (Kafka's "
                                   "default is 1048588)")
    top_k: int = Field(5, ge=1, le=100)
    # retrieval
    encoder_backend: Literal["auto", "torch", "onnx", "onnx-int8"] = Field(
        "auto", description="what runs the embedding model: torch (in encoder_precision), ONNX Runtime in fp32 (onnx; "
                            "torch fp32's vectors) or int8 (onnx-int8; a scale per token); auto: torch where it sees a "
                            "GPU or the CPU has AMX bf16, else onnx-int8. ONNX graphs are exported into encoder_cache_dir (switchboard index "
                            "encoder, or the first start). Vectors are keyed by model id: a new one re-encodes the corpus")
    encoder_cache_dir: Path | None = Field(None, description="where ONNX graphs exported from the weights are kept; "
                                           "default ~/.cache/switchboard/onnx")
    encoder_threads: int = Field(2, ge=1, description="threads of the embedding model for batches of passages")
    blas_threads: int = Field(1, ge=1, description="threads numpy's BLAS may use in an agent process (exact "
                              "search, grounding); its idle threads spin, so more cost a core's share between calls")
    encoder_max_length: int = Field(256, ge=16, le=512, description="word pieces per passage the encoder reads")
    encoder_batch_size: int | None = Field(None, ge=1, description="passages per forward pass; default 16 on a CPU, 32 on a GPU")
    encoder_precision: str = Field("auto", pattern="^(auto|fp32|bf16)$", description="weights of the embedding "
                                   "model on torch; auto: bf16 where the CPU has native bfloat16 (AMX, AVX-512 BF16), else fp32")
    index_device: str = Field("auto", pattern="^(auto|cpu|gpu)$", description="vector backend: cpu (FAISS), gpu (faiss-gpu, else PyTorch on CUDA), auto (a GPU when present)")
    exact_threshold: int = Field(50_000, ge=1, description="vectors per shard above which search is approximate (IVF)")
    nprobe: int = Field(16, ge=1, description="IVF lists probed per query")
    fusion: str = Field("convex", pattern="^(rrf|convex)$",
                        description="how BM25 and dense rankings are fused (convex measured best on SciFact train)")
    rrf_k: float = Field(60.0, gt=0)
    fusion_alpha: float = Field(0.5, ge=0, le=1, description="weight of dense in the convex combination")
    context_tokens: int = Field(1500, ge=50, description="token budget of the packed context")
    index_timeout_ms: int = Field(2000, ge=1, description="after this the retriever answers from BM25 alone")
    snapshot_dir: Path | None = Field(None, description="shard snapshots of the index agent; default <run_dir>/snapshots")
    embedding_cache_size: int = Field(50_000, ge=0, description="vectors kept in each process's LRU")
    query_prefetch: bool = Field(True, description="the index agent also reads steps.retrieve and starts encoding each "
                                 "step's question as it is published, while the retriever filters and runs BM25, so "
                                 "the dense query finds its vector ready or under way")
    # execution control
    endpoints: tuple[Endpoint, ...] = Field((BUILTIN,), description="model endpoints, a JSON list (mesh/endpoints.py)")
    task_deadline_s: float = Field(120.0, gt=0, description="deadline of a task that sets none")
    max_parts: int = Field(4, ge=1, le=16, description="most chains a task is split into")
    answer_max_tokens: int = Field(400, ge=16, description="output tokens a first attempt may use")
    validation_attempts: int = Field(3, ge=1, description="executions of a step before its answer is degraded")
    grounding_similarity: float = Field(0.6, ge=0, le=1, description="cosine of sentence and cited passage that "
                                        "counts as support")
    grounding_overlap: float = Field(0.7, ge=0, le=1, description="share of a sentence's terms in the cited "
                                     "passage that counts as support")
    route_usd_per_s: float = Field(0.001, ge=0, description="what a second of expected latency is worth when routing")
    breaker_failures: int = Field(3, ge=1, description="consecutive failures that open an endpoint's breaker")
    breaker_reset_s: float = Field(30.0, gt=0, description="how long an open breaker keeps calls away")
    health_min_pass_rate: float = Field(0.5, ge=0, le=1, description="validation pass rate under which an endpoint "
                                        "is unhealthy")
    health_min_samples: int = Field(10, ge=1, description="validated answers before an endpoint can be unhealthy")
    health_reset_s: float = Field(60.0, gt=0, description="an unhealthy endpoint is tried again after this long "
                                  "without validations")
    retry: dict[str, RetryPolicy] = Field(default_factory=dict, description="retry policy per agent (or 'default'), "
                                          'a JSON object: {"executor": {"attempts": 6, "initial_s": 0.1, '
                                          '"multiplier": 2, "cap_s": 5}}')
    windows: dict[str, Annotated[int, Field(ge=1)]] = Field(default_factory=dict, description="messages of each input topic one replica of "
                                    "an agent handles at once, per agent (or 'default'), a JSON object: "
                                    '{"executor": 128}; each agent has its own default (executor 64, others 16)')
    fallback_extractive: bool = Field(True, description="when every capable endpoint is down, answer prose steps "
                                      "with the built-in extractive model, marked degraded")
    policy_dir: Path | None = Field(None, description="policies.cedar and schema.cedarschema; default: the shipped ones")
    token_secret: SecretStr | None = Field(None, description="HMAC key(s), comma-separated, for principal tokens "
                                           "and step grants; when set, every task needs a valid token and every "
                                           "step a grant from the planner (the first key signs)")
    token_ttl_s: float = Field(900.0, gt=0, description="lifetime of tokens the client signs itself")
    # data protection
    encrypt_at_rest: bool = Field(True, description="seal questions, contexts and answers on topics and in Redis "
                                  "(AES-256-GCM, per-tenant data keys wrapped by the key-encryption key)")
    kek_file: Path | None = Field(None, description="the key-encryption key (32 bytes); default <run_dir>/kek.key, "
                                  "created when missing; every replica must read the same file")
    audit_key_files: str | None = Field(None, description="key files of the audit chain's HMAC links, comma-separated: "
                                        "the first signs, the others (retired) still verify older records; default "
                                        "the key-encryption key file (the chain key is derived from it)")
    sanitize: bool = Field(True, description="mask sensitive values (policy decides which) before any prompt")
    scan_process: bool = Field(True, description="the retriever scans for sensitive values in a worker process, "
                               "beside its hops rather than sharing Python's lock with them (false: on a thread)")
    # default budgets of a tenant with none of its own (`switchboard budget set`); 0 means no limit
    budget_period: str = Field("day", pattern="^(day|month)$")
    budget_soft_tokens: int = Field(0, ge=0)
    budget_hard_tokens: int = Field(0, ge=0)
    budget_soft_usd: float = Field(0.0, ge=0)
    budget_hard_usd: float = Field(0.0, ge=0)
    budget_rpm: int = Field(0, ge=0, description="model calls per minute per tenant")
    budget_tpm: int = Field(0, ge=0, description="tokens per minute per tenant")
    # replay (`switchboard replay` sets these for the agents it starts)
    model_outputs: str = Field("live", pattern="^(live|recorded)$",
                               description="recorded: the executor answers only from recorded model outputs and "
                               "never calls a model (a step with no recording is refused)")
    cache_prefix: str | None = Field(None, description="Redis prefix of the embedding cache (content-addressed, so "
                                     "namespaces can share it); default: key_prefix")
    # observability
    trace_exporter: str = Field("none", pattern="^(none|console|otlp|file)$",
                                description="where spans go: OTLP over HTTP, stdout, JSON lines in trace_dir, or nowhere")
    trace_sample: float = Field(1.0, ge=0, le=1, description="share of tasks traced (decided once, at submission)")
    otlp_endpoint: str = Field("http://127.0.0.1:4318/v1/traces", description="OTLP/HTTP traces endpoint")
    trace_dir: Path | None = Field(None, description="where the file exporter writes; default <run_dir>/traces")
    metrics_port: int = Field(0, ge=0, le=65535, description="each worker serves Prometheus /metrics on this port; "
                              "0 picks a free one (announced in its heartbeat, see `switchboard agents`)")
    metrics_enabled: bool = Field(True, description="serve /metrics from every worker")
    log_level: str = Field("info")
    log_json: bool | None = Field(None, description="JSON logs; default: JSON unless stderr is a terminal.")
    # TLS and SASL (mesh/io/tls.py and mesh/io/kafka_security.py turn these into each client library's options);
    # Redis TLS is a rediss:// URL
    kafka_security_protocol: str = Field("PLAINTEXT", pattern="^(PLAINTEXT|SSL|SASL_PLAINTEXT|SASL_SSL)$",
                                         description="PLAINTEXT; SSL for a broker's TLS listener; SASL_SSL for a "
                                         "username and password over TLS (MSK, Confluent Cloud); SASL_PLAINTEXT for "
                                         "them without TLS (with PLAIN the password crosses the network readable)")
    kafka_sasl_mechanism: str = Field("SCRAM-SHA-512", pattern="^(PLAIN|SCRAM-SHA-256|SCRAM-SHA-512)$",
                                      description="how the broker checks the SASL username and password: "
                                      "SCRAM-SHA-512 (MSK), SCRAM-SHA-256, or PLAIN (Confluent Cloud)")
    kafka_sasl_username: str | None = Field(None, description="SASL username (Confluent Cloud: the API key); "
                                            "needs a SASL_* security protocol")
    kafka_sasl_password: SecretStr | None = Field(None, description="SASL password (Confluent Cloud: the API "
                                                  "secret); never printed, give it from a secret")
    kafka_ssl_cafile: Path | None = Field(None, description="PEM CA bundle that signed the brokers' certificates; "
                                          "default: the system's trust store")
    kafka_ssl_certfile: Path | None = Field(None, description="PEM client certificate (mutual TLS); needs the key")
    kafka_ssl_keyfile: Path | None = Field(None, description="PEM private key of the client certificate (unencrypted)")
    kafka_ssl_check_hostname: bool = Field(True, description="the broker's certificate must name the host dialled")
    redis_ssl_ca_certs: Path | None = Field(None, description="PEM CA bundle that signed Redis's certificate; "
                                            "default: the system's trust store")
    redis_ssl_certfile: Path | None = Field(None, description="PEM client certificate for Redis (tls-auth-clients)")
    redis_ssl_keyfile: Path | None = Field(None, description="PEM private key of the Redis client certificate")

    @field_validator("kafka_security_protocol", "kafka_sasl_mechanism", mode="before")
    @classmethod
    def _protocol_upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("redis_url")
    @classmethod
    def _redis_url_understood(cls, value: str) -> str:
        return parse_redis_url(value) and value

    @field_validator("kafka_sasl_username", "kafka_sasl_password", "redis_sentinel_password", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        """An empty variable is no credential: a Secret key left empty must not count as a username."""
        return None if value == "" else value

    @model_validator(mode="after")
    def _sasl_credentials_match_protocol(self) -> Settings:
        """Fail at start when SASL lacks a credential, or when credentials are given that would go unused."""
        names = ("kafka_sasl_username", "kafka_sasl_password")
        given = [n for n in names if getattr(self, n) is not None]
        if self.kafka_sasl and len(given) < len(names):
            missing = " and ".join(f"SWITCHBOARD_{n.upper()}" for n in names if n not in given)
            raise ValueError(f"SWITCHBOARD_KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol} needs {missing}: "
                             "set both SWITCHBOARD_KAFKA_SASL_USERNAME and SWITCHBOARD_KAFKA_SASL_PASSWORD "
                             "(the password from a secret), or use PLAINTEXT or SSL")
        if given and not self.kafka_sasl:
            raise ValueError(f"SWITCHBOARD_{given[0].upper()} is set but SWITCHBOARD_KAFKA_SECURITY_PROTOCOL="
                             f"{self.kafka_security_protocol} does not authenticate with SASL: set "
                             "SWITCHBOARD_KAFKA_SECURITY_PROTOCOL=SASL_SSL (or SASL_PLAINTEXT), or unset it")
        return self

    @model_validator(mode="after")
    def _tls_files_usable(self) -> Settings:
        """Fail at start, not at the first connection, when TLS settings cannot work as given."""
        for service, enabled, how, (ca, cert, key) in (
                ("kafka", self.kafka_tls, "set SWITCHBOARD_KAFKA_SECURITY_PROTOCOL=SSL (or SASL_SSL)",
                 ("kafka_ssl_cafile", "kafka_ssl_certfile", "kafka_ssl_keyfile")),
                ("redis", self.redis_target.tls, "use a rediss:// (or rediss+sentinel://) SWITCHBOARD_REDIS_URL",
                 ("redis_ssl_ca_certs", "redis_ssl_certfile", "redis_ssl_keyfile"))):
            given = [n for n in (ca, cert, key) if getattr(self, n) is not None]
            if given and not enabled:
                raise ValueError(f"SWITCHBOARD_{given[0].upper()} is set but {service} is not reached over TLS: "
                                 f"{how}, or unset it")
            for have, lacks in ((cert, key), (key, cert)):
                if getattr(self, have) is not None and getattr(self, lacks) is None:
                    raise ValueError(f"SWITCHBOARD_{have.upper()} is set without SWITCHBOARD_{lacks.upper()}: "
                                     "a client certificate needs its private key, set both (mutual TLS) or neither")
            for name in given:
                path = Path(getattr(self, name))
                if not (path.is_file() and os.access(path, os.R_OK)):
                    raise ValueError(f"SWITCHBOARD_{name.upper()}={path} is not a readable file: "
                                     "mount the PEM file there or correct the path")
        return self

    @model_validator(mode="after")
    def _profile_defaults(self) -> Settings:
        """The profile's values for every tuning setting not given explicitly."""
        if self.profile == "throughput":
            for name, value in THROUGHPUT_PROFILE.items():
                if name not in self.model_fields_set:
                    object.__setattr__(self, name, value)
        return self

    @model_validator(mode="after")
    def _broker_defaults(self) -> Settings:
        """Settle ``broker`` (so every process `up` starts agrees) and give Kafka its fetch waits."""
        if self.broker == "auto":
            from infra.kafka_cluster import kafka_available

            object.__setattr__(self, "broker", "kafka" if not self.embedded or kafka_available() else "tansu")
        if self.broker == "kafka":
            for name, value in KAFKA_FETCH_WAITS.items():
                if name not in self.model_fields_set:
                    object.__setattr__(self, name, value)
        return self

    @field_validator("endpoints")
    @classmethod
    def _endpoints_named_once_with_keys(cls, value: tuple[Endpoint, ...]) -> tuple[Endpoint, ...]:
        names = [e.name for e in value]
        if len(set(names)) != len(names):
            raise ValueError(f"endpoint names repeat: {names}")
        if not value:
            raise ValueError("configure at least one endpoint (the built-in one: {\"name\": \"builtin\", "
                             "\"kind\": \"extractive\"})")
        return tuple(e.model_copy(update={"api_key": SecretStr(os.environ[e.api_key_env])})
                     if e.api_key_env and e.api_key_env in os.environ else e for e in value)

    @field_validator("bootstrap_servers")
    @classmethod
    def _servers_have_ports(cls, value: str) -> str:
        for server in value.split(","):
            host, _, port = server.strip().rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"{server!r} is not host:port (SWITCHBOARD_BOOTSTRAP_SERVERS=host:port[,host:port])")
        return value

    def to_env(self) -> dict[str, str]:
        """These settings as SWITCHBOARD_* variables, for the processes `up` starts."""
        out = {}
        # model_dump masks SecretStr fields ('**********'); the processes started need the secrets themselves
        secret = {name: value.get_secret_value() for name in type(self).model_fields
                  if isinstance(value := getattr(self, name), SecretStr)}
        for name, value in {**self.model_dump(mode="json"), **secret}.items():
            if value is None:
                continue
            if isinstance(value, (list, dict)):
                out[f"SWITCHBOARD_{name.upper()}"] = json.dumps(value)
            else:
                out[f"SWITCHBOARD_{name.upper()}"] = str(value).lower() if isinstance(value, bool) else str(value)
        return out

    @property
    def kafka_tls(self) -> bool:
        """Broker connections are wrapped in TLS (SSL, and SASL_SSL under its authentication)."""
        return self.kafka_security_protocol in ("SSL", "SASL_SSL")

    @property
    def kafka_sasl(self) -> bool:
        """Clients authenticate to the broker with a SASL username and password."""
        return self.kafka_security_protocol.startswith("SASL_")

    @property
    def token_secrets(self) -> list[str]:
        return [k.strip() for k in self.token_secret.get_secret_value().split(",") if k.strip()] \
            if self.token_secret else []

    def retry_policy(self, agent: str, default: RetryPolicy) -> RetryPolicy:
        """The retry policy agent ``agent`` runs under: its own, else the 'default' one, else ``default``."""
        return self.retry.get(agent) or self.retry.get("default") or default

    def window(self, agent: str, default: int) -> int:
        """How many messages per input topic a replica of ``agent`` handles at once."""
        return self.windows.get(agent) or self.windows.get("default") or default

    def endpoint(self, name: str) -> Endpoint:
        for e in self.endpoints:
            if e.name == name:
                return e
        raise KeyError(name)

    @property
    def kek_path(self) -> Path:
        return self.kek_file or Path(self.run_dir) / "kek.key"

    @property
    def audit_key_paths(self) -> list[Path]:
        """The audit chain's key files, the signing one first."""
        named = [Path(p.strip()) for p in (self.audit_key_files or "").split(",") if p.strip()]
        return named or [self.kek_path]

    @property
    def snapshots(self) -> Path:
        return self.snapshot_dir or Path(self.run_dir) / "snapshots"

    @property
    def idempotent_producers(self) -> bool:
        return self.broker == "kafka" if self.producer_idempotence is None else self.producer_idempotence

    @property
    def broker_port(self) -> int:
        """Port of the first bootstrap server (the embedded broker listens there)."""
        return self.broker_ports[0]

    @property
    def broker_ports(self) -> list[int]:
        """A port for each node of the embedded broker: the bootstrap servers' ports, else consecutive ones."""
        given = [int(s.rpartition(":")[2]) for s in self.bootstrap_servers.split(",")]
        nodes = self.kafka_nodes if self.broker == "kafka" else 1
        return given[:nodes] if len(given) >= nodes else [given[0] + i for i in range(nodes)]

    @property
    def redis_target(self) -> RedisTarget:
        """What ``redis_url`` names: one node or Sentinel's primary."""
        return parse_redis_url(self.redis_url)
