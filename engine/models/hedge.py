"""Hedged requests: a slow reply holding up the oldest step is asked for a second time.

Replies have a long tail: now and then one takes many times the median. A step is judged in the
order its requests were launched, so one slow reply holds up its step, and the steps sampled ahead
of it wait in the window until it is decided. So when a request of the oldest step has been on the
wire ``HEDGE_FACTOR`` times the median reply time (and at least ``HEDGE_MIN_S``), the same request
is sent again beside it, and whichever reply comes first is the sample; the other is abandoned
("The Tail at Scale", Dean and Barroso, 2013). It costs a request for about one sample in twenty
when one in twenty is slow, and only for the step everyone waits for.

What a hedge changes: the sample is the faster of two draws, and a slow reply is often a long one,
which is the kind MAKER red-flags anyway. A calibration never hedges (it measures each reply as it
comes), nor does a run with a budget (the budget reserves every request it sends, and a hedge is
one more); ``--no-hedge`` turns it off for any run. The abandoned try may still be billed by the
provider, as any request cancelled in flight may.
"""

from __future__ import annotations

import asyncio
import statistics
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

T = TypeVar("T")

HEDGE_FACTOR = 3.0
HEDGE_MIN_S = 0.5
"""Never sooner than this: a reply's time varies by more than a few milliseconds anyway."""
REPLIES_FIRST = 20
"""Replies timed before the first hedge: what the median is taken over."""
RECENT = 200


class Lane:
    """One of a request's two tries: when its current attempt went on the wire (None: it has
    not yet, or it is waiting to try again)."""

    __slots__ = ("since",)

    def __init__(self) -> None:
        self.since: float | None = None


class ReplyTimes:
    """Recent reply times, for the moment a request counts as slow."""

    def __init__(self) -> None:
        self._recent: deque[float] = deque(maxlen=RECENT)
        self._median: float | None = None
        self._since = 0

    def add(self, seconds: float) -> None:
        self._recent.append(seconds)
        self._since += 1
        if self._since >= REPLIES_FIRST or (self._median is None and len(self._recent) >= REPLIES_FIRST):
            self._median = statistics.median(self._recent)
            self._since = 0

    def hedge_after(self) -> float | None:
        """Seconds on the wire after which a request is sent again; None until enough are timed."""
        return None if self._median is None else max(HEDGE_MIN_S, HEDGE_FACTOR * self._median)


class Racer(Protocol):
    """What a race needs of the wire."""

    times: ReplyTimes
    hedged: int

    def lane(self, attempt: Callable[..., Awaitable[T]], key: tuple[float, ...], tokens: int, lane: Lane) -> Awaitable[T]: ...
    def oldest(self, key: tuple[float, ...]) -> bool: ...
    def oldest_moves(self) -> asyncio.Future[None]: ...
    def now(self) -> float: ...


async def race(wire: Racer, attempt: Callable[..., Awaitable[T]], key: tuple[float, ...], tokens: int) -> T:
    """The request, sent again beside itself when it is slow and its step is the oldest; the
    first reply wins and the other try is abandoned."""
    first = Lane()
    tasks = [asyncio.ensure_future(wire.lane(attempt, key, tokens, first))]
    try:
        while True:
            waits: list[asyncio.Future[Any]] = list(tasks)
            timeout = None
            after = wire.times.hedge_after() if len(tasks) == 1 else None
            if after is not None:
                if first.since is None:  # not on the wire yet (waiting its turn, or to try again)
                    timeout = after
                elif (due := first.since + after - wire.now()) > 0:
                    timeout = due
                elif wire.oldest(key):
                    tasks.append(asyncio.ensure_future(wire.lane(attempt, key, tokens, Lane())))
                    wire.hedged += 1
                    continue
                else:  # slow, but a step before it is still under way: wait for that to end
                    waits.append(wire.oldest_moves())
            done, _ = await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waits[len(tasks):]:
                waiter.cancel()
            for task in tasks:
                if task in done:
                    return task.result()
    finally:
        for task in tasks:
            if task.done():
                _collect(task)  # both tries may have ended together: take the other's outcome too
            else:
                task.cancel()
                task.add_done_callback(_collect)


def _collect(task: asyncio.Task[object]) -> None:
    """Take an abandoned try's outcome, so that asyncio logs nothing about it."""
    if not task.cancelled():
        task.exception()
