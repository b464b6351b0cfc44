"""Retrieval quality and speed through the running mesh: BM25 alone, dense alone, hybrid.

    python -m bench.retrieval --data ../shared/data/scifact-train --split train [--tenant T] [--json]
    python -m bench.retrieval --data ../shared/data/scifact-train --split train --broker kafka,tansu

DIR is in the BEIR layout (corpus.jsonl, queries.jsonl, qrels/SPLIT.tsv); only the queries of
that qrels file are evaluated. Uses the mesh at SWITCHBOARD_* if one is running, else starts the
embedded stack with the retriever and the index agent itself (``--broker``: on Apache Kafka, on
tansu, or on each in turn, reported side by side) (on a running full mesh, the
executor and the rest also work on each query's output). Documents go in through docs.ingest;
each query is a RetrieveStep on steps.retrieve, answered by the retriever (and the index agent) on
steps.execute, whose fused ranking is scored. Latency is measured from publishing the step to
receiving its ExecuteStep, so it includes the broker hops and query encoding. Ingest counts until
the documents are stored and embedded and a dense query is answered from them. With sanitization
on, the scanner agent scans the passages and titles ahead, at the lowest CPU priority (beside the
ingest, on what the encoder leaves); the passes start once it has scanned them all, and the report
says how long after the ingest that was (``scan_ahead_s``). ``--no-scan-ahead`` runs no scanner:
then a passage is scanned when a step first packs it, and the first pass pays for those scans
(``scanned``: texts scanned during each pass). Before the passes, ``--warmup`` hybrid queries
(random documents' titles, none of them a pass's question) warm the broker up, as a running mesh's
broker is; their own p50 and p99 are reported as the warm-up's, the figures of a fresh start.
Before the ingest, and again after it, the encoder alone is measured in this process as
``bench.encoder`` measures it (the passages of ``--encoder-docs`` random documents in one call, with
the index agent's encoder settings), so the ingest rate is reported next to the rate the encoder
allows on the same machine; on a shared machine the two measurements show how far its load moved.

Where the time goes: each mode runs as one pass, and the workers' /metrics, read before and
after it, give the mean handling time of each hop (the retriever's access filter and BM25, the
index agent's encoding and search, the retriever's fusion, sanitization and packing); the rest
of the p50 is spent between hops (broker, fetch waits). /proc, read before and after each pass,
gives the CPU each process of the stack (and this client) used per query: queries go one at a
time, so their total over the machine's cores is a floor under the p50. ``--tenant`` reuses an earlier run's
tenant on a running mesh, whose vectors and scans are then found cached.
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

from tqdm import tqdm

from bench.common import machine, machine_line, main_of, percentile_ms, table
from bench.metrics import ndcg_at, recall_at
from bench.workers import cpu_seconds, handling, since, stack_processes
from index.encoder import backend_precision, resolve_backend
from index.fusion import convex, rrf
from mesh.client import Client
from mesh.io.bus import Publisher, Tail, broker_ready
from mesh.io.keys import Keys
from mesh.security.sealing import codec_for
from mesh.settings import Settings
from mesh.wire.envelope import new_envelope
from mesh.wire.topics import Topics
from schemas.models import (
    AccessAttributes,
    Classification,
    Principal,
    RetrievalMode,
    RetrieveStep,
)


def load_beir(data: Path, split: str, limit: int | None) -> tuple[list[dict], dict[str, str], dict[str, dict[str, int]]]:
    qrels: dict[str, dict[str, int]] = {}
    for n, line in enumerate((data / "qrels" / f"{split}.tsv").read_text().splitlines()):
        parts = line.split("\t")
        if n == 0 and not parts[-1].strip().lstrip("-").isdigit():
            continue  # header
        qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    queries = {}
    for line in (data / "queries.jsonl").read_text().splitlines():
        q = json.loads(line)
        if q["_id"] in qrels:
            queries[q["_id"]] = q["text"]
    if limit:
        queries = dict(list(queries.items())[:limit])
    corpus = [json.loads(line) for line in (data / "corpus.jsonl").read_text().splitlines() if line.strip()]
    return corpus, queries, qrels


#: what a retrieval passes through, and the scanner that scans its passages ahead; started alone, so no
#: downstream agent (executor, validator, planner, auditor) works on the measured steps' outputs beside the next query
RETRIEVAL_AGENTS = ["retriever", "index", "scanner"]


def _mesh_running(settings: Settings) -> bool:
    if not broker_ready(settings, 1.0):
        return False
    import redis

    from mesh.io.redis_clients import sync_redis

    try:
        r = sync_redis(settings, socket_timeout=1)
        return all(any(True for _ in r.scan_iter(Keys(settings.key_prefix).heartbeat(a, "*"))) for a in
                   ("index", "retriever"))
    except redis.RedisError:
        return False


def run(args) -> dict:
    settings = Settings()
    if _mesh_running(settings):
        return {"runs": [_measure(settings, args)]}
    brokers = [b.strip() for b in args.broker.split(",") if b.strip()] if args.broker else [settings.broker]
    return {"runs": [_on_own_stack(Settings(broker=broker), args) for broker in brokers]}


def _on_own_stack(settings: Settings, args) -> dict:
    """The measurement on an embedded stack of its own (the retriever and the index agent), stopped after."""
    from mesh.ops.stack import Mesh

    settings = settings.model_copy(update={"run_dir": Path(tempfile.mkdtemp(prefix="sb-bench-"))})
    mesh = Mesh(settings, agents=[a for a in RETRIEVAL_AGENTS if a != "scanner" or args.scan_ahead])
    mesh.start(lambda s: print(s, file=sys.stderr))
    try:
        return _measure(settings, args)
    finally:
        mesh.stop()


def _measure(settings: Settings, args) -> dict:
    corpus, queries, qrels = load_beir(Path(args.data), args.split, args.limit_queries)
    tenant = args.tenant or f"bench-{uuid.uuid4().hex[:6]}"
    access = AccessAttributes(tenant_id=tenant)
    docs = [{"doc_id": d["_id"], "title": d.get("title", ""), "text": d.get("text") or d.get("title") or "-",
             "access": access} for d in corpus]
    client, codec, topics = Client(settings), codec_for(settings), Topics(settings.topic_prefix)
    principal = Principal(tenant_id=tenant, user_id="bench", clearance=Classification.restricted)
    # the encoder alone, before and after the ingest: on a shared machine the two show how far its load moved
    alone = EncoderAlone(settings, docs, args.encoder_docs) if args.encoder_docs else None
    rates = [alone.measure()] if alone else []
    print(f"ingesting {len(docs)} documents, then {len(queries)} queries per mode", file=sys.stderr)

    started = time.perf_counter()
    bar = tqdm(total=len(docs), desc="ingest", unit="doc", file=sys.stderr, disable=args.json)
    client.ingest(docs, progress=lambda n: bar.update(n - bar.n))
    bar.close()
    bar = tqdm(total=len(docs), desc="indexed", unit="doc", file=sys.stderr, disable=args.json)
    client.wait_stored(docs, timeout_s=3600, progress=lambda n: bar.update(n - bar.n))
    bar.close()
    tail = Tail(settings, topics.name("steps.execute"))
    publisher = Publisher(settings)

    def retrieve(text: str, mode: RetrievalMode) -> tuple[list[tuple[str, float]], float, str | None]:
        env = new_envelope(tenant, "retrieve", step_id="s1")
        step = RetrieveStep(envelope=env, question=text, principal=principal, top_k=5, mode=mode, candidates=100)
        t0 = time.perf_counter()
        publisher.send(topics.name("steps.retrieve"), env.task_id.encode(), codec.encode(step))
        publisher.flush()
        key = env.task_id.encode()
        msg = tail.first(lambda m: m.key() == key, 3600)
        out = codec.decode(msg.value())
        return list(zip(out.ranking, out.scores)), time.perf_counter() - t0, out.degraded

    _until_dense(lambda: retrieve("warm up the index", RetrievalMode.dense)[2])
    ingest_s = time.perf_counter() - started
    scan_ahead_s = _until_scanned(settings, tenant, docs, args.json) if _scanner_running(settings) else None
    if alone:
        rates.append(alone.measure())
    warm_up = _warm_up(retrieve, docs, args.warmup, args.json) if args.warmup else None
    # One pass per mode, hybrid first: hybrid pays each query's encoding, as a real query would;
    # dense then finds the query embedding cached (the cache at work), lexical needs none. Each
    # pass reads the workers' /metrics before and after, for where its time went.
    modes = sorted((RetrievalMode(m) for m in args.modes), key=lambda m: m is not RetrievalMode.hybrid)
    runs, rows, stages, cpu, procs = {}, [], [], [], stack_processes(settings)
    for mode in modes:
        retrieve("warm up", mode)
        before, latencies, degraded, runs[mode.value] = handling(settings), [], 0, {}
        cpu_before = cpu_seconds(procs)
        scanned = _scans(settings, tenant)
        for qid, text in tqdm(queries.items(), desc=mode.value, file=sys.stderr, disable=args.json):
            ranked, seconds, why = retrieve(text, mode)
            latencies.append(seconds)
            degraded += why is not None
            runs[mode.value][qid] = ranked
        row = {"mode": mode.value, **_quality(runs[mode.value], qrels), "p50_ms": percentile_ms(latencies, 50),
               "p99_ms": percentile_ms(latencies, 99), "degraded": degraded,
               "scanned": _scans(settings, tenant) - scanned}
        rows.append(row)
        stages.append(_stages(mode.value, row["p50_ms"], since(before, handling(settings))))
        cpu.append(_cpu_per_query(mode.value, cpu_before, cpu_seconds(procs), len(queries)))
    tail.close()
    fusions = _fusion_sweep(runs, qrels) if {"lexical", "dense"} <= set(runs) else []
    return {"benchmark": "retrieval", "broker": settings.broker, "data": str(args.data), "split": args.split, "queries": len(queries),
            "documents": len(docs), "tenant": tenant, "ingest_docs_per_s": round(len(docs) / ingest_s, 1),
            "scan_ahead_s": scan_ahead_s, "warmup": warm_up,
            "encoder_alone": alone.report(rates) if alone else None,
            "fusion": settings.fusion, "rrf_k": settings.rrf_k, "fusion_alpha": settings.fusion_alpha,
            "encoder_threads": settings.encoder_threads, "sanitize": settings.sanitize, "machine": machine(),
            "encoder_backend": resolve_backend(settings.encoder_backend),
            "encoder_precision": backend_precision(settings.encoder_backend, settings.encoder_precision),
            "results": rows, "stages": stages, "cpu_per_query_ms": cpu, "fusion_sweep": fusions}


def _warm_up(retrieve, docs: list[dict], n: int, quiet: bool, seed: int = 0) -> dict:
    """``n`` hybrid queries before the passes, each a random document's title (so no pass's question is
    among them), and their own latency. A freshly started Kafka broker is a cold JVM: its CPU per query
    fell threefold over its first 1,800 queries, which a running mesh's broker has long behind it."""
    pool = sorted({d["title"] for d in docs if d["title"].strip()})
    titles = random.Random(seed).sample(pool, k=min(n, len(pool)))
    latencies = [retrieve(t, RetrievalMode.hybrid)[1]
                 for t in tqdm(titles, desc="warm-up", file=sys.stderr, disable=quiet)]
    return {"queries": len(titles), "p50_ms": percentile_ms(latencies, 50), "p99_ms": percentile_ms(latencies, 99)}


def _until_dense(warm_up, timeout_s: float = 300.0) -> None:
    """Until a query is answered by the index agent, not degraded (its shard still building, or its breaker
    open after the timeouts of a build), so no measured query pays for the start."""
    deadline = time.monotonic() + timeout_s
    while (why := warm_up()) is not None:
        if time.monotonic() > deadline:
            raise SystemExit(f"the index agent did not answer within {timeout_s:.0f}s: {why}")
        time.sleep(1.0)


class EncoderAlone:
    """The encoder's throughput alone, as ``bench.encoder`` measures it: the passages of ``n_docs`` random
    documents encoded in one call (after a first call that allocates), on the index agent's encoder settings;
    in documents per second too, at the whole corpus's passages per document."""

    def __init__(self, settings: Settings, docs: list[dict], n_docs: int, seed: int = 0) -> None:
        from types import SimpleNamespace

        from index.corpus import doc_passages
        from index.encoder import make_encoder

        self.per_doc = sum(len(doc_passages(SimpleNamespace(**d))) for d in docs) / len(docs)
        sample = random.Random(seed).sample(docs, min(n_docs, len(docs)))
        self.passages = [r.searchable for d in sample for r in doc_passages(SimpleNamespace(**d))]
        self.encoder = make_encoder(settings.encoder_backend, settings.encoder_threads, settings.encoder_max_length,
                                    settings.encoder_batch_size, settings.encoder_precision, settings.encoder_cache_dir)
        self.encoder.encode(self.passages[:self.encoder.batch_size])

    def measure(self) -> float:
        """Passages per second, once."""
        print(f"the encoder alone: {len(self.passages)} passages", file=sys.stderr)
        t0 = time.perf_counter()
        self.encoder.encode(self.passages)
        return len(self.passages) / (time.perf_counter() - t0)

    def report(self, rates: list[float]) -> dict:
        """The measurements (before and after the ingest), and their mean in passages and documents per second."""
        mean = sum(rates) / len(rates)
        return {"passages": len(self.passages), "measured": [round(r, 1) for r in rates],
                "passages_per_s": round(mean, 1), "docs_per_s": round(mean / self.per_doc, 1),
                "passages_per_doc": round(self.per_doc, 2), "backend": self.encoder.backend,
                "precision": self.encoder.precision,
                "threads": self.encoder.threads}


def _scanner_running(settings: Settings) -> bool:
    """Whether a scanner agent beats in this mesh (and sanitization is on, so it scans)."""
    from mesh.io.redis_clients import sync_redis

    beats = sync_redis(settings).scan_iter(Keys(settings.key_prefix).heartbeat("scanner", "*"), count=1000)
    return settings.sanitize and next(beats, None) is not None


def _until_scanned(settings: Settings, tenant: str, docs: list[dict], quiet: bool) -> float:
    """Seconds from now until the scanner has kept the detections of every title and passage of ``docs``."""
    from types import SimpleNamespace

    from index.corpus import doc_passages

    texts = {t for d in docs for r in doc_passages(SimpleNamespace(**d)) for t in (r.title, r.text) if t.strip()}
    started = time.perf_counter()
    bar = tqdm(total=len(texts), desc="scanned ahead", unit="text", file=sys.stderr, disable=quiet)
    while (done := _scans(settings, tenant)) < len(texts):
        bar.update(done - bar.n)
        time.sleep(2.0)
    bar.close()
    return round(time.perf_counter() - started, 1)


def _scans(settings: Settings, tenant: str) -> int:
    """How many texts of ``tenant`` have been scanned for sensitive values (their detections kept in Redis)."""
    from mesh.io.redis_clients import sync_redis

    pattern = Keys(settings.key_prefix).detections(tenant, "*", "*")
    return sum(1 for _ in sync_redis(settings).scan_iter(pattern, count=1000))


#: the hops of a retrieval, in order, with their column in the breakdown
HOPS = [(("retriever", "steps.retrieve"), "access_bm25_ms"), (("index", "index.queries"), "encode_search_ms"),
        (("retriever", "index.results"), "fuse_pack_ms")]


def _cpu_per_query(mode: str, before: dict[str, float], after: dict[str, float], queries: int) -> dict:
    """CPU milliseconds per query that each process used over one pass, and their total: with queries sent one
    at a time, the total over the machine's cores bounds how low the p50 can go."""
    row = {label: round(1000 * (after[label] - before[label]) / queries, 2) for label in before}
    return {"mode": mode, **row, "total": round(sum(row.values()), 2)}


def _stages(mode: str, p50_ms: float, handled) -> dict:
    """Mean handling per message of each hop in one pass; the rest of the p50 is spent between them."""
    row = {"mode": mode}
    for where, column in HOPS:
        secs, n, _ = handled.get(where, (0.0, 0, 0.0))
        row[column] = round(1000 * secs / n, 2) if n else 0.0
    row["between_hops_ms"] = round(p50_ms - sum(row[c] for _, c in HOPS), 2)
    return row


def _quality(run: dict[str, list[tuple[str, float]]], qrels: dict[str, dict[str, int]]) -> dict:
    ndcg = [ndcg_at([d for d, _ in ranked], qrels[q], 10) for q, ranked in run.items()]
    recall = [recall_at([d for d, _ in ranked], qrels[q], 100) for q, ranked in run.items()]
    return {"ndcg@10": round(sum(ndcg) / len(ndcg), 4), "recall@100": round(sum(recall) / len(recall), 4)}


def _fusion_sweep(runs: dict, qrels: dict) -> list[dict]:
    """Each fusion over the same lexical and dense rankings, side by side (to choose the default)."""
    out = []
    configs = [("rrf", {"k": k}) for k in (10, 30, 60)] + [("convex", {"alpha": a}) for a in (0.3, 0.5, 0.7, 0.8)]
    for name, params in configs:
        fused = {}
        for q in runs["lexical"]:
            lx, dn = runs["lexical"][q], runs["dense"][q]
            fused[q] = rrf([lx, dn], params["k"]) if name == "rrf" else convex(lx, dn, params["alpha"])
        out.append({"fusion": f"{name} {next(iter(params))}={next(iter(params.values()))}", **_quality(fused, qrels)})
    return out


def _arguments(p) -> None:
    p.add_argument("--data", required=True, help="folder in the BEIR layout")
    p.add_argument("--split", default="test", help="qrels/SPLIT.tsv names the evaluated queries")
    p.add_argument("--modes", nargs="+", default=["lexical", "dense", "hybrid"], choices=["lexical", "dense", "hybrid"])
    p.add_argument("--limit-queries", type=int, default=None, help="evaluate only the first N queries")
    p.add_argument("--warmup", type=int, default=1000, help="hybrid queries (random documents' titles) before "
                   "the passes, their latency reported on its own: a fresh broker's first ones (0: none)")
    p.add_argument("--encoder-docs", type=int, default=400, help="documents whose passages measure the encoder "
                   "alone before the ingest (0: not measured)")
    p.add_argument("--no-scan-ahead", dest="scan_ahead", action="store_false", help="on its own stack, run no "
                   "scanner agent: passages are scanned when a step first packs them")
    p.add_argument("--broker", default=None, help="kafka, tansu, or both comma-separated (each on a stack of its "
                   "own, side by side); default: the one the settings choose")
    p.add_argument("--tenant", default=None, help="ingest as this tenant (default: a new one); against a running "
                   "mesh, naming an earlier run's tenant finds its vectors cached and skips the encoding")


def _render(report: dict) -> str:
    out = [_render_run(run) for run in report["runs"]]
    if len(report["runs"]) > 1:
        rows = [{"broker": run["broker"], **row, **stage} for run in report["runs"]
                for row, stage in zip(run["results"], run["stages"])]
        out.append("side by side:\n" + table(rows, ["mode", "broker", "ndcg@10", "p50_ms", "p99_ms",
                                                     *(c for _, c in HOPS), "between_hops_ms"])
                   + "\ningest docs/s: "
                   + ", ".join(f"{r['broker']} {r['ingest_docs_per_s']}{_of_encoder(r)}" for r in report["runs"]))
    return "\n\n".join(out)


def _of_encoder(report: dict) -> str:
    """The ingest rate's share of the encoder's alone in the same run ("" when that was not measured)."""
    alone = report.get("encoder_alone")
    return f" ({100 * report['ingest_docs_per_s'] / alone['docs_per_s']:.0f}% of the encoder alone)" if alone else ""


def _encoder_line(report: dict) -> list[str]:
    alone = report.get("encoder_alone")
    if not alone:
        return []
    return [(f"encoder alone, as bench.encoder measures it ({alone['passages']} passages, "
             f"{alone['backend']} {alone['precision']}, "
             f"{alone['threads']} threads): {' and '.join(map(str, alone['measured']))} passages/s before and after "
             f"the ingest, mean {alone['passages_per_s']} = {alone['docs_per_s']} docs/s at "
             f"{alone['passages_per_doc']} passages per document; ingest {report['ingest_docs_per_s']} docs/s"
             f"{_of_encoder(report)}")]


def _warm_up_line(report: dict) -> list[str]:
    w = report.get("warmup")
    return [f"warm-up before the passes: {w['queries']} hybrid queries (documents' titles), p50 {w['p50_ms']} ms, "
            f"p99 {w['p99_ms']} ms"] if w else []


def _cpu_lines(report: dict) -> list[str]:
    cpu = report.get("cpu_per_query_ms")
    if not cpu:
        return []
    return ["", f"CPU per query, ms, by process ({report['machine']['cores']} cores):", table(cpu, list(cpu[0]))]


def _render_run(report: dict) -> str:
    lines = [f"broker {report['broker']}: {report['documents']} documents, {report['queries']} queries ({report['split']}); "
             f"ingest {report['ingest_docs_per_s']} docs/s; fusion {report['fusion']}; "
             + (f"scanned ahead {report['scan_ahead_s']} s after the ingest" if report.get("scan_ahead_s") is not None
                else "no scanner: passages scanned when first packed"),
             f"{machine_line(report['machine'])}, encoder threads {report['encoder_threads']}, backend "
             f"{report.get('encoder_backend', 'torch')}, precision {report.get('encoder_precision', 'not recorded')}",
             *_encoder_line(report), *_warm_up_line(report),
             table(report["results"], ["mode", "ndcg@10", "recall@100", "p50_ms", "p99_ms", "degraded", "scanned"]),
             "", f"where a query's time goes (mean handling per message of each hop; sanitize "
             f"{'on' if report['sanitize'] else 'off'}):",
             table(report["stages"], ["mode", *(c for _, c in HOPS), "between_hops_ms"]), *_cpu_lines(report)]
    if report["fusion_sweep"]:
        lines += ["", "fusion of the same lexical and dense rankings:",
                  table(report["fusion_sweep"], ["fusion", "ndcg@10", "recall@100"])]
    return "\n".join(lines)


main = main_of("python -m bench.retrieval", __doc__, _arguments, run, _render)

if __name__ == "__main__":
    sys.exit(main())
