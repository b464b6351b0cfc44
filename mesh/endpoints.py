"""Model endpoints, as configured: what each can do, what it costs, how much it may take at once.

Set them with ``SWITCHBOARD_ENDPOINTS``, a JSON list, e.g.::

    [{"name": "local", "kind": "openai", "base_url": "http://vllm:8000/v1", "model": "qwen2.5-7b",
      "capabilities": ["answer", "json", "plan"], "context_window": 32768,
      "cost_in_per_1k": 0.0, "cost_out_per_1k": 0.0, "concurrency": 8},
     {"name": "builtin", "kind": "extractive"}]

``kind`` is ``openai`` (any OpenAI-compatible chat-completions server: vLLM, Ollama, llama.cpp's
server, OpenAI) or ``extractive`` (the built-in model: copies cited sentences, needs no server).
The API key, where one is needed, is read (by ``Settings``) from the environment variable named in
``api_key_env``; it never appears in the settings passed to other processes or in logs.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from mesh.retry import RetryPolicy

__all__ = ["Endpoint", "CAPABILITIES", "BUILTIN"]

#: answer: grounded prose with citations; json: output that follows a JSON Schema; plan: task decomposition
CAPABILITIES = ("answer", "json", "plan")


class Endpoint(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    kind: Literal["openai", "extractive"] = "openai"
    base_url: str = ""
    model: str = ""
    api_key_env: str | None = Field(None, description="environment variable holding the API key (read by Settings)")
    api_key: SecretStr | None = Field(None, exclude=True, description="the key itself, from api_key_env")
    capabilities: tuple[Literal["answer", "json", "plan"], ...] = ("answer",)
    context_window: int = Field(8192, ge=256)
    max_output_tokens: int = Field(1024, ge=16, description="the most output tokens a call may ask for")
    cost_in_per_1k: float = Field(0.0, ge=0)
    cost_out_per_1k: float = Field(0.0, ge=0)
    concurrency: int = Field(8, ge=1, description="calls in flight at once, across all executor replicas")
    timeout_s: float = Field(30.0, gt=0)
    roles: tuple[str, ...] = Field((), description="roles that may use it (policy models-open-or-by-role); empty: any")
    retry: RetryPolicy = Field(RetryPolicy(attempts=1), description="tries of one call on this endpoint before "
                               "the executor fails over to the next (default 1: fail over at once)")

    @model_validator(mode="after")
    def _openai_needs_a_server(self) -> Endpoint:
        if self.kind == "openai" and not (self.base_url and self.model):
            raise ValueError(f"endpoint {self.name}: kind openai needs base_url and model")
        return self

    @property
    def model_name(self) -> str:
        return self.model or self.name

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        """US dollars for a call of this size."""
        return (prompt_tokens * self.cost_in_per_1k + completion_tokens * self.cost_out_per_1k) / 1000


BUILTIN = Endpoint(name="builtin", kind="extractive", model="builtin-extractive", context_window=1_000_000,
                   max_output_tokens=1_000_000, concurrency=1000)
