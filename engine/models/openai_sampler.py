"""Real models through the ``openai`` SDK: OpenAI itself or any OpenAI-compatible server, or a
fleet of them.

Each request is one chat completion. The SDK makes one attempt at a time (its own retries are
off): whether, when and where to try again is the wire's call (:mod:`engine.models.wire`), which
paces the requests to the provider's limit, waits out outages and counts every fault. Here each
attempt's outcome is sorted: a reply, a fault a retry may mend (:class:`~engine.models.wire.Fault`:
429, 5xx, a timeout, a dropped connection, a body that is not a chat completion), or a fault
no retry can mend (a refused key, an unknown model, a parameter the model rejects), which stops
the run with one clear line. Nothing but a reply is ever a vote or a red flag.

The HTTP clients are httpx's, as the SDK makes them: they honour ``HTTPS_PROXY``, ``HTTP_PROXY``,
``ALL_PROXY`` and ``NO_PROXY`` as httpx does, and ``proxy`` (``--proxy``) overrides them.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping, Sequence
from email.utils import parsedate_to_datetime
from typing import Any

import httpx2
import openai
from openai.types import CompletionUsage
from openai.types.chat import ChatCompletion

from engine.models.faults import Fault
from engine.models.fleet import Server
from engine.models.sampler import (
    Completion,
    ModelAuthError,
    ModelRequestError,
    ModelUnreachable,
    WireReport,
    estimate_prompt_tokens,
    estimate_tokens,
)
from engine.models.urls import host_of, without_credentials
from engine.models.wire import Wire
from engine.task.prompt import Message

OPENAI_URL = "https://api.openai.com/v1"
POOL_CONNECTIONS = 8
"""Connections one HTTP client keeps. httpcore looks at every connection of a pool on every
request, so one pool of hundreds costs milliseconds of CPU a request; several small ones (a client
each) cost a few microseconds."""
PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")
RETRIED_STATUS = (408, 409)
"""Statuses below 500 that say "try again" (a request timeout, a conflict), as the SDK treats them."""


class OpenAISampler:
    """One chat completion per sample, through ``openai.AsyncOpenAI``. A :class:`Sampler`.

    ``base_urls`` are the servers (several: a fleet; none: OpenAI). ``concurrency``, ``rpm``,
    ``tpm`` and ``patience_s`` go to the wire; ``max_retries`` bounds the retries of a reply that
    cannot be read. A request is abandoned when its task is cancelled (a step decided without it,
    or a stop), wherever it is.
    """

    completes_without_waiting = False

    def __init__(
        self,
        model: str,
        *,
        api_key: str,
        base_urls: Sequence[str] = (),
        concurrency: int = 16,
        rpm: int | None = None,
        tpm: int | None = None,
        timeout_s: float = 60.0,
        max_retries: int = 8,
        patience_s: float = 600.0,
        hedging: bool = True,
        proxy: str | None = None,
        send_temperature: bool = True,
        token_parameter: str = "max_tokens",
        key_source: str = "OPENAI_API_KEY",
    ) -> None:
        self.name = model
        self.usage_estimated = 0
        """Replies without token counts (or without some of them), estimated from the text."""
        self.send_temperature = send_temperature
        self.token_parameter = token_parameter
        self._key_source = key_source
        self._concurrency = concurrency
        self._timeout_s = timeout_s
        self._proxy = proxy
        self.wire = Wire(list(base_urls) or [OPENAI_URL], concurrency=concurrency, rpm=rpm, tpm=tpm,
                         patience_s=patience_s, bad_reply_retries=max_retries, hedging=hedging)
        tls = httpx2.create_ssl_context()  # one for all: each takes milliseconds to make
        keep = httpx2.Limits(max_connections=None, max_keepalive_connections=POOL_CONNECTIONS, keepalive_expiry=30.0)
        pools = max(1, -(-concurrency // POOL_CONNECTIONS))
        self._clients = [
            [
                openai.AsyncOpenAI(
                    api_key=api_key, base_url=server.url, timeout=timeout_s, max_retries=0,
                    http_client=openai.DefaultAsyncHttpxClient(limits=keep, verify=tls, proxy=proxy),
                )
                for _ in range(pools)
            ]
            for server in self.wire.fleet.servers
        ]
        self._turns = [0] * len(self._clients)
        self.base_url = self.wire.fleet.servers[0].url
        """The first server's address (a fleet's others are in ``wire.fleet``)."""

    def settings(self) -> dict[str, Any]:
        """What a recording keeps to rebuild this sampler (never the key, only where it came from;
        never a proxy, which belongs to the machine and may hold a password)."""
        return {
            "kind": "openai",
            "model": self.name,
            "base_urls": [without_credentials(server.url) for server in self.wire.fleet.servers],
            "concurrency": self._concurrency,
            "rpm": self.wire.ceiling_rpm,
            "tpm": None if math.isinf(self.wire.tokens.ceiling) else round(self.wire.tokens.ceiling * 60),
            "timeout_s": self._timeout_s,
            "patience_s": self.wire.patience_s,
            "max_retries": self.wire.bad_reply_retries,
            "hedging": self.wire.hedging,
            "send_temperature": self.send_temperature,
            "token_parameter": self.token_parameter,
            "api_key_env": self._key_source,
        }

    @property
    def hedging(self) -> bool:
        """Whether slow requests of the oldest step are raced by a second (see the protocol)."""
        return self.wire.hedging

    @hedging.setter
    def hedging(self, on: bool) -> None:
        self.wire.hedging = on

    def wire_report(self) -> WireReport:
        return self.wire.report()

    async def start(self) -> None:
        """Fail fast when a server cannot be reached or refuses the key, before any step."""
        for server, clients in zip(self.wire.fleet.servers, self._clients, strict=True):
            probe = clients[0].with_options(timeout=min(10.0, self._timeout_s))
            try:
                await probe.models.list()
            except openai.APIConnectionError as exc:
                raise ModelUnreachable(f"cannot reach the model server at {server.url}{self._proxy_note()}: "
                                       f"{_cause(exc)}") from None
            except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
                raise self._refused(server.url, exc) from None
            except (openai.APIStatusError, openai.APIResponseValidationError, ValueError):
                pass  # it answered: many compatible servers have no /models, which is fine

    async def complete(
        self, messages: Sequence[Message], temperature: float, max_tokens: int, sample: tuple[int, int] | None = None
    ) -> Completion:
        """One reply, however many attempts it takes (``sample`` orders the requests waiting for
        their turn: the oldest step's first)."""
        request: dict[str, Any] = {
            "model": self.name,
            "messages": list(messages),
            "n": 1,
            self.token_parameter: max_tokens,
        }
        if self.send_temperature:
            request["temperature"] = temperature
        tokens = estimate_prompt_tokens(messages) + max_tokens

        async def attempt(server: Server) -> Completion:
            return await self._attempt(server, request, messages)

        return await self.wire.send(attempt, key=sample if sample is not None else (math.inf,), tokens=tokens)

    async def _attempt(self, server: Server, request: dict[str, Any], messages: Sequence[Message]) -> Completion:
        """One HTTP attempt at ``server``: a reply, or the fault it met."""
        clients = self._clients[server.index]
        turn = self._turns[server.index] = (self._turns[server.index] + 1) % len(clients)
        started = time.monotonic()
        try:
            raw = await clients[turn].chat.completions.with_raw_response.create(**request)
        except openai.APITimeoutError:
            raise Fault("timeout", f"no reply within {self._timeout_s:g} s; a server that answers one request at a "
                                   "time (llama.cpp's) needs --concurrency 1, or give a longer --timeout") from None
        except openai.APIConnectionError as exc:
            raise Fault("connection", _cause(exc)) from None
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            raise self._refused(server.url, exc) from None
        except openai.NotFoundError as exc:
            raise ModelRequestError(f"no model {self.name!r} at {host_of(server.url)}: {_detail(exc)}") from None
        except openai.BadRequestError as exc:
            raise ModelRequestError(_bad_request_hint(_detail(exc))) from None
        except openai.APIStatusError as exc:
            status, headers = exc.status_code, exc.response.headers
            if status == 429 and _code(exc) == "insufficient_quota":  # no credit left: no wait mends that
                raise ModelRequestError(f"the provider refused for want of credit (429 insufficient_quota): "
                                        f"{_detail(exc)}") from None
            if status == 429:
                raise Fault("rate_limited", _detail(exc), status=status, retry_after_s=retry_after(headers),
                            headers=headers) from None
            if status >= 500 or status in RETRIED_STATUS:
                raise Fault("server_error", _detail(exc), status=status, retry_after_s=retry_after(headers)) from None
            raise ModelRequestError(f"the model server answered {status}: {_detail(exc)}") from None
        except (openai.APIResponseValidationError, ValueError) as exc:
            raise Fault("bad_body", _brief(exc)) from None
        latency = time.monotonic() - started
        self.wire.heard(raw.headers)
        try:
            response = raw.parse()
        except (openai.APIResponseValidationError, ValueError, TypeError) as exc:
            raise Fault("bad_body", _brief(exc)) from None
        if not isinstance(response, ChatCompletion):
            raise Fault("bad_body", f"not a chat completion ({type(response).__name__})")
        if not response.choices:
            raise Fault("bad_body", "a chat completion without a choice")
        choice = response.choices[0]
        # No text (an empty message, tool calls in its place) is the model's answer all the same:
        # the parser red-flags it, empty or, when cut at the token limit, too long.
        text = (choice.message.content if choice.message else None) or ""
        tokens_in, tokens_out = self._usage(response.usage, messages, text)
        return Completion(text, choice.finish_reason, tokens_in, tokens_out, latency)

    def _usage(self, usage: CompletionUsage | None, messages: Sequence[Message], text: str) -> tuple[int, int]:
        """Input and output tokens as the server counted them; a count it left out is estimated
        from the text (never taken as zero, which would undercount cost and budget)."""
        tokens_in = usage.prompt_tokens if usage is not None else None
        tokens_out = usage.completion_tokens if usage is not None else None
        if not tokens_in or tokens_out is None:
            self.usage_estimated += 1
        return (
            tokens_in if tokens_in else estimate_prompt_tokens(messages),
            tokens_out if tokens_out is not None else estimate_tokens(text),
        )

    def complete_now(
        self, messages: Sequence[Message], temperature: float, max_tokens: int, sample: tuple[int, int] | None = None
    ) -> Completion:
        """Never called: a served model's replies are awaited (``completes_without_waiting`` is false)."""
        raise NotImplementedError("a served model's replies are awaited with complete()")

    async def close(self) -> None:
        for clients in self._clients:
            for client in clients:
                await client.close()

    def _proxy_note(self) -> str:
        """Where requests went through, when not straight to the server: a proxy may be why."""
        if self._proxy is not None:
            return f" through the proxy at {host_of(self._proxy)} (--proxy)"
        named = [name for name in PROXY_VARIABLES if os.environ.get(name)]
        return f" (through the proxy in ${', $'.join(named)}, unless $NO_PROXY names the server)" if named else ""

    def _refused(self, url: str, exc: openai.APIStatusError) -> ModelAuthError:
        return ModelAuthError(
            f"the server at {host_of(url)} refused the API key from ${self._key_source} ({exc.status_code})"
        )


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds a server asks to wait, from ``retry-after-ms`` or ``retry-after`` (seconds or an
    HTTP date); None when it says nothing usable. (The SDK reads them too, but privately.)"""
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) * scale
        except ValueError:
            try:
                seconds = parsedate_to_datetime(value).timestamp() - time.time()
            except (TypeError, ValueError):
                continue
        if math.isfinite(seconds):
            return max(0.0, seconds)
    return None


def _brief(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return text[:200] or type(exc).__name__


def _cause(exc: BaseException) -> str:
    cause = exc.__cause__ or exc.__context__
    return str(cause or exc).strip() or type(cause or exc).__name__


def _detail(exc: openai.APIStatusError) -> str:
    """The server's own words about an error, wherever in the body it put them."""
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if body.get("message"):
            return str(body["message"])
    return str(exc.message)


def _code(exc: openai.APIStatusError) -> str | None:
    """The error's machine-readable code (OpenAI's ``error.code``), when the body has one."""
    body = exc.body
    error = body.get("error") if isinstance(body, dict) else None
    code = (error.get("code") if isinstance(error, dict) else None) or (body.get("code") if isinstance(body, dict) else None)
    return str(code) if code else None


def _bad_request_hint(detail: str) -> str:
    lowered = detail.lower()
    if "temperature" in lowered:
        return f"the model rejected the temperature ({detail}); reasoning models need --no-temperature"
    if "max_tokens" in lowered or "max_completion_tokens" in lowered:
        return f"the model rejected max_tokens ({detail}); try --token-param max_completion_tokens"
    return f"the model server rejected the request: {detail}"
