"""What can go wrong with one attempt at a served model, and the run's patience with it.

A :class:`Fault` is mended by asking again (a 429, a 5xx, a timeout, a lost connection, a body
that is not a chat completion); the wire does so (:mod:`engine.models.wire`). What no retry mends
is a :class:`~engine.models.sampler.ModelError` and ends the run at once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from engine.models.sampler import ModelError

FAULT_LABELS = {"rate_limited": "429", "server_error": "5xx", "timeout": "timeout", "connection": "connection",
                "bad_body": "bad body"}
"""Each fault kind as people write it: a 429 is the provider's "too many requests", a 5xx its
own error (a 503: unavailable); the keys are :data:`~engine.models.sampler.FAULT_KINDS`."""


def faults_text(faults: dict[str, int], count: Callable[[int], str] = "{:,}".format, sep: str = " · ") -> str:
    """Faults by kind as people write them, ``429: 18 · 5xx: 3``; empty when there are none.
    ``count`` writes a number (a narrow pane writes them shorter)."""
    return sep.join(f"{FAULT_LABELS.get(kind, kind)}: {count(n)}" for kind, n in faults.items() if n)


class Fault(Exception):
    """One attempt failed in a way a retry may mend; ``kind`` is one of
    :data:`~engine.models.sampler.FAULT_KINDS`."""

    def __init__(self, kind: str, detail: str, *, status: int | None = None, retry_after_s: float | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.status = status
        self.retry_after_s = retry_after_s
        self.headers = headers

    @property
    def label(self) -> str:
        """The fault in a few words, for the status line."""
        if self.kind == "rate_limited":
            return f"rate limited ({self.status or 429})"
        if self.kind == "server_error":
            return f"server unavailable ({self.status})" if self.status in (502, 503, 504) else f"server error ({self.status})"
        if self.kind == "timeout":
            return "no reply in time (timeout)"
        if self.kind == "connection":
            return "no connection"
        return "a body that is not a chat completion"

    @property
    def said(self) -> str:
        """The fault with what the server or the network said of it, once."""
        return self.label if not self.detail or self.detail in self.label else f"{self.label}: {self.detail}"


class PatienceExhausted(ModelError):
    """No server gave a single reply for the run's patience: the run stops, resumable."""
