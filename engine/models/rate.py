"""How fast to send: a client-side rate that settles on a provider's limit without being told it.

Providers count requests and tokens a minute and answer 429 past their limit. Before the first
429 nothing holds requests back (unless ``--rpm`` or the provider's headers say otherwise). From
the first 429 on, requests go out through a token bucket whose rate follows the AWS SDKs'
adaptive retry mode, which is TCP's CUBIC applied to a send rate: at a 429 the rate drops to
``BETA`` of what was being sent, and the rate at which the provider objected becomes the expected
maximum; with each success the rate climbs back along a cubic curve that is flat around that
maximum and steep beyond it. So it settles just under the limit, and probes above it now and then:
a limit that rises is found again within seconds. One difference from the SDKs: a 429 for a
request sent before the last drop says nothing new (the requests already in flight when the limit
was hit come back 429 together), so it does not drop the rate again.

When the provider sends ``x-ratelimit-limit-requests`` (or ``-tokens``), the limit is known and
becomes a ceiling at ``HEADER_MARGIN`` of it; ``x-ratelimit-remaining-*`` at 0 holds requests
back until the next one is due. ``--rpm`` and ``--tpm`` are ceilings over everything.

Rates here are per second; the clock is passed in (``now``), so the arithmetic is testable
without waiting.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import NamedTuple

BETA = 0.7
"""The share of the send rate kept at a 429 (the AWS SDKs' and CUBIC's)."""
SCALE = 0.4
"""How fast the rate climbs back (requests a second per second cubed), as the AWS SDKs have it."""
SMOOTHING = 0.8
"""Weight of the newest half second in the measured send rate."""
MEASURE_S = 0.5
MIN_RATE = 0.5
"""The slowest the adaptive rate goes, in requests a second."""
HEADER_MARGIN = 0.95
"""The share of a limit the provider states that is used: a little room for the clocks to differ."""
BURST_S = 0.05
"""Requests saved up at most, in seconds of the rate: enough that a timer firing a little late
loses nothing, too few for a burst that a cap over any stretch of the run would notice."""


class TokenBucket:
    """``rate`` units a second, at most ``capacity`` saved up; starts full."""

    __slots__ = ("rate", "capacity", "level", "updated")

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.rate, self.capacity, self.level, self.updated = rate, capacity, capacity, now

    def _fill(self, now: float) -> None:
        if now > self.updated:
            self.level = min(self.capacity, self.level + (now - self.updated) * self.rate)
            self.updated = now

    def delay(self, now: float, amount: float = 1.0) -> float:
        """Seconds until ``amount`` is in the bucket (0 when it is now)."""
        self._fill(now)
        amount = min(amount, self.capacity)
        short = amount - self.level
        return 0.0 if short <= 1e-9 * amount else short / self.rate  # a rounding error is no wait

    def take(self, now: float, amount: float = 1.0) -> None:
        self._fill(now)
        self.level -= min(amount, self.capacity)

    def set_rate(self, rate: float, now: float, capacity: float | None = None) -> None:
        self._fill(now)
        self.rate = rate
        self.capacity = max(1.0, rate * BURST_S) if capacity is None else capacity
        self.level = min(self.level, self.capacity)


class Limits(NamedTuple):
    """What a provider's ``x-ratelimit-*`` headers said of one kind of limit."""

    limit: float
    """Per minute."""
    remaining: float | None
    reset_s: float | None


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float | None:
    """Seconds in a header's duration: OpenAI's ``"6m0s"``, ``"1.5s"``, ``"120ms"``, or a number of
    seconds; None when it is neither."""
    text = text.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    parts = _DURATION.findall(text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        return None
    return sum(float(number) * _UNITS[unit] for number, unit in parts)


def read_limits(headers: Mapping[str, str], kind: str) -> Limits | None:
    """The ``x-ratelimit-*-{kind}`` headers (kind ``requests`` or ``tokens``), None without a limit."""
    try:
        limit = float(headers[f"x-ratelimit-limit-{kind}"])
    except (KeyError, ValueError):
        return None
    if not limit > 0 or math.isinf(limit):
        return None
    try:
        remaining: float | None = float(headers.get(f"x-ratelimit-remaining-{kind}", ""))
    except ValueError:
        remaining = None
    reset = headers.get(f"x-ratelimit-reset-{kind}")
    return Limits(limit, remaining, parse_duration(reset) if reset is not None else None)


class SendRate:
    """Requests a second: the adaptive rate (see the module docstring) under the ceilings."""

    def __init__(self, rpm: int | None, now: float) -> None:
        self.ceiling = rpm / 60 if rpm else math.inf
        """``--rpm``, a second."""
        self.learned = math.inf
        """The provider's limit from its headers, a second (infinite until it says)."""
        self.adaptive = math.inf
        """The rate the 429s left (infinite until the first)."""
        self.hold_until = 0.0
        """No request before then: the provider said none is left (``x-ratelimit-remaining`` 0)."""
        self.throttles = 0
        """429s that lowered the rate."""
        self.last_drop = -math.inf
        self._expected_max = 0.0
        self._k = 0.0
        self._measured = 0.0
        self._window = math.floor(now / MEASURE_S)
        self._window_count = 0
        rate = self.rate
        self._bucket = TokenBucket(rate, max(1.0, rate * BURST_S) if self.limited else 1.0, now)

    @property
    def rate(self) -> float:
        """The rate in force, a second (infinite: no limit)."""
        return min(self.ceiling, self.learned * HEADER_MARGIN, self.adaptive)

    @property
    def limited(self) -> bool:
        return not math.isinf(self.rate)

    @property
    def measured(self) -> float:
        """Requests a second sent lately (smoothed)."""
        return self._measured

    @property
    def objected_at(self) -> float | None:
        """The send rate at which the provider last answered 429, a second; None before."""
        return self._expected_max if self.throttles else None

    def delay(self, now: float) -> float:
        """Seconds until the next request may go."""
        wait = self.hold_until - now
        if self.limited:
            wait = max(wait, self._bucket.delay(now))
        return max(0.0, wait)

    def sent(self, now: float) -> None:
        """A request went out."""
        if self.limited:
            self._bucket.take(now)
        window = math.floor(now / MEASURE_S)
        self._window_count += 1
        if window > self._window:
            rate = self._window_count / ((window - self._window) * MEASURE_S)
            self._measured = rate * SMOOTHING + self._measured * (1 - SMOOTHING)
            self._window, self._window_count = window, 0

    def throttled(self, now: float, sent_at: float) -> None:
        """A 429 for a request sent at ``sent_at``: the first since the last drop lowers the rate."""
        if sent_at < self.last_drop:
            return
        current = self.rate
        sending = self._measured if self._measured > 0 else current
        at = min(sending, current)
        if math.isinf(at):
            at = max(MIN_RATE, self._window_count / MEASURE_S)
        self._expected_max = at
        self._k = (at * (1 - BETA) / SCALE) ** (1 / 3)
        self.last_drop = now
        self.throttles += 1
        self._set_adaptive(max(MIN_RATE, at * BETA), now)

    def succeeded(self, now: float) -> None:
        """A reply came back: the adaptive rate climbs along its curve."""
        if math.isinf(self.adaptive):
            return
        curve = SCALE * (now - self.last_drop - self._k) ** 3 + self._expected_max
        cap = 2 * max(self._measured, MIN_RATE)  # never far above what is really being sent
        rate = max(MIN_RATE, min(curve, cap))
        if rate != self.adaptive:
            self._set_adaptive(rate, now)

    def learn(self, limits: Limits, now: float) -> None:
        """The provider's ``x-ratelimit-*-requests`` headers."""
        learned = limits.limit / 60
        if learned != self.learned:
            self.learned = learned
            self._bucket.set_rate(self.rate, now)
        if limits.remaining is not None and limits.remaining < 1:
            self.hold_until = max(self.hold_until, now + min(limits.reset_s or 60 / limits.limit, 60 / limits.limit))

    def _set_adaptive(self, rate: float, now: float) -> None:
        self.adaptive = rate
        self._bucket.set_rate(self.rate, now)


class TokenRate:
    """Tokens a minute (each request counts its prompt and the most its reply may have): ``--tpm``
    and the provider's stated limit as ceilings; nothing adapts here, since a 429 lowers the
    request rate, and with it the tokens."""

    def __init__(self, tpm: int | None, now: float) -> None:
        self.ceiling = tpm / 60 if tpm else math.inf
        self.learned = math.inf
        self.hold_until = 0.0
        rate = self.rate
        self._bucket = TokenBucket(rate, rate * 60 if not math.isinf(rate) else 0.0, now)

    @property
    def rate(self) -> float:
        return min(self.ceiling, self.learned * HEADER_MARGIN)

    def delay(self, now: float, tokens: int) -> float:
        wait = self.hold_until - now
        if not math.isinf(self.rate):
            wait = max(wait, self._bucket.delay(now, tokens))
        return max(0.0, wait)

    def sent(self, now: float, tokens: int) -> None:
        if not math.isinf(self.rate):
            self._bucket.take(now, tokens)

    def learn(self, limits: Limits, now: float) -> None:
        learned = limits.limit / 60
        if learned != self.learned:
            self.learned = learned
            rate = self.rate
            self._bucket.set_rate(rate, now, capacity=rate * 60)
        if limits.remaining is not None and limits.remaining < 1 and limits.reset_s is not None:
            self.hold_until = max(self.hold_until, now + min(limits.reset_s, 60.0))
