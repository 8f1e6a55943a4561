"""The sampler protocol every model implements: messages in, raw text out.

A sampler never parses: it returns the model's text with its finish reason, token counts and
latency, and the engine's parser decides whether it is a vote or a red flag.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol

from pydantic import BaseModel, Field

from engine.task.prompt import Message


class Completion(NamedTuple):
    """One model reply as the engine sees it."""

    text: str
    finish_reason: str | None
    """``"stop"`` for a finished reply, ``"length"`` when cut at the token limit."""
    tokens_in: int
    tokens_out: int
    latency_s: float


FAULT_KINDS = ("rate_limited", "server_error", "timeout", "connection", "bad_body")
"""What can go wrong with one attempt at a served model and be mended by asking again."""


class ServerReport(BaseModel):
    """What one server did in a run, and how it is now."""

    host: str
    requests: int
    """Chat completion attempts sent to it, retries included."""
    faults: dict[str, int]
    """Its failed attempts by kind."""
    times_down: int
    """How often it failed enough in a row to be taken down (then probed until it answered)."""
    down_s: float | None = None
    """How long it has been down, None when it is up."""
    last_fault: str | None = None
    """What it last said when an attempt failed."""


class WireReport(BaseModel):
    """What went over the wire to a served model: requests, rates, retries, faults, servers."""

    requests: int = 0
    """HTTP attempts sent, retries included."""
    replies: int = 0
    """Attempts that came back with a reply."""
    retries: int = 0
    """Attempts sent again after a fault."""
    faults: dict[str, int] = Field(default_factory=dict)
    """Failed attempts by kind: rate_limited (429), server_error (5xx), timeout, connection,
    bad_body (a body that is not a chat completion). Retried; never votes, never red flags."""
    hedged: int = 0
    """Samples asked a second time because the first request was slow (the first reply is used)."""
    in_flight: int = 0
    """Attempts on the wire now."""
    queued: int = 0
    """Requests waiting for their turn: the rate, the concurrency, a server that is down."""
    concurrency: int = 0
    rate_rpm: float | None = None
    """The requests a minute being sent at now (None: not held back)."""
    limit_rpm: float | None = None
    """The provider's limit as learned: from its headers, else the rate at its last 429."""
    limit_source: str = ""
    """Where ``limit_rpm`` comes from: ``"headers"`` or ``"429s"`` (empty: no limit met)."""
    ceiling_rpm: int | None = None
    """``--rpm``."""
    sent_rpm: float = 0.0
    """Requests a minute sent lately."""
    status: str = ""
    """What the wire is waiting for, in words ("server unavailable (503) for 42 s; retrying in
    8 s"); empty when nothing holds it back."""
    servers: list[ServerReport] = Field(default_factory=list)

    def at_rest(self) -> WireReport:
        """This report without what holds only while the run goes on (requests in flight and
        waiting, what the wire waits for, servers down now): what a recording keeps."""
        return self.model_copy(update={
            "in_flight": 0, "queued": 0, "status": "",
            "servers": [server.model_copy(update={"down_s": None}) for server in self.servers],
        })

    def merged(self, later: WireReport) -> WireReport:
        """This report followed by a later one (a resumed run): counts add up, the rest is the later's."""
        servers = {server.host: server for server in self.servers}
        for server in later.servers:
            before = servers.get(server.host)
            servers[server.host] = server if before is None else server.model_copy(update={
                "requests": before.requests + server.requests, "faults": _add(before.faults, server.faults),
                "times_down": before.times_down + server.times_down,
            })
        return later.model_copy(update={
            "requests": self.requests + later.requests, "replies": self.replies + later.replies,
            "retries": self.retries + later.retries, "hedged": self.hedged + later.hedged,
            "faults": _add(self.faults, later.faults), "servers": list(servers.values()),
        })


def _add(counts: dict[str, int], more: dict[str, int]) -> dict[str, int]:
    total = dict(counts)
    for kind, count in more.items():
        total[kind] = total.get(kind, 0) + count
    return total


class Sampler(Protocol):
    """Anything that turns a step's messages into one model reply."""

    name: str
    """The model's name, as the price table and recordings know it."""
    base_url: str | None
    """The server it asks, None for a model that runs in this process."""
    completes_without_waiting: bool
    """True when :meth:`complete_now` may be called instead of :meth:`complete`: the same reply
    without a coroutine and a task per sample (a simulated model without latency)."""
    hedging: bool
    """Whether a slow request of the oldest step is sent a second time, the first reply winning
    (:mod:`engine.models.hedge`): a served model's default. Settable: a calibration and a run with
    a budget turn it off."""
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

    def wire_report(self) -> WireReport | None:
        """What went over the wire (None for a model without a server); any thread may ask."""
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
