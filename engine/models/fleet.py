"""A fleet of OpenAI-compatible servers behind their own URLs, and the client-side rate limits.

Each request goes to the server with the fewest requests in flight. A server that fails
``STRIKES`` attempts in a row (5xx, timeouts, dropped or refused connections; a 429 is the
provider pacing us, not a failure) is set aside for a rest that doubles each time it is set aside
again, from ``FIRST_REST_S`` up to ``LONGEST_REST_S``, and is asked again when the rest is over;
a success ends its strikes. When every server is resting, the one whose rest ends first is asked
anyway: a run is never held up by the bookkeeping, only by the servers.

``--rpm`` and ``--tpm`` are leaky buckets from ``aiolimiter``, shared by the whole fleet (a
provider's limits are per account, not per address). The request limit is applied to every HTTP
attempt, retries included, since the server counts those too; it admits no burst (one request
every 60/rpm seconds), so a server's count over any stretch of the run stays under the cap.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from contextvars import ContextVar

import httpx2
from aiolimiter import AsyncLimiter

from engine.models.sampler import ServerReport
from engine.models.urls import host_of

STRIKES = 3
"""Failed attempts in a row that set a server aside."""
FIRST_REST_S = 5.0
LONGEST_REST_S = 300.0
SERVER_FAULTS = ("server_error", "timeout", "connection")
"""Faults that count against a server (a 429 is pacing; a bad body is the model's)."""


class RateLimits:
    """``--rpm`` and ``--tpm``: client-side caps on requests and tokens per minute (None: no cap)."""

    def __init__(self, rpm: int | None = None, tpm: int | None = None) -> None:
        self.rpm, self.tpm = rpm, tpm
        self._requests = AsyncLimiter(1, 60.0 / rpm) if rpm else None
        self._tokens = AsyncLimiter(tpm, 60.0) if tpm else None

    async def request(self) -> None:
        """Wait for the next HTTP attempt's turn."""
        if self._requests is not None:
            await self._requests.acquire()

    async def tokens(self, amount: int) -> None:
        """Wait until ``amount`` tokens (the prompt and the most the reply may have) fit the minute."""
        if self._tokens is not None:
            await self._tokens.acquire(min(amount, self._tokens.max_rate))


class Server:
    """One server of the fleet: where it is, what it has in flight, and its record."""

    def __init__(self, url: str, index: int) -> None:
        self.url = url
        self.index = index
        self.in_flight = 0
        self.requests = 0
        """Chat completion attempts sent to it, retries included (what the server saw)."""
        self.faults: Counter[str] = Counter()
        """Its failed HTTP attempts by kind."""
        self.strikes = 0
        self.rests = 0
        """How often it was set aside."""
        self.resting_until = 0.0

    def report(self) -> ServerReport:
        return ServerReport(host=host_of(self.url) or self.url, requests=self.requests,
                            faults=dict(self.faults), set_aside=self.rests)


PINNED: ContextVar[Server | None] = ContextVar("PINNED", default=None)
"""The server a request must go to, when it is not the fleet's choice (a probe of each server)."""


class Fleet:
    """The servers of a run and the choice among them; see the module docstring."""

    def __init__(self, urls: list[str], clock: Callable[[], float] = time.monotonic) -> None:
        self.servers = [Server(url, index) for index, url in enumerate(urls)]
        self._clock = clock

    def pick(self) -> Server:
        """The server to send the next request to: of those not resting, the one with the fewest
        in flight; when all are resting, the first to wake."""
        now = self._clock()
        ready = [server for server in self.servers if server.resting_until <= now]
        if not ready:
            return min(self.servers, key=lambda server: server.resting_until)
        return min(ready, key=lambda server: (server.in_flight, server.requests, server.index))

    def fault(self, server: Server, kind: str) -> None:
        """A failed HTTP attempt at ``server``; the ``STRIKES``-th in a row sets it aside."""
        server.faults[kind] += 1
        if kind not in SERVER_FAULTS or len(self.servers) == 1:
            return
        server.strikes += 1
        if server.strikes >= STRIKES:
            server.resting_until = self._clock() + min(LONGEST_REST_S, FIRST_REST_S * 2**server.rests)
            server.rests += 1
            server.strikes = 0

    def succeeded(self, server: Server) -> None:
        server.strikes = 0

    def reports(self) -> list[ServerReport]:
        return [server.report() for server in self.servers]


POOL_CONNECTIONS = 8
"""Connections a pool keeps. httpcore looks at every connection of a pool on every request, so one
pool of hundreds costs milliseconds of CPU a request; several small ones cost a few microseconds."""


class FleetTransport(httpx2.AsyncBaseTransport):
    """Under the SDK's client: sends each HTTP attempt to the server :meth:`Fleet.pick` names (so
    the SDK's own retries, Retry-After and backoff included, go to another server when one fails),
    after the request limit lets it go, and counts every failed attempt by kind, for the run and
    for the server, before the SDK decides to retry it. Connections are kept open between
    requests, enough for ``concurrency`` in flight, in pools of ``POOL_CONNECTIONS``."""

    def __init__(self, fleet: Fleet, limits: RateLimits, counts: Counter[str], concurrency: int) -> None:
        self._fleet, self._limits, self._counts = fleet, limits, counts
        self._base = fleet.servers[0].url.rstrip("/")
        """The address the SDK's client was made with; each server's own replaces it."""
        pools = -(-concurrency * len(fleet.servers) // POOL_CONNECTIONS)
        keep = httpx2.Limits(max_connections=None, max_keepalive_connections=POOL_CONNECTIONS, keepalive_expiry=30.0)
        tls = httpx2.create_ssl_context()  # one for all: each takes milliseconds to make
        self._pools = [httpx2.AsyncHTTPTransport(verify=tls, limits=keep) for _ in range(pools)]
        self._busy = [0] * pools

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        chat = request.url.path.endswith("/chat/completions")
        if chat:
            await self._limits.request()
        server = PINNED.get() or self._fleet.pick()
        self._route(request, server)
        server.in_flight += 1
        if chat:
            server.requests += 1
        pool = self._busy.index(min(self._busy))
        self._busy[pool] += 1
        try:
            response = await self._pools[pool].handle_async_request(request)
        except httpx2.TimeoutException:
            self._fault(server, "timeout")
            raise
        except httpx2.TransportError:
            self._fault(server, "connection")
            raise
        finally:
            server.in_flight -= 1
            self._busy[pool] -= 1
        if response.status_code == 429:
            self._fault(server, "rate_limited")
        elif response.status_code >= 500:
            self._fault(server, "server_error")
        elif chat:
            self._fleet.succeeded(server)
        return response

    def _route(self, request: httpx2.Request, server: Server) -> None:
        address = str(request.url)
        if server.index == 0 or not address.startswith(self._base):
            return
        request.url = httpx2.URL(server.url.rstrip("/") + address[len(self._base):])
        request.headers["host"] = request.url.netloc.decode("ascii")

    def _fault(self, server: Server, kind: str) -> None:
        self._counts[kind] += 1
        self._fleet.fault(server, kind)

    async def aclose(self) -> None:
        for pool in self._pools:
            await pool.aclose()
