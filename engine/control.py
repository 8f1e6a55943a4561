"""Thread-safe switches a UI flips to steer a running engine: pause, single steps, pace, stop."""

from __future__ import annotations

import asyncio
import threading
import time

POLL_S = 0.01
"""How often an engine waiting in the event loop looks for a resume, a step or a stop."""


class RunControl:
    """Pause, resume, one step, one sample, pace and stop, callable from any thread.

    The runner passes a gate before each step and each sample: :meth:`wait` when its sampler never
    waits (the engine thread has nothing else to do), :meth:`gate` from the event loop otherwise.
    At full speed and not paused the runner skips the gate on one attribute check (``engaged``).
    """

    def __init__(self, samples_per_second: float | None = None, paused: bool = False) -> None:
        self._changed = threading.Condition()
        self._paused = paused
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

    def pause(self) -> None:
        with self._changed:
            self._paused = True
            self._refresh()

    def resume(self) -> None:
        with self._changed:
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
        with self._changed:
            self.stop_requested = True
            self._refresh()

    def _refresh(self) -> None:
        self.engaged = self._paused or self._samples_per_second is not None or self.stop_requested
        self._changed.notify_all()

    # -- called by the runner -----------------------------------------------------------------

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
        """Block this thread until the run may go on, then keep the pace before a sample."""
        with self._changed:
            while not self._may_pass(step_start):
                self._changed.wait()
            if step_start or self.stop_requested or not self._samples_per_second:
                return
            # Pace: sleep out the interval, but wake at once for a pause, a pace change or a stop.
            deadline = time.monotonic() + 1.0 / self._samples_per_second
            while not self.stop_requested and (remaining := deadline - time.monotonic()) > 0:
                pace = self._samples_per_second
                self._changed.wait(remaining)
                if self._samples_per_second != pace:
                    return

    async def gate(self, step_start: bool) -> None:
        """The same as :meth:`wait`, polling from the event loop so that tasks in flight go on."""
        while True:
            with self._changed:
                if self._may_pass(step_start):
                    break
            await asyncio.sleep(POLL_S)
        pace = self._samples_per_second
        if pace and not step_start and not self.stop_requested:
            await asyncio.sleep(1.0 / pace)
