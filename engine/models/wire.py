"""The wire to a served model: when each attempt may go, where, and what to do when it fails.

Everything a provider's weather touches is decided here, in one place:

- **Turns.** Requests wait for their turn in order of the sample they ask for, oldest step first
  (``key``), so that under a rate limit the step being decided is never held up by steps sampled
  ahead. A turn needs room under ``concurrency``, the send rate (:mod:`engine.models.rate`), the
  token rate, and a server that is up (:mod:`engine.models.fleet`).
- **Retries.** A 429, a 5xx, a timeout or a dropped connection is weather: the attempt is counted,
  the rate or the server's health takes note, and the request is sent again, after the provider's
  ``retry-after`` or a jittered backoff. Nothing ends a run but ``patience_s`` without a single
  reply from any server (:class:`PatienceExhausted`). A body that cannot be read is the model's
  fault more than the network's: it is retried ``bad_reply_retries`` times per request.
- **Hedges.** A request of the oldest step that is slow on the wire is sent again beside itself,
  and the first reply wins (:mod:`engine.models.hedge`).
- **Counters.** Attempts, replies, retries and faults by kind, the rates, and each server's
  health, in a :class:`~engine.models.sampler.WireReport` that any thread may ask for.

Faults no retry can mend (a refused key, an unknown model, a request the server calls invalid) are
not :class:`Fault` s: they go straight through to the run, which stops.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

from engine.durations import duration_text
from engine.models.faults import Fault, PatienceExhausted
from engine.models.fleet import Fleet, Server
from engine.models.hedge import Lane, ReplyTimes, race
from engine.models.rate import SendRate, TokenRate, read_limits
from engine.models.sampler import FAULT_KINDS, ModelError, WireReport

T = TypeVar("T")

RETRY_FIRST_S = 0.25
RETRY_LONGEST_S = 4.0
"""Backoff between retries of one request: from the first, doubling, up to the longest (jittered).
Long outages are waited out by the server's probes (:mod:`engine.models.fleet`), not here."""
LONGEST_RETRY_AFTER_S = 60.0
"""The longest a provider's ``retry-after`` is obeyed before asking again."""
RECENT_S = 10.0
"""How long a 429 keeps the status line saying the provider is pacing the run."""
BAD_REPLY_KINDS = ("bad_body",)
"""Faults in what came back, not in getting it: bounded per request."""


class Wire:
    """Sends a served model's requests; see the module docstring."""

    def __init__(
        self,
        urls: list[str],
        *,
        concurrency: int = 16,
        rpm: int | None = None,
        tpm: int | None = None,
        patience_s: float = 600.0,
        bad_reply_retries: int = 8,
        hedging: bool = True,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.concurrency = concurrency
        self.patience_s = patience_s
        self.bad_reply_retries = bad_reply_retries
        self.ceiling_rpm = rpm
        self._clock = clock
        self._jitter = jitter
        now = clock()
        self.fleet = Fleet(urls, clock=clock, jitter=jitter)
        self.requests = SendRate(rpm, now)
        self.tokens = TokenRate(tpm, now)
        self.faults: Counter[str] = Counter({kind: 0 for kind in FAULT_KINDS})
        self.sent = 0
        self.replies = 0
        self.retries = 0
        self.on_wire = 0
        self.last_reply_at: float | None = None
        """When any server last replied (None before the first reply)."""
        self.trouble_since: float | None = None
        """Since when no attempt has succeeded, counted from the first that failed after the last
        reply (None while replies come, and whenever nothing is asked): what the patience measures.
        A pause asks for no new samples, but the requests already under way go on trying."""
        self.gave_up: PatienceExhausted | None = None
        self.last_fault: Fault | None = None
        self._last_throttle_at = -math.inf
        self._queue: list[tuple[tuple[float, ...], int, int, asyncio.Future[Server]]] = []
        self._order = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = math.inf
        self.hedging = hedging
        self.hedged = 0
        """Requests sent a second time because the first was slow."""
        self.times = ReplyTimes()
        self._active: dict[float, int] = {}
        """Requests under way by their step (the first part of their key)."""
        self._oldest_moved: list[asyncio.Future[None]] = []

    # -- sending ---------------------------------------------------------------------------------

    async def send(self, attempt: Callable[[Server], Awaitable[T]], *, key: tuple[float, ...] = (math.inf,),
                   tokens: int = 0) -> T:
        """``attempt`` at a server until it succeeds: each attempt waits for its turn (``key``
        orders the waiting, lowest first; ``tokens`` is what it counts against a token limit), and
        a slow one of the oldest step is raced by a second (:mod:`engine.models.hedge`).
        Cancelling the calling task abandons the request wherever it is."""
        step = key[0]
        self._active[step] = self._active.get(step, 0) + 1
        try:
            if not self.hedging:
                return await self.lane(attempt, key, tokens, Lane())
            return await race(self, attempt, key, tokens)
        finally:
            left = self._active[step] - 1
            if left:
                self._active[step] = left
            else:
                del self._active[step]
                if not self._active:
                    self.trouble_since = None  # nothing is asked any more: nothing to be patient about
                if self._oldest_moved and step < min(self._active, default=math.inf):
                    waiters, self._oldest_moved = self._oldest_moved, []
                    for waiter in waiters:
                        if not waiter.done():
                            waiter.set_result(None)

    def oldest(self, key: tuple[float, ...]) -> bool:
        """Whether ``key``'s step is the oldest of the requests under way."""
        return key[0] <= min(self._active, default=key[0])

    def oldest_moves(self) -> asyncio.Future[None]:
        """A future that completes when the oldest step under way is done with."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if len(self._oldest_moved) > 64:  # those given up on (a reply came first) are let go of
            self._oldest_moved = [w for w in self._oldest_moved if not w.done()]
        self._oldest_moved.append(waiter)
        return waiter

    def now(self) -> float:
        return self._clock()

    async def lane(self, attempt: Callable[[Server], Awaitable[T]], key: tuple[float, ...], tokens: int,
                   lane: Lane) -> T:
        """One try at the request, attempt after attempt until one succeeds (see :meth:`send`)."""
        failures = bad_replies = 0
        while True:
            server = await self._turn(key, tokens)
            sent_at = lane.since = self._clock()
            try:
                result = await attempt(server)
            except Fault as fault:
                lane.since = None
                now = self._clock()
                self.fleet.fault(server, fault.kind, fault.label)
                self._release()
                self.faults[fault.kind] += 1
                self.last_fault = fault
                if self.trouble_since is None:
                    self.trouble_since = max(sent_at, self.last_reply_at or sent_at)
                if fault.headers:
                    self.heard(fault.headers)
                if fault.kind == "rate_limited":
                    self._last_throttle_at = now
                    self.requests.throttled(now, sent_at)
                failures += 1
                if fault.kind in BAD_REPLY_KINDS:
                    bad_replies += 1
                    if bad_replies > self.bad_reply_retries:
                        raise ModelError(f"the model kept sending unusable replies ({fault.kind}: {fault.detail}) "
                                         f"after {self.bad_reply_retries} retries") from None
                self._check_patience(now)
                await asyncio.sleep(self._retry_delay(fault, failures, now))
                self.retries += 1
                continue
            except BaseException:
                self.fleet.abandoned(server)
                self._release()
                raise
            now = self._clock()
            self.times.add(now - sent_at)
            self.fleet.succeeded(server)
            self._release()
            self.requests.succeeded(now)
            self.replies += 1
            self.last_reply_at = now
            self.trouble_since = None
            return result

    def heard(self, headers: Mapping[str, str]) -> None:
        """A reply's headers: the provider's stated limits, when it sends them."""
        now = self._clock()
        requests = read_limits(headers, "requests")
        if requests is not None:
            self.requests.learn(requests, now)
        tokens = read_limits(headers, "tokens")
        if tokens is not None:
            self.tokens.learn(tokens, now)

    def _check_patience(self, now: float) -> None:
        """Give up once no attempt has succeeded for the run's patience: the request at hand and
        every request waiting for a turn fail with :class:`PatienceExhausted`."""
        if self.gave_up is None:
            since = self.trouble_since
            if since is None or now - since < self.patience_s:
                return
            fault = self.last_fault
            self.gave_up = PatienceExhausted(
                f"no reply from {self._where()} for {_whole(now - since)} (--patience {self.patience_s:g} s); "
                f"the last attempt: {fault.said if fault is not None else 'none'}"
            )
            for *_, waiter in self._queue:
                if not waiter.done():
                    waiter.set_exception(self.gave_up)
            self._queue.clear()
        raise self.gave_up

    def _retry_delay(self, fault: Fault, failures: int, now: float) -> float:
        """How long a failed request waits before it asks for its next turn; never past the end
        of the run's patience, so that it is checked on time."""
        if fault.retry_after_s is not None and fault.retry_after_s > 0:
            delay = min(fault.retry_after_s, LONGEST_RETRY_AFTER_S)
            if fault.kind == "rate_limited":  # the provider's limit is the account's: nobody sends before then
                self.requests.hold_until = max(self.requests.hold_until, now + delay)
        else:
            delay = min(RETRY_LONGEST_S, RETRY_FIRST_S * 2 ** min(failures - 1, 16)) * (0.5 + self._jitter())
        since = self.trouble_since if self.trouble_since is not None else now
        return max(0.0, min(delay, since + self.patience_s - now + 0.01))

    # -- turns -----------------------------------------------------------------------------------

    async def _turn(self, key: tuple[float, ...], tokens: int) -> Server:
        """Wait for this request's turn; returns the server it goes to."""
        if self.gave_up is not None:
            raise self.gave_up
        waiter: asyncio.Future[Server] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._queue, (key, next(self._order), tokens, waiter))
        self._pump()
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():  # granted just before the cancel: give it back
                self.fleet.abandoned(waiter.result())
                self._release()
            raise

    def _release(self) -> None:
        self.on_wire -= 1
        self._pump()

    def _pump(self) -> None:
        """Grant turns, lowest key first, while everything allows; otherwise wake up when it may."""
        queue = self._queue
        while queue:
            _, _, tokens, waiter = queue[0]
            if waiter.done():  # its request was abandoned while it waited
                heapq.heappop(queue)
                continue
            if self.on_wire >= self.concurrency:
                return  # a request that ends pumps again
            server = self.fleet.pick()
            now = self._clock()
            if server is None:  # every server is down: wait for the next probe, or the end of patience
                if self.trouble_since is not None and now - self.trouble_since >= self.patience_s:
                    try:
                        self._check_patience(now)
                    except PatienceExhausted:
                        return
                wake = [self.fleet.next_probe_at()]
                if self.trouble_since is not None:
                    wake.append(self.trouble_since + self.patience_s)
                at = min((when for when in wake if when is not None), default=None)
                if at is not None:
                    self._wake_in(at - now)
                return  # or a probe is out: its end pumps again
            delay = max(self.requests.delay(now), self.tokens.delay(now, tokens))
            if delay > 0:
                self._wake_in(delay)
                return
            entry = heapq.heappop(queue) if not server.down else self._least_urgent()
            self.requests.sent(now)
            self.tokens.sent(now, tokens)
            self.fleet.sent(server)
            self.on_wire += 1
            self.sent += 1
            entry[3].set_result(server)

    def _least_urgent(self) -> tuple[tuple[float, ...], int, int, asyncio.Future[Server]]:
        """Take the waiting request that matters least: the one to probe a server that is down
        with, so that the oldest step never waits on a probe."""
        live = [entry for entry in self._queue if not entry[3].done()]
        entry = max(live, key=lambda item: (item[0], item[1]))
        self._queue.remove(entry)
        heapq.heapify(self._queue)
        return entry

    def _wake_in(self, delay: float) -> None:
        loop = asyncio.get_running_loop()
        at = loop.time() + max(0.0, delay)
        if self._timer is not None and self._timer_at <= at:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = at
        self._timer = loop.call_at(at, self._woken)

    def _woken(self) -> None:
        self._timer, self._timer_at = None, math.inf
        self._pump()

    # -- what it did -----------------------------------------------------------------------------

    def report(self) -> WireReport:
        """The wire's counters and state now (any thread)."""
        now = self._clock()
        rate = self.requests.rate
        objected = self.requests.objected_at
        learned = self.requests.learned
        limit = learned * 60 if not math.isinf(learned) else (objected * 60 if objected is not None else None)
        source = "headers" if not math.isinf(learned) else "429s" if objected is not None else ""
        return WireReport(
            requests=self.sent,
            replies=self.replies,
            retries=self.retries,
            hedged=self.hedged,
            faults={kind: count for kind, count in self.faults.items() if count},
            in_flight=self.on_wire,
            queued=sum(1 for *_, waiter in list(self._queue) if not waiter.done()),
            concurrency=self.concurrency,
            rate_rpm=None if math.isinf(rate) else round(rate * 60, 1),
            limit_rpm=None if limit is None else round(limit, 1),
            limit_source=source,
            ceiling_rpm=self.ceiling_rpm,
            sent_rpm=round(self.requests.measured * 60, 1),
            status=self.status(now),
            servers=self.fleet.reports(),
        )

    def status(self, now: float | None = None) -> str:
        """What holds the wire back, in words; empty when nothing does. Read from any thread: each
        server's state is read once."""
        now = self._clock() if now is None else now
        servers = self.fleet.servers
        down = [(since, server) for server in servers if (since := server.down_since) is not None]
        if down:
            since = min(when for when, _ in down)
            said = down[0][1].last_fault or "no reply"
            if len(down) < len(servers):
                return f"{len(down)} of {len(servers)} servers down ({said}) for {_whole(now - since)}"
            probe_at = self.fleet.next_probe_at()
            when = "retrying now" if probe_at is None else f"retrying in {_whole(max(0.0, probe_at - now))}"
            what = said if len(servers) == 1 else f"all {len(servers)} servers down ({said})"
            return f"{what} for {_whole(now - since)}; {when}{self._gives_up_in(now)}"
        if now - self._last_throttle_at < RECENT_S:
            rate = self.requests.rate
            pace = f"sending at most {rate * 60:,.0f}/min" if not math.isinf(rate) else "slowing down"
            return f"rate limited (429: too many requests); {pace}{self._gives_up_in(now)}"
        return ""

    def _gives_up_in(self, now: float) -> str:
        """When the patience will run out, while it is being tried."""
        since = self.trouble_since
        if since is None or now - since < RECENT_S:
            return ""
        return f"; gives up in {_whole(max(0.0, since + self.patience_s - now))}"

    def _where(self) -> str:
        servers = self.fleet.servers
        if len(servers) == 1:
            return "the model server"
        return f"any of the {len(servers)} model servers"



def _whole(seconds: float) -> str:
    return duration_text(seconds, whole=True)
