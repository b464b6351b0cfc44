"""Prometheus metrics of a worker, served on ``/metrics``.

Every worker process serves its own registry (``serve``): on ``metrics_port`` when it is free,
else on a free port, and announces the address in its heartbeat (``switchboard agents``). The
names follow Prometheus conventions: ``_total`` counters, ``_seconds`` histograms, base units.

The runtime counts messages and failures and times steps; the Faust wiring sets consumer lag;
breakers, the embedding cache, budgets and the executor's token accounting count their own.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

from mesh.observe.logs import get_logger

__all__ = ["MESSAGES", "FAILURES", "STEP_SECONDS", "REDIS_TRIPS", "RETRIES", "LAG", "BREAKER_STATE", "CACHE", "TOKENS", "COST",
           "BUDGET_DECISIONS", "BUDGET_USED", "SHARD_BUILDS", "FETCH_WAIT", "IN_FLIGHT", "AUDIT_CHAIN_HALTED", "serve", "breaker_code"]

log = get_logger("switchboard.metrics")

MESSAGES = Counter("switchboard_messages", "Messages handled, by agent, topic and outcome "
                   "(handled, duplicate_replayed, rejected, dead_lettered).", ["agent", "topic", "outcome"])
FAILURES = Counter("switchboard_message_failures", "Messages that failed, by error kind "
                   "(transient, deterministic, semantic, bug).", ["agent", "topic", "kind"])
STEP_SECONDS = Histogram("switchboard_step_seconds", "Time an agent took to handle one message.",
                         ["agent", "topic"],
                         buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
REDIS_TRIPS = Histogram("switchboard_redis_roundtrips", "Redis round trips made handling one message (a "
                        "batch's, shared out): commands, script calls and pipelines.", ["agent", "topic"],
                        buckets=(0, 1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 50))
RETRIES = Counter("switchboard_retries", "Transient failures retried, by agent.", ["agent"])
LAG = Gauge("switchboard_consumer_lag", "Messages between the consumer's position and the end of the partition.",
            ["agent", "topic", "partition"])
BREAKER_STATE = Gauge("switchboard_breaker_state", "Circuit breaker state: 0 closed, 1 half-open, 2 open.",
                      ["breaker"])
CACHE = Counter("switchboard_cache_requests", "Cache lookups by cache and result (memory_hit, redis_hit, miss).",
                ["cache", "result"])
TOKENS = Counter("switchboard_tokens", "Model tokens by tenant, endpoint, model and direction (prompt, completion).",
                 ["tenant", "endpoint", "model", "direction"])
COST = Counter("switchboard_cost_usd", "Model cost in US dollars by tenant, endpoint and model.",
               ["tenant", "endpoint", "model"])
BUDGET_DECISIONS = Counter("switchboard_budget_decisions", "Budget reservations by tenant and decision "
                           "(granted, soft_exceeded, refused).", ["tenant", "decision"])
BUDGET_USED = Gauge("switchboard_budget_used", "Budget spent in the current period, by tenant and unit "
                    "(tokens, usd).", ["tenant", "unit"])
SHARD_BUILDS = Counter("switchboard_index_shard_builds", "Vector shards built, by trigger (ingest: once a burst "
                       "of documents was embedded; query: a query found its shard stale and waited).", ["trigger"])
FETCH_WAIT = Gauge("switchboard_fetch_wait_ms", "The wait of the agent's next fetch: short while records flow, "
                   "backed off while idle (mesh.runtime.fetch_wait).", ["agent"])
IN_FLIGHT = Gauge("switchboard_in_flight", "Messages a worker is handling at once, by agent and topic (at most "
                  "the agent's window).", ["agent", "topic"])
AUDIT_CHAIN_HALTED = Gauge("switchboard_audit_chain_halted", "1 while the auditor refuses to append to a tenant's "
                           "audit chain because its head does not verify (see `switchboard audit verify`).", ["tenant"])

_BREAKER_CODES = {"closed": 0, "half-open": 1, "open": 2}


def breaker_code(state: str) -> int:
    return _BREAKER_CODES.get(state, 0)


def serve(port: int, host: str = "0.0.0.0") -> int:
    """Serve /metrics on ``port`` (a free port if it is 0 or taken); returns the port used."""
    for candidate in ([port, 0] if port else [0]):
        try:
            server, _ = start_http_server(candidate, addr=host)
            return server.server_port
        except OSError as err:
            log.warning("metrics_port_taken", port=candidate, error=str(err))
    raise OSError("could not serve /metrics on any port")
