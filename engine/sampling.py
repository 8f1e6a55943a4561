"""The sampler protocol every model implements: messages in, raw text out.

A sampler never parses: it returns the model's text with its finish reason, token counts and
latency, and the engine's parser decides whether it is a vote or a red flag.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Protocol
from urllib.parse import urlsplit, urlunsplit

from engine.prompt import Message


class Completion(NamedTuple):
    """One model reply as the engine sees it."""

    text: str
    finish_reason: str | None
    """``"stop"`` for a finished reply, ``"length"`` when cut at the token limit."""
    tokens_in: int
    tokens_out: int
    latency_s: float


class Sampler(Protocol):
    """Anything that turns a step's messages into one model reply."""

    name: str
    """The model's name, as the price table and recordings know it."""

    async def complete(self, messages: Sequence[Message], temperature: float, max_tokens: int) -> Completion:
        """Draw one reply. Cancelling the awaiting task abandons the request."""
        ...


class ImmediateSampler(Sampler, Protocol):
    """A sampler whose replies need no waiting (a simulated model without latency).

    When ``completes_without_waiting`` is true the runner calls ``complete_now`` in place of
    ``complete``: the same reply, without a coroutine and a task per sample.
    """

    completes_without_waiting: bool

    def complete_now(self, messages: Sequence[Message], temperature: float, max_tokens: int) -> Completion:
        """Draw one reply at once."""
        ...


def estimate_tokens(text: str) -> int:
    """Tokens in ``text`` by the usual rule of thumb for English and code: one per four characters."""
    return (len(text) + 3) // 4


MESSAGE_OVERHEAD_TOKENS = 4
"""Tokens a chat API adds around each message (role and separators)."""


def estimate_prompt_tokens(messages: Sequence[Message]) -> int:
    """Input tokens of a chat request, estimated from its text."""
    return sum(estimate_tokens(m["content"]) + MESSAGE_OVERHEAD_TOKENS for m in messages)


def host_of(url: str | None) -> str | None:
    """The host (and port) of a URL, never its credentials or path."""
    if not url:
        return None
    parts = urlsplit(url)
    if not parts.hostname:
        return None
    return parts.hostname + (f":{parts.port}" if parts.port else "")


def without_credentials(url: str | None) -> str | None:
    """A URL without user, password, query or fragment: safe to write down."""
    if not url:
        return None
    parts = urlsplit(url)
    netloc = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
