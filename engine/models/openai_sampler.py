"""Real models through the ``openai`` SDK: OpenAI itself or any OpenAI-compatible server, or a
fleet of them (see :mod:`engine.models.fleet`).

Transport faults (429 with its Retry-After, 5xx, timeouts, dropped connections) are retried by
the SDK's own retry machinery; a counting transport underneath it sees every failed attempt, so
the run can report them by kind. Faults the SDK does not retry because the HTTP exchange itself
worked (a body that is not valid JSON, a reply without content) are retried here. None of them is
ever a vote or a red flag. Faults no retry can mend (a refused key, an unreachable server, a
parameter the model rejects) stop the run with one clear line.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

import openai
from openai.types import CompletionUsage

from engine.models.fleet import PINNED, Fleet, FleetTransport, RateLimits
from engine.models.sampler import (
    Completion,
    ModelAuthError,
    ModelError,
    ModelRequestError,
    ModelUnreachable,
    ServerReport,
    estimate_prompt_tokens,
    estimate_tokens,
)
from engine.models.urls import host_of, without_credentials
from engine.task.prompt import Message

OPENAI_URL = "https://api.openai.com/v1"
TRANSPORT_ERROR_KINDS = ("rate_limited", "server_error", "timeout", "connection", "bad_body", "empty")


class OpenAISampler:
    """One chat completion per sample, through ``openai.AsyncOpenAI``. A :class:`Sampler`.

    ``concurrency`` bounds the requests in flight across the run; a request waiting for its turn
    or in flight is abandoned when its task is cancelled (a step decided without it, or a stop).
    ``base_urls`` are the servers of a fleet (several, or one; none: OpenAI); ``rpm`` and ``tpm``
    cap requests and tokens a minute on this side.
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
        send_temperature: bool = True,
        token_parameter: str = "max_tokens",
        key_source: str = "OPENAI_API_KEY",
    ) -> None:
        self.name = model
        self.transport_errors: Counter[str] = Counter()
        self.usage_estimated = 0
        """Replies without token counts (or without some of them), estimated from the text."""
        self.send_temperature = send_temperature
        self.token_parameter = token_parameter
        self._key_source = key_source
        self._max_retries = max_retries
        self._semaphore = asyncio.Semaphore(concurrency)
        self._concurrency = concurrency
        self._timeout_s = timeout_s
        self.limits = RateLimits(rpm, tpm)
        self.fleet = Fleet(list(base_urls) or [OPENAI_URL])
        http_client = openai.DefaultAsyncHttpxClient(
            transport=FleetTransport(self.fleet, self.limits, self.transport_errors, concurrency)
        )
        self._client = openai.AsyncOpenAI(
            api_key=api_key,
            base_url=self.fleet.servers[0].url,
            timeout=timeout_s,
            max_retries=max_retries,
            http_client=http_client,
        )
        self.base_url = self.fleet.servers[0].url
        """The first server's address (a fleet's others are in :attr:`fleet`)."""

    def settings(self) -> dict[str, Any]:
        """What a recording keeps to rebuild this sampler (never the key, only where it came from)."""
        return {
            "kind": "openai",
            "model": self.name,
            "base_urls": [without_credentials(server.url) for server in self.fleet.servers],
            "concurrency": self._concurrency,
            "rpm": self.limits.rpm,
            "tpm": self.limits.tpm,
            "timeout_s": self._timeout_s,
            "send_temperature": self.send_temperature,
            "token_parameter": self.token_parameter,
            "api_key_env": self._key_source,
        }

    async def start(self) -> None:
        """Fail fast when a server cannot be reached or refuses the key, before any step."""
        probe = self._client.with_options(max_retries=0, timeout=min(10.0, self._timeout_s))
        for server in self.fleet.servers:
            PINNED.set(server)
            try:
                await probe.models.list()
            except openai.APIConnectionError as exc:
                raise ModelUnreachable(f"cannot reach the model server at {server.url}: {_cause(exc)}") from None
            except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
                raise self._refused(server.url, exc) from None
            except openai.APIStatusError:
                pass  # it answered: many compatible servers have no /models, which is fine
            finally:
                PINNED.set(None)

    async def complete(
        self, messages: Sequence[Message], temperature: float, max_tokens: int, sample: tuple[int, int] | None = None
    ) -> Completion:
        """One reply; faults are retried, counted, and never returned as text (``sample`` is not
        needed: a served model's replies are its own)."""
        request: dict[str, Any] = {
            "model": self.name,
            "messages": list(messages),
            "n": 1,
            self.token_parameter: max_tokens,
        }
        if self.send_temperature:
            request["temperature"] = temperature
        tokens = estimate_prompt_tokens(messages) + max_tokens
        async with self._semaphore:
            for attempt in range(self._max_retries + 1):
                await self.limits.tokens(tokens)
                started = time.monotonic()
                try:
                    response = await self._client.chat.completions.create(**request)
                except openai.APIResponseValidationError:
                    kind = "bad_body"
                except openai.APITimeoutError:
                    raise ModelUnreachable(
                        f"{self._where()} gave no reply within {self._timeout_s:g} s, "
                        f"{self._max_retries + 1} {'tries' if self._max_retries else 'try'} in all; "
                        "a server that answers one request at a time (llama.cpp's) needs --concurrency 1, "
                        "or a longer --timeout"
                    ) from None
                except openai.APIConnectionError as exc:
                    raise ModelUnreachable(f"{self._where()} stopped answering: {_cause(exc)}") from None
                except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
                    raise self._refused(str(exc.request.url), exc) from None
                except openai.NotFoundError as exc:
                    raise ModelRequestError(f"no model {self.name!r} at {host_of(self.base_url)}: {_detail(exc)}") from None
                except openai.BadRequestError as exc:
                    raise ModelRequestError(_bad_request_hint(_detail(exc))) from None
                except openai.APIStatusError as exc:
                    if exc.status_code in (429,) or exc.status_code >= 500:
                        raise ModelError(
                            f"the model server kept failing ({exc.status_code}) after {self._max_retries} retries"
                        ) from None
                    raise ModelRequestError(f"the model server answered {exc.status_code}: {_detail(exc)}") from None
                except ValueError:  # a body the SDK could not decode at all
                    kind = "bad_body"
                else:
                    latency = time.monotonic() - started
                    choice = response.choices[0] if response.choices else None
                    text = choice.message.content if choice is not None and choice.message else None
                    if text:
                        tokens_in, tokens_out = self._usage(response.usage, messages, text)
                        return Completion(text, choice.finish_reason, tokens_in, tokens_out, latency)  # type: ignore[union-attr]
                    kind = "empty"
                self.transport_errors[kind] += 1
                await asyncio.sleep(_backoff(attempt))
        raise ModelError(f"the model kept sending unusable replies ({kind}) after {self._max_retries} retries")

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
        """Never called: a server's reply has to be waited for (``completes_without_waiting`` is false)."""
        raise NotImplementedError("a served model's replies are awaited with complete()")

    async def close(self) -> None:
        await self._client.close()

    def server_reports(self) -> list[ServerReport]:
        return self.fleet.reports()

    def _refused(self, url: str, exc: openai.APIStatusError) -> ModelAuthError:
        return ModelAuthError(
            f"the server at {host_of(url)} refused the API key from ${self._key_source} ({exc.status_code})"
        )

    def _where(self) -> str:
        servers = self.fleet.servers
        if len(servers) == 1:
            return f"the model server at {host_of(servers[0].url)}"
        return f"all {len(servers)} model servers ({', '.join(host_of(s.url) or s.url for s in servers)})"


def _backoff(attempt: int) -> float:
    return min(8.0, 0.25 * 2**attempt) * (0.75 + 0.5 * random.random())


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


def _bad_request_hint(detail: str) -> str:
    lowered = detail.lower()
    if "temperature" in lowered:
        return f"the model rejected the temperature ({detail}); reasoning models need --no-temperature"
    if "max_tokens" in lowered or "max_completion_tokens" in lowered:
        return f"the model rejected max_tokens ({detail}); try --token-param max_completion_tokens"
    return f"the model server rejected the request: {detail}"
