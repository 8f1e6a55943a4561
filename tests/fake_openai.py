"""A real HTTP server on 127.0.0.1 that speaks chat completions and plays a flaky model.

It reads the state from the prompt and writes its reply with the simulated model (right with
probability p; otherwise wrong, malformed or cut at the token limit with finish_reason "length"),
and injects faults on demand: 429 with Retry-After, 500, a dropped connection, a reply slower than
the client's timeout, a body that is not JSON, an empty reply. The engine reaches it through the
real openai SDK; nothing in the SDK is mocked. Counts of what it answered let tests reconcile.
"""

from __future__ import annotations

import json
import random
import socket
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from engine.models.sampler import estimate_tokens
from engine.models.sim import SimConfig, SimulatedLLM
from engine.models.sim_prompt import read_values
from engine.task.parser import Answer, parse_answer
from tests.answer_forms import DECORATED


@dataclass
class Faults:
    """Shares of requests answered with each fault instead of a completion."""

    rate_limited: float = 0.0
    server_error: float = 0.0
    reset: float = 0.0
    slow: float = 0.0
    garbage: float = 0.0
    empty: float = 0.0
    slow_s: float = 3.0
    retry_after_s: float = 0.05


class FakeOpenAIServer:
    """Start with :meth:`start` (returns the base URL), stop with :meth:`stop` or a ``with`` block."""

    def __init__(
        self,
        sim: SimConfig | None = None,
        faults: Faults | None = None,
        *,
        delay_s: float = 0.0,
        seed: int = 0,
        api_key: str | None = None,
        reject_temperature: bool = False,
        omit_usage: bool = False,
        omit_prompt_tokens: bool = False,
        decorate: bool = False,
    ) -> None:
        self.model = SimulatedLLM(sim or SimConfig(error_rate=0.0))
        self.faults = faults or Faults()
        self.delay_s = delay_s
        self.api_key = api_key
        self.reject_temperature = reject_temperature
        self.omit_usage = omit_usage
        self.omit_prompt_tokens = omit_prompt_tokens
        self.decorate = decorate
        """Write each well-formed answer in the next of the decorated forms of tests/answer_forms.py."""
        self.forms_used: Counter[str] = Counter()
        self.last_reply_at = 0.0
        """When the last completion went out (time.monotonic)."""
        self.counts: Counter[str] = Counter()
        self.keys_seen: set[str] = set()
        self.active = 0
        self.started = 0
        """Chat requests received so far."""
        self.most_active = 0
        """The most chat requests the server held at once."""
        self.requests: list[dict[str, Any]] = []
        self.request_times: list[float] = []
        """When each chat request arrived (time.monotonic)."""
        self.dead = False
        self._connections: set[socket.socket] = set()
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> FakeOpenAIServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> str:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = _QuietServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-openai", daemon=True)
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def kill(self) -> None:
        """Die as a crashed server does: stop listening and drop every open connection, requests
        in progress included."""
        self.dead = True
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.stop()

    def _draw_fault(self) -> str | None:
        faults = self.faults
        with self._lock:
            draw = self._rng.random()
        edge = 0.0
        for kind in ("rate_limited", "server_error", "reset", "slow", "garbage", "empty"):
            edge += getattr(faults, kind)
            if draw < edge:
                return kind
        return None

    def _reply(self, body: dict[str, Any]) -> tuple[str, str, int, int]:
        with self._lock:
            completion = self.model.complete_now(body["messages"], body.get("temperature", 1.0), self._limit(body))
            text, tokens_out = completion.text, completion.tokens_out
            if self.decorate and completion.finish_reason == "stop":
                text = self._decorated(text, body["messages"][-1]["content"])
                tokens_out = estimate_tokens(text)
        return text, completion.finish_reason or "stop", completion.tokens_in, tokens_out

    def _decorated(self, text: str, prompt: str) -> str:
        """The reply with its answer in the next decorated form (a malformed reply stays as it is)."""
        reasoning, _, _ = text.partition("\n")
        state = read_values(prompt)[0]
        disks = sum(len(peg) for peg in state) if state else 0
        answer = parse_answer(text, disks) if disks else None
        if not isinstance(answer, Answer):
            return text
        name = list(DECORATED)[sum(self.forms_used.values()) % len(DECORATED)]
        self.forms_used[name] += 1
        return f"{reasoning}\n{DECORATED[name](*answer)}"

    @staticmethod
    def _limit(body: dict[str, Any]) -> int:
        return int(body.get("max_tokens") or body.get("max_completion_tokens") or 4096)


class _QuietServer(ThreadingHTTPServer):
    request_queue_size = 1024  # a busy client opens hundreds of connections at once
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A connection the client dropped, or a killed server's, is not worth a traceback."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    fake: FakeOpenAIServer
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this, Nagle's algorithm meets the
        # client's delayed ACK and every reply waits an extra 40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.fake._lock:
            self.fake._connections.add(self.connection)

    def finish(self) -> None:
        with self.fake._lock:
            self.fake._connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass  # the connection was dropped (a killed server)

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _authorised(self) -> bool:
        header = self.headers.get("Authorization", "")
        key = header.removeprefix("Bearer ").strip()
        with self.fake._lock:
            self.fake.keys_seen.add(key)
        if self.fake.api_key is not None and key != self.fake.api_key:
            with self.fake._lock:
                self.fake.counts["unauthorized"] += 1
            self._send_json(401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}})
            return False
        return True

    def do_GET(self) -> None:  # noqa: N802
        if not self._authorised():
            return
        with self.fake._lock:
            self.fake.counts["models"] += 1
        self._send_json(200, {"object": "list", "data": [{"id": "flaky-model", "object": "model"}]})

    def do_POST(self) -> None:  # noqa: N802
        fake = self.fake
        with fake._lock:
            fake.active += 1
            fake.started += 1
            fake.request_times.append(time.monotonic())
            fake.most_active = max(fake.most_active, fake.active)
        try:
            self._chat()
        finally:
            with fake._lock:
                fake.active -= 1

    def _chat(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            body = {}
        if not self._authorised():
            return
        if not isinstance(body.get("messages"), list):
            self._send_json(400, {"error": {"message": "messages is required", "type": "invalid_request_error"}})
            return
        fake = self.fake
        with fake._lock:
            fake.requests.append({key: value for key, value in body.items() if key != "messages"})
        if fake.reject_temperature and "temperature" in body:
            with fake._lock:
                fake.counts["rejected"] += 1
            self._send_json(400, {"error": {"message": "Unsupported parameter: 'temperature' is not supported "
                                            "with this model.", "type": "invalid_request_error"}})
            return
        fault = fake._draw_fault()
        if fake.delay_s:
            time.sleep(fake.delay_s)
        if fake.dead:
            self.close_connection = True
            return
        if fault is not None:
            with fake._lock:
                fake.counts[fault] += 1
        if fault == "rate_limited":
            self._send_json(429, {"error": {"message": "Rate limit reached", "type": "requests"}},
                            {"Retry-After": str(fake.faults.retry_after_s)})
            return
        if fault == "server_error":
            self._send_json(500, {"error": {"message": "The server had an error", "type": "server_error"}},
                            {"Retry-After": str(fake.faults.retry_after_s)})
            return
        if fault == "reset":
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        if fault == "slow":
            time.sleep(fake.faults.slow_s)
        if fault == "garbage":
            data = b"{this is not json"
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        text, finish, tokens_in, tokens_out = fake._reply(body)
        if fault == "empty":
            text, finish = "", "stop"
        payload: dict[str, Any] = {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "flaky-model"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}],
        }
        if not fake.omit_usage:
            payload["usage"] = {"prompt_tokens": tokens_in, "completion_tokens": tokens_out,
                                "total_tokens": tokens_in + tokens_out}
            if fake.omit_prompt_tokens:  # some servers count only what they generate
                del payload["usage"]["prompt_tokens"]
                payload["usage"]["total_tokens"] = tokens_out
        try:
            self._send_json(200, payload)
        except (BrokenPipeError, ConnectionResetError):
            return  # the client gave up (a timeout, or a step decided without it)
        if fault != "empty" and fault != "slow":
            with fake._lock:
                fake.counts["completions"] += 1
                fake.last_reply_at = time.monotonic()
        elif fault == "slow":
            with fake._lock:
                fake.counts["slow_answered"] += 1
