"""Real models through the ``openai`` SDK: OpenAI itself or any OpenAI-compatible server.

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

import httpx2
import openai
from openai.types import CompletionUsage

from engine.models.sampler import (
    Completion,
    ModelAuthError,
    ModelError,
    ModelRequestError,
    ModelUnreachable,
    estimate_prompt_tokens,
    estimate_tokens,
)
from engine.models.urls import host_of, without_credentials
from engine.task.prompt import Message

TRANSPORT_ERROR_KINDS = ("rate_limited", "server_error", "timeout", "connection", "bad_body", "empty")


class _CountingTransport(httpx2.AsyncBaseTransport):
    """Counts every failed HTTP attempt by kind before the SDK decides to retry it."""

    def __init__(self, inner: httpx2.AsyncBaseTransport, counts: Counter[str]) -> None:
        self._inner = inner
        self._counts = counts

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        try:
            response = await self._inner.handle_async_request(request)
        except httpx2.TimeoutException:
            self._counts["timeout"] += 1
            raise
        except httpx2.TransportError:
            self._counts["connection"] += 1
            raise
        if response.status_code == 429:
            self._counts["rate_limited"] += 1
        elif response.status_code >= 500:
            self._counts["server_error"] += 1
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


class OpenAISampler:
    """One chat completion per sample, through ``openai.AsyncOpenAI``. A :class:`Sampler`.

    ``concurrency`` bounds the requests in flight across the run; a request waiting for its turn
    or in flight is abandoned when its task is cancelled (a step decided without it, or a stop).
    """

    completes_without_waiting = False

    def __init__(
        self,
        model: str,
        *,
        api_key: str,
        base_url: str | None = None,
        concurrency: int = 16,
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
        http_client = openai.DefaultAsyncHttpxClient(
            transport=_CountingTransport(httpx2.AsyncHTTPTransport(), self.transport_errors)
        )
        self._client = openai.AsyncOpenAI(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout_s,
            max_retries=max_retries,
            http_client=http_client,
        )
        self.base_url = str(self._client.base_url)

    def settings(self) -> dict[str, Any]:
        """What a recording keeps to rebuild this sampler (never the key, only where it came from)."""
        return {
            "kind": "openai",
            "model": self.name,
            "base_url": without_credentials(self.base_url),
            "concurrency": self._concurrency,
            "timeout_s": self._timeout_s,
            "send_temperature": self.send_temperature,
            "token_parameter": self.token_parameter,
            "api_key_env": self._key_source,
        }

    async def start(self) -> None:
        """Fail fast when the server cannot be reached or refuses the key, before any step."""
        probe = self._client.with_options(max_retries=0, timeout=min(10.0, self._timeout_s))
        try:
            await probe.models.list()
        except openai.APIConnectionError as exc:
            raise ModelUnreachable(f"cannot reach the model server at {self.base_url}: {_cause(exc)}") from None
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            raise ModelAuthError(
                f"the server at {host_of(self.base_url)} refused the API key from ${self._key_source} "
                f"({exc.status_code})"
            ) from None
        except openai.APIStatusError:
            pass  # it answered: many compatible servers have no /models, which is fine

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
        async with self._semaphore:
            for attempt in range(self._max_retries + 1):
                started = time.monotonic()
                try:
                    response = await self._client.chat.completions.create(**request)
                except openai.APIResponseValidationError:
                    kind = "bad_body"
                except openai.APIConnectionError as exc:
                    raise ModelUnreachable(
                        f"the model server at {host_of(self.base_url)} stopped answering: {_cause(exc)}"
                    ) from None
                except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
                    raise ModelAuthError(
                        f"the server at {host_of(self.base_url)} refused the API key from ${self._key_source} "
                        f"({exc.status_code})"
                    ) from None
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
