"""mesh.llm.openai_client over real HTTP against the misbehaving test server: answers, usage, each failure."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from mesh.endpoints import Endpoint
from mesh.llm.openai_client import EndpointFailure, chat
from mesh.llm.prompt import assemble
from tests.integration.model_server import Behaviour, ModelServer
from tests.unit.samples import passage

pytestmark = pytest.mark.integration

PROMPT = assemble("How long does Kafka keep records?", [passage("kafka", 0)])


@pytest.fixture(scope="module")
def server():
    s = ModelServer().start()
    yield s
    s.stop()


def endpoint(server: ModelServer, **kw) -> Endpoint:
    return Endpoint(name="t", base_url=server.base_url, model=kw.pop("model", "m"), timeout_s=kw.pop("timeout_s", 2),
                    **kw)


def call(server: ModelServer, ep: Endpoint, max_tokens: int = 100):
    async def go():
        async with aiohttp.ClientSession() as session:
            return await chat(session, ep, PROMPT.messages, max_tokens=max_tokens)
    return asyncio.run(go())


def test_an_answer_with_the_usage_the_server_reported(server):
    out = call(server, endpoint(server, model="good"))
    last = server.calls[-1]
    assert out.text == "Kafka keeps records for seven days by default. [1]" and out.finish_reason == "stop"
    assert (out.prompt_tokens, out.completion_tokens) == (last.prompt_tokens, last.completion_tokens)
    assert out.usage_reported and last.max_tokens == 100


def test_the_length_finish_reason_comes_through(server):
    server.script("short", Behaviour("length", needs=500))
    out = call(server, endpoint(server, model="short"), max_tokens=100)
    assert out.finish_reason == "length" and out.text.count(" ") < 8


def test_missing_usage_is_estimated_and_flagged(server):
    server.script("nousage", "no_usage")
    out = call(server, endpoint(server, model="nousage"))
    assert not out.usage_reported and out.prompt_tokens > 0


@pytest.mark.parametrize("behaviour, code", [
    (Behaviour("error"), "endpoint_error"),
    (Behaviour("timeout", delay=1.5), "endpoint_timeout"),
    (Behaviour("cut_body"), "bad_response"),
])
def test_each_failure_is_a_transient_endpoint_failure_with_its_code(server, behaviour, code):
    model = f"bad-{code}"
    server.script(model, behaviour)
    with pytest.raises(EndpointFailure) as err:
        call(server, endpoint(server, model=model, timeout_s=0.5))
    assert err.value.code == code and err.value.retriable


def test_an_unreachable_endpoint(server):
    ep = Endpoint(name="gone", base_url="http://127.0.0.1:9/v1", model="m", timeout_s=1)
    with pytest.raises(EndpointFailure) as err:
        call(server, ep)
    assert err.value.code == "endpoint_unreachable"


def test_the_api_key_is_sent_as_a_bearer_token(server):
    from pydantic import SecretStr

    call(server, endpoint(server, model="keyed", api_key=SecretStr("sk-test")))
    assert server.calls[-1].model == "keyed" and server.calls[-1].authorization == "Bearer sk-test"
    call(server, endpoint(server, model="open"))
    assert server.calls[-1].authorization is None


def test_a_gateway_honouring_idempotency_keys_answers_a_repeated_call_without_generating():
    gateway = ModelServer(idempotent=True).start()
    try:
        async def twice():
            async with aiohttp.ClientSession() as session:
                ep = endpoint(gateway, model="g")
                first = await chat(session, ep, PROMPT.messages, max_tokens=100, idempotency_key="step-1")
                again = await chat(session, ep, PROMPT.messages, max_tokens=100, idempotency_key="step-1")
                other = await chat(session, ep, PROMPT.messages, max_tokens=100, idempotency_key="step-2")
                return first, again, other
        first, again, other = asyncio.run(twice())
        assert again.text == first.text and again.prompt_tokens == first.prompt_tokens
        assert [c.behaviour for c in gateway.calls] == ["ok", "replayed", "ok"]
        assert [c.idempotency_key for c in gateway.calls] == ["step-1", "step-1", "step-2"]
    finally:
        gateway.stop()
