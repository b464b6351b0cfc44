"""A client for OpenAI-compatible chat completions (vLLM, Ollama, llama.cpp's server, OpenAI).

It sends ``POST {base_url}/chat/completions`` with the model, the messages, ``max_tokens`` and
``temperature: 0``, and reads the text, the finish reason and the token usage the server
reports. Every failure is a ``TransientError`` whose code says which (``endpoint_timeout``,
``endpoint_unreachable``, ``endpoint_error`` for 429 and 5xx, ``endpoint_refused`` for other
4xx, ``bad_response`` for a body that is not a completion): the executor then tries another
endpoint, and the runtime retries the step when none is left.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

import aiohttp

from mesh.endpoints import Endpoint
from mesh.errors import TransientError
from mesh.text import count_tokens

__all__ = ["Completion", "chat", "EndpointFailure"]


class EndpointFailure(TransientError):
    """One endpoint failed one call; another endpoint may still answer."""


@dataclass(frozen=True)
class Completion:
    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    model: str
    usage_reported: bool  # False when the server sent no usage and the counts are estimates


def _headers(endpoint: Endpoint, idempotency_key: str | None) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if idempotency_key:  # gateways that honour it answer a repeated key from their record
        headers["Idempotency-Key"] = idempotency_key
    if endpoint.api_key is not None:
        headers["Authorization"] = f"Bearer {endpoint.api_key.get_secret_value()}"
    return headers


async def chat(session: aiohttp.ClientSession, endpoint: Endpoint, messages: list[dict], *, max_tokens: int,
               json_output: bool = False, idempotency_key: str | None = None) -> Completion:
    """One chat completion from ``endpoint``; raises ``EndpointFailure`` when it does not give one.

    ``idempotency_key`` names the step the call answers (sent as ``Idempotency-Key``)."""
    body: dict = {"model": endpoint.model, "messages": messages, "max_tokens": max_tokens, "temperature": 0}
    if json_output:
        body["response_format"] = {"type": "json_object"}
    url = endpoint.base_url.rstrip("/") + "/chat/completions"
    name = endpoint.name
    try:
        async with session.post(url, json=body, headers=_headers(endpoint, idempotency_key),
                                timeout=aiohttp.ClientTimeout(total=endpoint.timeout_s)) as resp:
            raw = await resp.read()
            if resp.status == 429 or resp.status >= 500:
                raise EndpointFailure(f"endpoint {name} answered HTTP {resp.status}: {raw[:200]!r}",
                                      code="endpoint_error")
            if resp.status >= 400:
                raise EndpointFailure(f"endpoint {name} refused the request, HTTP {resp.status}: {raw[:200]!r}",
                                      code="endpoint_refused")
    except asyncio.TimeoutError as err:
        raise EndpointFailure(f"endpoint {name} did not answer within {endpoint.timeout_s:g}s",
                              code="endpoint_timeout") from err
    except aiohttp.ClientError as err:
        raise EndpointFailure(f"endpoint {name} unreachable at {url}: {err}", code="endpoint_unreachable") from err
    return _parse(name, raw, messages)


def _parse(name: str, raw: bytes, messages: list[dict]) -> Completion:
    try:
        data = json.loads(raw)
        choice = data["choices"][0]
        text = choice["message"].get("content") or ""
        finish = choice.get("finish_reason") or "stop"
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as err:
        raise EndpointFailure(f"endpoint {name} sent something that is not a chat completion "
                              f"({len(raw)} bytes): {err}", code="bad_response") from err
    usage = data.get("usage") or {}
    if isinstance(usage.get("prompt_tokens"), int) and isinstance(usage.get("completion_tokens"), int):
        return Completion(text, finish, usage["prompt_tokens"], usage["completion_tokens"],
                          data.get("model") or "", True)
    estimate = sum(count_tokens(m["content"]) for m in messages)
    return Completion(text, finish, estimate, count_tokens(text), data.get("model") or "", False)
