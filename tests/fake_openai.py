"""A real HTTP server on 127.0.0.1 that speaks chat completions and plays a flaky model.

It reads the state from the prompt and writes its reply with the simulated model (right with
probability p; otherwise wrong, malformed or cut at the token limit with finish_reason "length"),
and injects faults on demand: 429 with Retry-After, 500, a dropped connection, a reply slower than
the client's timeout, a body that is not JSON, an empty reply. The engine reaches it through the
real openai SDK; nothing in the SDK is mocked. Counts of what it answered let tests reconcile.

It can also limit like a provider: token buckets of requests and tokens a minute (``rpm``, ``tpm``)
that answer 429 with OpenAI's body and ``retry-after-ms`` / ``retry-after`` headers, optionally
OpenAI's ``x-ratelimit-*`` headers on every chat reply, limits that change while it runs
(:meth:`FakeOpenAIServer.set_limits`), and outages that answer every request 503 for a while
(:meth:`FakeOpenAIServer.outage`, or ``outage_after`` chat requests into a run).
"""

from __future__ import annotations

import json
import math
import random
import socket
import sys
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from engine.models.sampler import estimate_prompt_tokens, estimate_tokens
from engine.models.sim import SimConfig, SimulatedLLM
from engine.models.sim_prompt import read_values
from engine.task.parser import Answer, parse_answer
from tests.answer_forms import DECORATED
from tests.loopback import Loopback


@dataclass
class Faults:
    """Shares of requests answered with each fault instead of a completion."""

    rate_limited: float = 0.0
    server_error: float = 0.0
    reset: float = 0.0
    slow: float = 0.0
    garbage: float = 0.0
    empty: float = 0.0
    stream: float = 0.0
    """An SSE stream (``text/event-stream``) sent to a request that did not ask for one."""
    empty_cut: float = 0.0
    """``content: ""`` with ``finish_reason: "length"``: a reasoning model that spent its tokens thinking."""
    tool_calls: float = 0.0
    """No content, a tool call in its place."""
    huge: float = 0.0
    """A reply of a megabyte whose usage claims ten tokens."""
    slow_s: float = 3.0
    retry_after_s: float = 0.05


_UNCHANGED: Any = object()
"""What :meth:`FakeOpenAIServer.set_limits` takes for a limit it leaves as it is."""

_EPSILON = 1e-9
"""Slack in bucket arithmetic, so that a client that waits exactly the time it was told finds its token."""


def openai_duration(seconds: float) -> str:
    """A duration as OpenAI writes it in ``x-ratelimit-reset-*`` headers and 429 messages (Go's
    format): ``"120ms"`` under a second, else ``"1s"``, ``"1.5s"``, ``"6m0s"``, ``"1m30.5s"``,
    ``"1h2m3s"``. Rounded up to the millisecond, so that waiting that long is enough."""
    ms = max(0, math.ceil(seconds * 1000 - _EPSILON))
    if ms == 0:
        return "0s"
    if ms < 1000:
        return f"{ms}ms"
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    secs = f"{ms // 1000}.{ms % 1000:03d}".rstrip("0").rstrip(".") + "s"
    if hours:
        return f"{hours}h{minutes}m{secs}"
    if minutes:
        return f"{minutes}m{secs}"
    return secs


class _Bucket:
    """A token bucket of ``limit`` a minute, refilled continuously (limit/60 a second) up to
    ``capacity``; it starts full. A request costs ``cost`` and needs ``min(cost, capacity)`` in the
    bucket, so one costlier than the whole bucket passes when the bucket is full and leaves it in
    debt (the capacity is in effect at least one request's cost, and the long-run rate stays
    ``limit``)."""

    def __init__(self, limit: float, capacity: float, now: float) -> None:
        self.limit = limit
        self.capacity = capacity
        self.level = capacity
        self.at = now

    def refill(self, now: float) -> None:
        if now > self.at:
            self.level = min(self.capacity, self.level + (now - self.at) * self.limit / 60)
            self.at = now

    def has(self, cost: float) -> bool:
        return self.level >= min(cost, self.capacity) - _EPSILON

    def wait(self, cost: float) -> float:
        """Seconds until the bucket holds enough for ``cost`` (0 if it does now)."""
        return max(0.0, min(cost, self.capacity) - self.level) * 60 / self.limit

    def take(self, cost: float) -> None:
        self.level -= cost

    def remaining(self) -> int:
        """Whole tokens in the bucket."""
        return max(0, math.floor(self.level + _EPSILON))

    def reset(self) -> float:
        """Seconds until the bucket is full again."""
        return max(0.0, self.capacity - self.level) * 60 / self.limit

    def used(self) -> int:
        """The limit less what remains (for 429 messages; consistent with the remaining header)."""
        return max(0, int(self.limit) - self.remaining())

    def resize(self, limit: float, capacity: float) -> None:
        """A new limit; the tokens in the bucket stay, clamped to the new capacity."""
        self.limit = limit
        self.capacity = capacity
        self.level = min(self.level, capacity)


class FakeOpenAIServer(Loopback):
    """Start with :meth:`start` (returns the base URL), stop with :meth:`stop` or a ``with`` block.

    Limits: ``rpm`` requests and ``tpm`` tokens a minute, each a token bucket refilled continuously
    at a sixtieth of the limit a second, that starts full and holds ``burst`` requests (default one
    second's worth, at least 1) and ``tpm_burst`` tokens (default one second's worth; a request
    costlier than that passes when the bucket is full). A chat request costs one request and its
    prompt tokens (estimated) plus its ``max_tokens`` (or ``max_completion_tokens``, else 4096). One
    that finds a bucket short takes nothing and is answered 429 as OpenAI does, with
    ``retry-after-ms`` and ``retry-after`` (counted in ``counts["limited"]``); one that passes is
    counted in ``counts["accepted"]`` and ``accepted_times`` and then served as usual, faults
    included. With ``rate_headers``, every chat reply that reached the buckets carries
    ``x-ratelimit-{limit,remaining,reset}-{requests,tokens}`` for each limit that is set.

    Outages: :meth:`outage`, or ``outage_after`` chat requests into the run for ``outage_s``
    seconds, during which every request is answered ``outage_status`` (counted in
    ``counts["outage"]``).
    """

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
        rpm: int | None = None,
        tpm: int | None = None,
        burst: float | None = None,
        tpm_burst: float | None = None,
        rate_headers: bool = False,
        outage_after: int | None = None,
        outage_s: float = 0.0,
        outage_status: int = 503,
        tls: tuple[str, str] | None = None,
    ) -> None:
        super().__init__(tls)
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
        self._rng = random.Random(seed)
        self.rpm: int | None = None
        """Requests a minute (None: no limit). Change it with :meth:`set_limits`."""
        self.tpm: int | None = None
        """Tokens a minute (None: no limit). Change it with :meth:`set_limits`."""
        self.burst = burst
        """Requests the request bucket holds (None: one second's worth, at least 1)."""
        self.tpm_burst = tpm_burst
        """Tokens the token bucket holds (None: one second's worth)."""
        self.rate_headers = rate_headers
        """Send OpenAI's x-ratelimit-* headers on every chat reply."""
        self.accepted_times: list[float] = []
        """When each request that passed the buckets arrived (time.monotonic), while a limit was set."""
        self._requests_bucket: _Bucket | None = None
        self._tokens_bucket: _Bucket | None = None
        self.set_limits(rpm=rpm, tpm=tpm)
        self.outage_after = outage_after
        """Chat requests after which an outage of ``outage_s`` seconds starts (None: never)."""
        self.outage_s = outage_s
        self.outage_status = outage_status
        self.outage_started_at: float | None = None
        """When the last outage started (time.monotonic), or None."""
        self.outage_ended_at: float | None = None
        """When the last outage ends or ended (time.monotonic; set when it starts), or None."""
        self._outage_until = 0.0
        self._outage_code = outage_status
        self._outage_fired = False

    def set_limits(
        self,
        *,
        rpm: int | None = _UNCHANGED,
        tpm: int | None = _UNCHANGED,
        burst: float | None = _UNCHANGED,
        tpm_burst: float | None = _UNCHANGED,
    ) -> None:
        """Change limits, also while the server runs; a limit not named stays, None removes one.
        A bucket keeps its tokens, clamped to its new capacity; a limit that was not set starts
        with a full bucket."""
        now = time.monotonic()
        with self._lock:
            if burst is not _UNCHANGED:
                self.burst = burst
            if tpm_burst is not _UNCHANGED:
                self.tpm_burst = tpm_burst
            if rpm is not _UNCHANGED:
                self.rpm = rpm
            if tpm is not _UNCHANGED:
                self.tpm = tpm
            self._requests_bucket = self._rebucket(self._requests_bucket, self.rpm, self.burst, 1.0, now)
            self._tokens_bucket = self._rebucket(self._tokens_bucket, self.tpm, self.tpm_burst, 0.0, now)

    @staticmethod
    def _rebucket(bucket: _Bucket | None, limit: int | None, capacity: float | None, least: float,
                  now: float) -> _Bucket | None:
        if not limit:
            return None
        if capacity is None:
            capacity = max(least, limit / 60)
        if bucket is None:
            return _Bucket(limit, capacity, now)
        bucket.refill(now)
        bucket.resize(limit, capacity)
        return bucket

    def outage(self, seconds: float, status: int = 503) -> None:
        """From now, for ``seconds``, answer every request (chat and GET alike) ``status`` with an
        OpenAI-style error body."""
        now = time.monotonic()
        with self._lock:
            self._start_outage(now, seconds, status)

    def _start_outage(self, now: float, seconds: float, status: int) -> None:
        self._outage_until = now + seconds
        self._outage_code = status
        self.outage_started_at = now
        self.outage_ended_at = now + seconds

    def _down(self, now: float) -> int | None:
        """The status of the outage in progress, or None (call with the lock held)."""
        return self._outage_code if now < self._outage_until else None

    @staticmethod
    def _cost(body: dict[str, Any]) -> int:
        """Tokens a request costs against ``tpm``: its prompt (estimated) and the most it may generate."""
        messages = body["messages"]
        try:
            prompt = estimate_prompt_tokens(messages)
        except (KeyError, TypeError):
            prompt = estimate_tokens(json.dumps(messages))
        return prompt + FakeOpenAIServer._limit(body)

    def _admit(self, body: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, str]]:
        """Take a request's cost from each bucket, or nothing if one is short. Returns the 429 body
        (None if the request passed) and the headers its reply carries."""
        if self._requests_bucket is None and self._tokens_bucket is None:
            return None, {}
        cost = self._cost(body)
        now = time.monotonic()
        with self._lock:
            charges = [(bucket, need, kind) for bucket, need, kind in (
                (self._requests_bucket, 1, "requests"), (self._tokens_bucket, cost, "tokens")) if bucket is not None]
            for bucket, _, _ in charges:
                bucket.refill(now)
            short = [(bucket, need, kind) for bucket, need, kind in charges if not bucket.has(need)]
            if short:
                self.counts["limited"] += 1
                wait = max(bucket.wait(need) for bucket, need, _ in short)
                bucket, need, kind = short[0]
                unit = "RPM" if kind == "requests" else "TPM"
                message = (f"Rate limit reached for {kind} per min ({unit}): Limit {int(bucket.limit)}, "
                           f"Used {bucket.used()}, Requested {need}. Please try again in {openai_duration(wait)}.")
                error: dict[str, Any] | None = {"error": {"message": message, "type": kind, "param": None,
                                                          "code": "rate_limit_exceeded"}}
                ms = max(1, math.ceil(wait * 1000 - _EPSILON))
                headers = {"retry-after-ms": str(ms), "retry-after": str(max(1, math.ceil(ms / 1000)))}
            else:
                for bucket, need, _ in charges:
                    bucket.take(need)
                self.counts["accepted"] += 1
                self.accepted_times.append(now)
                error, headers = None, {}
            if self.rate_headers:
                for bucket, _, kind in charges:
                    headers[f"x-ratelimit-limit-{kind}"] = str(int(bucket.limit))
                    headers[f"x-ratelimit-remaining-{kind}"] = str(bucket.remaining())
                    headers[f"x-ratelimit-reset-{kind}"] = openai_duration(bucket.reset())
        return error, headers

    @property
    def base_url(self) -> str:
        return self.address + "/v1"

    def start(self) -> str:
        if self.outage_after == 0 and not self._outage_fired:
            self._outage_fired = True
            self.outage(self.outage_s, self.outage_status)
        self._serve(_QuietServer, type("Handler", (_Handler,), {"fake": self}), "fake-openai")
        return self.base_url

    def kill(self) -> None:
        """Die as a crashed server does: stop listening and drop every open connection, requests
        in progress included."""
        self.dead = True
        self.drop_connections()
        self.stop()

    def _draw_fault(self) -> str | None:
        faults = self.faults
        with self._lock:
            draw = self._rng.random()
        edge = 0.0
        for kind in ("rate_limited", "server_error", "reset", "slow", "garbage", "empty", "stream", "empty_cut",
                     "tool_calls", "huge"):
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
    _extra: dict[str, str]
    """Headers every reply to the current request carries (the rate limit's); replaced, never changed."""

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this, Nagle's algorithm meets the
        # client's delayed ACK and every reply waits an extra 40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._extra = {}
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

    def _send_stream(self, body: dict[str, Any]) -> None:
        """The reply as server-sent events, though the request did not ask for a stream."""
        chunk = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()),
                 "model": body.get("model", "flaky-model"),
                 "choices": [{"index": 0, "delta": {"content": "move = [1, 0, 2]"}, "finish_reason": None}]}
        data = f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in {**self._extra, **(headers or {})}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _send_outage(self, status: int) -> None:
        with self.fake._lock:
            self.fake.counts["outage"] += 1
        self._send_json(status, {"error": {"message": "The server is overloaded or not ready yet.",
                                           "type": "server_error"}})

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
        self._extra = {}
        with self.fake._lock:
            down = self.fake._down(time.monotonic())
        if down is not None:
            self._send_outage(down)
            return
        if not self._authorised():
            return
        with self.fake._lock:
            self.fake.counts["models"] += 1
        self._send_json(200, {"object": "list", "data": [{"id": "flaky-model", "object": "model"}]})

    def do_POST(self) -> None:  # noqa: N802
        fake = self.fake
        self._extra = {}
        with fake._lock:
            now = time.monotonic()
            fake.active += 1
            fake.started += 1
            fake.request_times.append(now)
            fake.most_active = max(fake.most_active, fake.active)
            down = fake._down(now)
            if fake.started == fake.outage_after and not fake._outage_fired:
                fake._outage_fired = True
                fake._start_outage(now, fake.outage_s, fake.outage_status)
        try:
            self._chat(down)
        finally:
            with fake._lock:
                fake.active -= 1

    def _chat(self, down: int | None = None) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            body = {}
        if down is not None:
            self._send_outage(down)
            return
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
        limited, self._extra = fake._admit(body)
        if limited is not None:
            self._send_json(429, limited)
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
            for name, value in self._extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
            return
        if fault == "stream":
            self._send_stream(body)
            return
        text, finish, tokens_in, tokens_out = fake._reply(body)
        message: dict[str, Any] = {"role": "assistant", "content": text}
        if fault == "empty":
            text, finish = "", "stop"
            message["content"] = ""
        elif fault == "empty_cut":
            message["content"], finish, tokens_out = "", "length", self.fake._limit(body)
        elif fault == "tool_calls":
            message["content"], finish = None, "tool_calls"
            message["tool_calls"] = [{"id": "call_1", "type": "function",
                                      "function": {"name": "move_disk", "arguments": '{"disk": 1}'}}]
        elif fault == "huge":
            message["content"], tokens_out = text + "\nmove = [1, 0, 2]" * 60_000, 10
        payload: dict[str, Any] = {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "flaky-model"),
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
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
        if fault not in ("empty", "slow", "empty_cut", "tool_calls", "huge"):
            with fake._lock:
                fake.counts["completions"] += 1
                fake.last_reply_at = time.monotonic()
        elif fault == "slow":
            with fake._lock:
                fake.counts["slow_answered"] += 1
