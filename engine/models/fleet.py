"""The servers a served model is asked at, and their health.

Each request goes to the server with the fewest requests in flight. A server that fails
``STRIKES`` attempts in a row (5xx, timeouts, dropped or refused connections; a 429 is the
provider pacing us, not a failure) is down: it gets no requests but one probe at a time, the
first after ``FIRST_PROBE_S`` and each next one after twice as long as the one before, up to
``LONGEST_PROBE_S`` (give or take a quarter, so that many clients do not probe in step). Any reply
from it brings it back: a probe's, or one of the requests it still had in flight. The others carry
the run meanwhile; when every server is down, requests wait for the probes (see
:mod:`engine.models.wire`). Its state is read from other threads (a screen's report), so each
field a reader needs is one attribute, read once.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable

from engine.models.sampler import ServerReport
from engine.models.urls import host_of

STRIKES = 3
"""Failed attempts in a row that take a server down."""
FIRST_PROBE_S = 1.0
LONGEST_PROBE_S = 10.0
"""The longest wait between probes of a server that is down: an outage costs at most this much
after it ends, and a dead server costs a request this often."""
SERVER_FAULTS = ("server_error", "timeout", "connection")
"""Faults that count against a server (a 429 is pacing; a bad body is the model's)."""


class Server:
    """One server: where it is, what it has in flight, its record and its health."""

    def __init__(self, url: str, index: int) -> None:
        self.url = url
        self.index = index
        self.in_flight = 0
        self.requests = 0
        """Chat completion attempts sent to it, retries included (what the server saw)."""
        self.faults: Counter[str] = Counter()
        """Its failed attempts by kind."""
        self.strikes = 0
        self.times_down = 0
        """How often it went down."""
        self.down_since: float | None = None
        self.next_probe_at = 0.0
        self.probing = False
        self._probe_wait = FIRST_PROBE_S
        self.last_fault = ""
        """What the server last said when an attempt failed."""

    @property
    def down(self) -> bool:
        return self.down_since is not None

    def report(self, now: float) -> ServerReport:
        since = self.down_since  # once: the loop's thread may bring the server back meanwhile
        return ServerReport(
            host=host_of(self.url) or self.url, requests=self.requests,
            faults={kind: count for kind, count in self.faults.items() if count}, times_down=self.times_down,
            down_s=None if since is None else round(now - since, 1), last_fault=self.last_fault or None,
        )


class Fleet:
    """The servers of a run and the choice among them; see the module docstring."""

    def __init__(self, urls: list[str], clock: Callable[[], float] = time.monotonic,
                 jitter: Callable[[], float] = random.random) -> None:
        self.servers = [Server(url, index) for index, url in enumerate(urls)]
        self._clock = clock
        self._jitter = jitter

    def pick(self) -> Server | None:
        """The server for the next attempt: a down server whose probe is due gets it; else, of the
        servers up, the one with the fewest in flight; None when all are down and no probe is due."""
        now = self._clock()
        due = [s for s in self.servers if s.down and not s.probing and s.next_probe_at <= now]
        if due:
            return min(due, key=lambda server: server.next_probe_at)
        up = [server for server in self.servers if not server.down]
        if not up:
            return None
        return min(up, key=lambda server: (server.in_flight, server.requests, server.index))

    def next_probe_at(self) -> float | None:
        """When a server that is down may be probed next (None: none is waiting for a probe)."""
        waiting = [s.next_probe_at for s in self.servers if s.down and not s.probing]
        return min(waiting) if waiting else None

    def sent(self, server: Server) -> None:
        server.in_flight += 1
        server.requests += 1
        if server.down:
            server.probing = True

    def fault(self, server: Server, kind: str, detail: str = "") -> None:
        """A failed attempt at ``server``; the ``STRIKES``-th server fault in a row takes it down,
        and a failed probe doubles the wait for the next."""
        server.in_flight -= 1
        server.faults[kind] += 1
        server.last_fault = detail or kind
        probe, server.probing = server.probing, False
        if kind not in SERVER_FAULTS:
            return
        server.strikes += 1
        now = self._clock()
        if server.down:
            if probe:
                server._probe_wait = min(LONGEST_PROBE_S, server._probe_wait * 2)
                server.next_probe_at = now + self._spread(server._probe_wait)
        elif server.strikes >= STRIKES:
            server.down_since = now
            server.times_down += 1
            server._probe_wait = FIRST_PROBE_S
            server.next_probe_at = now + self._spread(FIRST_PROBE_S)

    def succeeded(self, server: Server) -> None:
        server.in_flight -= 1
        server.strikes = 0
        server.probing = False
        server.down_since = None

    def abandoned(self, server: Server) -> None:
        """An attempt given up before it ended (its step no longer needs it); an abandoned probe
        says nothing, and the next waits as long as this one was to."""
        server.in_flight -= 1
        if server.probing:
            server.probing = False
            server.next_probe_at = self._clock() + self._spread(server._probe_wait)

    def reports(self) -> list[ServerReport]:
        now = self._clock()
        return [server.report(now) for server in self.servers]

    def _spread(self, seconds: float) -> float:
        return seconds * (0.75 + 0.5 * self._jitter())
