"""A small OpenAI-compatible chat-completions server for the tests, which can be told to misbehave.

It answers ``POST /v1/chat/completions`` like a real server: from the context in the prompt it
copies the first sentence of passage ``[1]`` and cites it, and it reports token usage counted
by its own (whitespace) tokenizer. Each model it serves has a queue of behaviours the test sets
(``script``); when the queue is empty it behaves well. Behaviours:

- ``ok``: a grounded answer;
- ``error``: HTTP 500;
- ``timeout``: waits ``delay`` seconds (longer than the endpoint's timeout) before answering;
- ``slow``: answers after ``delay`` seconds;
- ``length``: when ``max_tokens`` is below ``needs``, the answer cut short with ``finish_reason: length``;
- ``unsupported``: the grounded answer plus a sentence no passage supports;
- ``raw``: returns ``text`` as the message content (JSON answers, plans);
- ``cut_body``: the HTTP body stops half way;
- ``no_usage``: a good answer without a ``usage`` object.

Besides scripts, ``faults(...)`` makes unscripted calls misbehave at random, in given shares
(server errors, timeouts, truncated outputs, multi-second stalls): the chaos benchmark's endpoint.

Every call is recorded (model, question, max_tokens, the usage reported, the ``Idempotency-Key``
header) so tests can count executions and compare the mesh's accounting with what the server said.
The server also counts the calls open at once (``open_calls``): the concurrency the mesh reached.

``ModelServer(idempotent=True)`` behaves like a gateway that honours ``Idempotency-Key`` (as
OpenAI-compatible gateways and payment APIs do): a key it has answered before gets the same
answer again without generating (recorded with behaviour ``replayed``). That is the one way a
call whose caller died before recording the answer is not generated, and charged, twice.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["ModelServer", "Behaviour", "Call"]

UNSUPPORTED = "The moon is made of green cheese according to ancient archives."


@dataclass(frozen=True)
class Behaviour:
    kind: str = "ok"
    delay: float = 0.0
    needs: int = 0
    text: str = ""


@dataclass
class Call:
    model: str
    question: str
    max_tokens: int
    behaviour: str
    status: int = 200
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str | None = None
    content: str = ""
    authorization: str | None = None
    idempotency_key: str | None = None
    at: float = field(default_factory=time.time)
    prompt: str = ""  # every message's content, as the endpoint received it


def _question(messages: list[dict]) -> str:
    m = re.search(r"Question: (.*?)(?:\n|$)", messages[-1]["content"])
    return m.group(1).strip() if m else messages[-1]["content"][:200]


def _first_passage_sentence(messages: list[dict]) -> str | None:
    m = re.search(r"^\[1\] (?:[^:\n]*: )?(.+?)(?:\n\n|$)", messages[-1]["content"], re.S | re.M)
    if not m:
        return None
    sentence = re.split(r"(?<=[.!?])\s+", m.group(1).strip())[0]
    return sentence if sentence.endswith((".", "!", "?")) else sentence + "."


class ModelServer:
    """Serves every model name; start() binds a free port on localhost."""

    def __init__(self, idempotent: bool = False) -> None:
        self.idempotent = idempotent
        self._answered: dict[str, dict] = {}
        self._scripts: dict[str, deque[Behaviour]] = defaultdict(deque)
        self._faults: list[tuple[float, Behaviour]] = []
        self._rng = random.Random(0)
        self._every, self._unscripted = 0, 0
        self._lock = threading.Lock()
        self.calls: list[Call] = []
        self._open, self._changes = 0, []  # calls open now; (time, calls open from then on)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def start(self) -> ModelServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def script(self, model: str, *behaviours: Behaviour | str) -> None:
        """What ``model`` does on its next calls, in order; afterwards it answers well."""
        with self._lock:
            self._scripts[model].extend(b if isinstance(b, Behaviour) else Behaviour(b) for b in behaviours)

    def reset(self) -> None:
        with self._lock:
            self._scripts.clear()
            self._faults, self._every = [], 0
            self._changes = []

    def faults(self, *, error: float = 0.0, timeout: float = 0.0, truncate: float = 0.0, stall: float = 0.0,
               timeout_s: float = 5.0, stall_s: float = 2.0, seed: int = 0, error_every: int = 0) -> None:
        """Unscripted calls fail at random: HTTP 500, no answer within ``timeout_s``, an answer cut at the
        length limit, or one that comes after ``stall_s``; shares of all calls. ``error_every=n`` fails every
        n-th call instead, never two in a row (so a breaker stays closed). ``faults()`` turns them off."""
        with self._lock:
            self._rng = random.Random(seed)
            self._every, self._unscripted = error_every, 0
            self._faults = [(error, Behaviour("error")), (timeout, Behaviour("timeout", delay=timeout_s)),
                            (truncate, Behaviour("length", needs=1 << 30)), (stall, Behaviour("slow", delay=stall_s))]

    def open_calls(self) -> tuple[int, float]:
        """(most calls open at once, mean calls open over the span from the first call to the last answer)."""
        with self._lock:
            changes = list(self._changes)
        if not changes:
            return 0, 0.0
        area = sum(n * (t1 - t0) for (t0, n), (t1, _) in zip(changes, changes[1:]))
        span = changes[-1][0] - changes[0][0]
        return max(n for _, n in changes), (area / span if span > 0 else float(changes[0][1]))

    def _opened(self, delta: int) -> None:
        with self._lock:
            self._open += delta
            self._changes.append((time.perf_counter(), self._open))

    def calls_for(self, question_contains: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if question_contains in c.question]

    def _next(self, model: str) -> Behaviour:
        with self._lock:
            queue = self._scripts.get(model)
            if queue:
                return queue.popleft()
            self._unscripted += 1
            if self._every and self._unscripted % self._every == 0:
                return Behaviour("error")
            draw = self._rng.random()
            for share, behaviour in self._faults:
                if draw < share:
                    return behaviour
                draw -= share
            return Behaviour()

    def _record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                server._opened(+1)
                try:
                    self._answer()
                finally:
                    server._opened(-1)

            def _answer(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                if not self.path.endswith("/chat/completions"):
                    return self._send(404, {"error": {"message": f"no route {self.path}"}})
                model, messages = body.get("model", ""), body.get("messages", [])
                max_tokens = int(body.get("max_tokens") or 1 << 20)
                key = self.headers.get("Idempotency-Key")
                if server.idempotent and key in server._answered:
                    server._record(Call(model, _question(messages), max_tokens, "replayed", idempotency_key=key))
                    return self._send(200, server._answered[key])
                b = server._next(model)
                call = Call(model, _question(messages), max_tokens, b.kind,
                            authorization=self.headers.get("Authorization"), idempotency_key=key,
                            prompt="\n".join(str(m.get("content", "")) for m in messages))
                if b.kind == "error":
                    call.status = 500
                    server._record(call)
                    return self._send(500, {"error": {"message": "the model fell over"}})
                if b.kind in ("timeout", "slow"):
                    time.sleep(b.delay)
                text, finish = self._content(b, messages, max_tokens)
                prompt_tokens = sum(len(m["content"].split()) for m in messages) + 3 * len(messages)
                completion_tokens = len(text.split())
                call.prompt_tokens, call.completion_tokens, call.finish_reason = prompt_tokens, completion_tokens, finish
                call.content = text
                server._record(call)
                reply = {"id": f"chatcmpl-{len(server.calls)}", "object": "chat.completion", "model": model,
                         "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                      "finish_reason": finish}]}
                if b.kind != "no_usage":
                    reply["usage"] = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                                      "total_tokens": prompt_tokens + completion_tokens}
                if b.kind == "cut_body":
                    raw = json.dumps(reply).encode()
                    return self._raw(200, raw[: len(raw) // 2], len(raw) // 2)
                if server.idempotent and key:
                    server._answered[key] = reply
                self._send(200, reply)

            def _content(self, b: Behaviour, messages: list[dict], max_tokens: int) -> tuple[str, str]:
                if b.kind == "raw":
                    return b.text, "stop"
                sentence = _first_passage_sentence(messages)
                if sentence is None:
                    return "I found no answer in the passages.", "stop"
                answer = f"{sentence} [1]"
                if b.kind == "unsupported":
                    answer += f" {UNSUPPORTED} [1]"
                if b.kind == "length" and max_tokens < b.needs:
                    words = answer.split()
                    return " ".join(words[: max(1, len(words) // 2)]), "length"
                return answer, "stop"

            def _send(self, status: int, payload: dict) -> None:
                raw = json.dumps(payload).encode()
                self._raw(status, raw, len(raw))

            def _raw(self, status: int, raw: bytes, length: int) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(length))
                self.end_headers()
                try:
                    self.wfile.write(raw)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
                    pass

        return Handler
