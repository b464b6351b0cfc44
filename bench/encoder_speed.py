"""The torch encoder's raw speed where it runs (a GPU where torch sees one): passages of full length, and lone queries.

    python -m bench.encoder_speed [--precisions fp32,bf16] [--batch-sizes 32,256] [--passages 4096]
                                  [--word-pieces 256] [--queries 200] [--json]

Needs only torch, transformers and the model package (no data set, no project services), so it runs
on a bare device machine. Passages are random whole words of the model's vocabulary, long enough to
fill ``--word-pieces`` after truncation (the encoder's maximum length), so every row encodes exactly
that many word pieces per passage; queries are 16 random words. For each precision and batch size:
passages per second over ``--passages`` passages (after a warm-up batch), and a lone query's
p50/p99. ``bench.encoder`` measures quality and agreement on a real corpus; this measures speed alone.
"""

from __future__ import annotations

import random
import time

from bench.common import machine, machine_line, main_of, percentile_ms, table
from index.encoder import Encoder


def _words(encoder: Encoder, seed: int) -> list[str]:
    """Whole words of the model's vocabulary (no sub-word pieces, no special tokens)."""
    vocab = encoder._tokenizer.get_vocab()
    words = sorted(w for w in vocab if w.isalpha() and w.isascii() and len(w) >= 3)
    random.Random(seed).shuffle(words)
    return words


def _texts(words: list[str], n: int, length: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choices(words, k=length)) for _ in range(n)]


def _row(encoder: Encoder, passages: list[str], queries: list[str]) -> dict:
    encoder.encode(passages[:encoder.batch_size])  # first calls allocate (and, on a GPU, load kernels)
    encoder.encode(queries[:5])
    t0 = time.perf_counter()
    encoder.encode(passages)
    seconds = time.perf_counter() - t0
    times = []
    for q in queries:
        t1 = time.perf_counter()
        encoder.encode([q])
        times.append(time.perf_counter() - t1)
    return {"passages_per_s": round(len(passages) / seconds, 1), "query_p50_ms": percentile_ms(times, 50),
            "query_p99_ms": percentile_ms(times, 99)}


def run(args) -> dict:
    rows, words, pieces = [], None, None
    for precision in args.precisions.split(","):
        for batch in (int(b) for b in args.batch_sizes.split(",")):
            encoder = Encoder(args.threads, args.word_pieces, batch, precision)
            if words is None:
                words = _words(encoder, args.seed)
                # a word is one or more word pieces: enough words that truncation, not the text, sets the length
                passages = _texts(words, args.passages, args.word_pieces, args.seed)
                queries = _texts(words, args.queries, 16, args.seed + 1)
                pieces = min(args.word_pieces, min(encoder.token_count(p) + 2 for p in passages[:64]))
            rows.append({"device": encoder.device, "precision": encoder.precision, "batch": batch,
                         **_row(encoder, passages, queries)})
    return {"rows": rows, "passages": args.passages, "word_pieces": pieces, "queries": args.queries,
            "threads": args.threads, "machine": machine()}


def _arguments(p) -> None:
    p.add_argument("--precisions", default="fp32,bf16", help="torch's precisions, comma-separated")
    p.add_argument("--batch-sizes", default="32,256", help="passages per forward pass, comma-separated")
    p.add_argument("--passages", type=int, default=4096)
    p.add_argument("--word-pieces", type=int, default=256, help="each passage's length, the encoder's maximum")
    p.add_argument("--queries", type=int, default=200, help="lone queries timed one at a time")
    p.add_argument("--threads", type=int, default=2, help="CPU threads, where the encoder runs on the CPU")
    p.add_argument("--seed", type=int, default=0)


def _render(report: dict) -> str:
    return "\n".join([
        machine_line(report["machine"]),
        f"{report['passages']} passages of {report['word_pieces']} word pieces (with [CLS] and [SEP]); "
        f"{report['queries']} lone queries of 16 words",
        table(report["rows"], ["device", "precision", "batch", "passages_per_s", "query_p50_ms", "query_p99_ms"])])


main = main_of("bench.encoder_speed", __doc__, _arguments, run, _render)

if __name__ == "__main__":
    raise SystemExit(main())
