"""The index agent starts encoding a step's question as soon as the step is published (``query_prefetch``).

Its own mesh holds the index agent alone: no retriever runs, so no index query is ever sent, and a
question's vector in the embedding cache can only come from the prefetch.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from index.cache import content_key
from index.encoder import DIM, vectors_id
from mesh.io.bus import Publisher
from mesh.io.keys import Keys
from mesh.io.redis_clients import sync_redis
from mesh.ops.stack import Mesh
from mesh.runtime.registry import input_topics
from mesh.security.sealing import codec_for
from mesh.wire.envelope import new_envelope
from mesh.wire.topics import Topics
from schemas.models import Principal, RetrievalMode, RetrieveStep
from tests.integration.conftest import make_settings

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def index_only(tmp_path_factory):
    m = Mesh(make_settings(tmp_path_factory.mktemp("prefetch")), agents=["index"])
    m.start()
    yield m
    m.stop()


def test_the_index_agent_reads_steps_retrieve_only_when_prefetching():
    assert "steps.retrieve" in input_topics("index", make_settings("/tmp"))
    assert "steps.retrieve" not in input_topics("index", make_settings("/tmp", query_prefetch=False))


def test_a_published_steps_question_is_encoded_before_any_query_asks_for_it(index_only, tenant):
    settings = index_only.settings
    codec, topics, pub = codec_for(settings), Topics(settings.topic_prefix), Publisher(settings)
    who = Principal(tenant_id=tenant, user_id="u")
    questions = {mode: f"{mode.value}: how long does Kafka keep records?" for mode in RetrievalMode}
    for mode in (RetrievalMode.lexical, RetrievalMode.dense, RetrievalMode.hybrid):  # one key: one partition, in order
        step = RetrieveStep(envelope=new_envelope(tenant, "retrieve", step_id="s1"), question=questions[mode],
                            principal=who, mode=mode)
        pub.send(topics.name("steps.retrieve"), tenant.encode(), codec.encode(step))
    pub.flush()

    vectors_of = vectors_id(settings.encoder_backend, settings.encoder_precision)
    key = {m: Keys(settings.key_prefix).embedding(tenant, content_key(vectors_of, q)) for m, q in questions.items()}
    r = sync_redis(settings)
    deadline = time.monotonic() + 30
    while r.exists(key[RetrievalMode.dense], key[RetrievalMode.hybrid]) < 2:
        assert time.monotonic() < deadline, "the index agent did not encode the questions of the published steps"
        time.sleep(0.05)
    # the lexical step came first on the same partition and will never query the index: not encoded
    assert not r.exists(key[RetrievalMode.lexical])
    vec = np.frombuffer(r.get(key[RetrievalMode.dense]), dtype=np.float32)
    assert vec.shape == (DIM,) and abs(float(np.linalg.norm(vec)) - 1) < 1e-3
