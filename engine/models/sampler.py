"""The sampler protocol every model implements: messages in, raw text out.

A sampler never parses: it returns the model's text with its finish reason, token counts and
latency, and the engine's parser decides whether it is a vote or a red flag.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, Protocol

from pydantic import BaseModel

from engine.task.prompt import Message


class Completion(NamedTuple):
    """One model reply as the engine sees it."""

    text: str
    finish_reason: str | None
    """``"stop"`` for a finished reply, ``"length"`` when cut at the token limit."""
    tokens_in: int
    tokens_out: int
    latency_s: float


class ServerReport(BaseModel):
    """What one server of a fleet did in a run."""

    host: str
    requests: int
    """Chat completion attempts sent to it, retries included."""
    faults: dict[str, int]
    """Its failed attempts by kind."""
    set_aside: int
    """How often it failed enough in a row to be rested."""


class Sampler(Protocol):
    """Anything that turns a step's messages into one model reply."""

    name: str
    """The model's name, as the price table and recordings know it."""
    base_url: str | None
    """The server it asks, None for a model that runs in this process."""
    completes_without_waiting: bool
    """True when :meth:`complete_now` may be called instead of :meth:`complete`: the same reply
    without a coroutine and a task per sample (a simulated model without latency)."""
    transport_errors: Mapping[str, int]
    """Failed requests by kind, retried and never judged (empty for a model without a server)."""
    usage_estimated: int
    """Replies whose token counts the server did not send, estimated from the text instead."""

    async def start(self) -> None:
        """Get ready before the first step: fail fast when the model cannot be reached."""
        ...

    async def complete(
        self, messages: Sequence[Message], temperature: float, max_tokens: int, sample: tuple[int, int] | None = None
    ) -> Completion:
        """Draw one reply. Cancelling the awaiting task abandons the request. ``sample`` says
        which it is, (step, index in the step): the simulated model draws by it, so that a run's
        replies do not depend on the order of requests; a served model has no use for it."""
        ...

    def complete_now(
        self, messages: Sequence[Message], temperature: float, max_tokens: int, sample: tuple[int, int] | None = None
    ) -> Completion:
        """Draw one reply at once; only called when ``completes_without_waiting`` is true."""
        ...

    async def close(self) -> None:
        """Release connections; called once at the end of a run."""
        ...

    def server_reports(self) -> list[ServerReport]:
        """Each server's requests and faults (none for a model without a server)."""
        ...

    def settings(self) -> dict[str, Any]:
        """What a recording keeps to rebuild this sampler on resume; never a key."""
        ...


class ModelError(Exception):
    """A fault that no retry mends; the run stops and says so in one line."""

    usage = False
    """True when the fault is in what the user gave (a key, an address, an option): exit 2."""


class ModelUnreachable(ModelError):
    """Nothing answers at the server's address."""

    usage = True


class ModelAuthError(ModelError):
    """The server refused the API key."""

    usage = True


class ModelRequestError(ModelError):
    """The server rejected the request itself (a parameter, the model's name)."""

    usage = True


def estimate_tokens(text: str) -> int:
    """Tokens in ``text`` by the usual rule of thumb for English and code: one per four characters."""
    return (len(text) + 3) // 4


MESSAGE_OVERHEAD_TOKENS = 4
"""Tokens a chat API adds around each message (role and separators)."""


def estimate_prompt_tokens(messages: Sequence[Message]) -> int:
    """Input tokens of a chat request, estimated from its text."""
    return sum(estimate_tokens(m["content"]) + MESSAGE_OVERHEAD_TOKENS for m in messages)
