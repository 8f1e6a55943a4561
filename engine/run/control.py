"""Thread-safe switches a UI flips to steer a running engine: pause, single steps, pace, stop."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
import time
from collections.abc import Callable

POLL_S = 0.01
"""How often an engine waiting in the event loop looks for a resume, a step or a stop."""
STOP_SIGNALS: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)  # Windows has no SIGHUP
)
"""Signals that stop a run as a user's stop does (``q``, Ctrl-C): a kill, a closed terminal."""


class RunControl:
    """Pause, resume, one step, one sample, pace and stop, callable from any thread.

    The runner passes a gate before each step and each sample: :meth:`wait` when its sampler never
    waits (the engine thread has nothing else to do), :meth:`gate` from the event loop otherwise.
    At full speed and not paused the runner skips the gate on one attribute check (``engaged``).
    A stop also wakes a runner that awaits replies (:meth:`stopped`), so it cancels them at once.
    """

    def __init__(
        self, samples_per_second: float | None = None, paused: bool = False, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._changed = threading.Condition()
        self._clock = clock
        self._paused = paused
        self._paused_since: float | None = clock() if paused else None
        self._paused_s = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self.parked = False
        """True while the engine waits at a gate for a resume, a step or a sample."""
        self._samples_per_second = samples_per_second
        self._step_requested = False
        self._sample_credits = 0
        self._in_requested_step = False
        self.stop_requested = False
        self.engaged = paused or samples_per_second is not None
        """False when the runner may skip the gate entirely (running, full speed)."""

    # -- called by the UI ---------------------------------------------------------------------

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def samples_per_second(self) -> float | None:
        """The pace; None is as fast as the engine goes."""
        return self._samples_per_second

    def paused_s(self) -> float:
        """Seconds spent paused so far (a forecast's clock leaves them out)."""
        with self._changed:
            since = self._paused_since
            return self._paused_s + (self._clock() - since if since is not None else 0.0)

    def pause(self) -> None:
        with self._changed:
            if not self._paused:
                self._paused_since = self._clock()
            self._paused = True
            self._refresh()

    def resume(self) -> None:
        with self._changed:
            if self._paused_since is not None:
                self._paused_s += self._clock() - self._paused_since
                self._paused_since = None
            self._paused = False
            self._step_requested = False
            self._sample_credits = 0
            self._refresh()

    def toggle_pause(self) -> bool:
        """Pause or resume; returns the new paused flag."""
        if self._paused:
            self.resume()
        else:
            self.pause()
        return self._paused

    def step(self) -> None:
        """While paused: finish the current step, or run the next one when between steps."""
        with self._changed:
            self._step_requested = True
            self._changed.notify_all()

    def sample(self) -> None:
        """While paused: let one more sample go out."""
        with self._changed:
            self._sample_credits += 1
            self._changed.notify_all()

    def set_pace(self, samples_per_second: float | None) -> None:
        with self._changed:
            self._samples_per_second = samples_per_second
            self._refresh()

    def stop(self) -> None:
        """Stop the run: from any thread, at once, whatever the model is doing."""
        with self._changed:
            self.stop_requested = True
            self._refresh()
            loop, event = self._loop, self._stop_event
        if loop is not None and event is not None:
            with contextlib.suppress(RuntimeError):  # the loop has closed: the run is over
                loop.call_soon_threadsafe(event.set)

    def _refresh(self) -> None:
        self.engaged = self._paused or self._samples_per_second is not None or self.stop_requested
        self._changed.notify_all()

    # -- called by the runner -----------------------------------------------------------------

    async def stopped(self) -> None:
        """Return once a stop is requested; the runner awaits it beside the replies in flight."""
        with self._changed:
            self._loop = asyncio.get_running_loop()
            self._stop_event = event = asyncio.Event()
            if self.stop_requested:
                event.set()
        await event.wait()

    def _may_pass(self, step_start: bool) -> bool:
        """Whether the run may go on now; consumes a step or sample request. Hold the lock."""
        if self.stop_requested:
            return True
        if step_start:
            self._in_requested_step = False
        if not self._paused or self._in_requested_step:
            return True
        if self._step_requested:
            self._step_requested = False
            self._in_requested_step = True
            return True
        if self._sample_credits:
            # A step may start for a requested sample; the sample's own gate takes the credit.
            if not step_start:
                self._sample_credits -= 1
            return True
        return False

    def wait(self, step_start: bool) -> None:
        """Block this thread until the run may go on, then keep the pace before a sample. A pause
        that comes during the pace holds the sample back until the run may go on again."""
        with self._changed:
            while True:
                while not self._may_pass(step_start):
                    self.parked = True
                    self._changed.wait()
                self.parked = False
                if step_start or self.stop_requested or not self._samples_per_second:
                    return
                let_through_paused = self._paused  # a requested step or sample: a pause does not hold it
                # Pace: sleep out the interval, but wake at once for a pause, a pace change or a stop.
                deadline = time.monotonic() + 1.0 / self._samples_per_second
                while not self.stop_requested and (remaining := deadline - time.monotonic()) > 0:
                    pace = self._samples_per_second
                    self._changed.wait(remaining)
                    if self._samples_per_second != pace or (self._held() and not let_through_paused):
                        break
                if let_through_paused or not self._held():
                    return

    def _held(self) -> bool:
        """Paused, outside a requested step: a sample that passed its gate running waits. Hold the lock."""
        return self._paused and not self._in_requested_step and not self.stop_requested

    async def gate(self, step_start: bool) -> None:
        """The same as :meth:`wait`, polling from the event loop so that tasks in flight go on."""
        while True:
            while True:
                with self._changed:
                    self.parked = not self._may_pass(step_start)
                    if not self.parked:
                        break
                await asyncio.sleep(POLL_S)
            pace = self._samples_per_second
            if not pace or step_start or self.stop_requested:
                return
            let_through_paused = self._paused
            event = self._stop_event
            if event is None:
                await asyncio.sleep(1.0 / pace)
            else:  # keep the pace, but wake for a stop
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), 1.0 / pace)
            with self._changed:
                if let_through_paused or not self._held():
                    return
