"""Thread-safe switches a UI flips to steer a running engine: pause, single steps, pace, stop."""

from __future__ import annotations

import asyncio
import threading

POLL_S = 0.01
"""How often a paused engine looks for a resume, a step or a stop."""


class RunControl:
    """Pause, resume, one step, one sample, pace and stop, callable from any thread.

    The runner awaits :meth:`gate` before each step and each sample. At full speed and not paused
    that is a single attribute check.
    """

    def __init__(self, samples_per_second: float | None = None, paused: bool = False) -> None:
        self._lock = threading.Lock()
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
        with self._lock:
            self._paused = True
            self._refresh()

    def resume(self) -> None:
        with self._lock:
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
        with self._lock:
            self._step_requested = True

    def sample(self) -> None:
        """While paused: let one more sample go out."""
        with self._lock:
            self._sample_credits += 1

    def set_pace(self, samples_per_second: float | None) -> None:
        with self._lock:
            self._samples_per_second = samples_per_second
            self._refresh()

    def stop(self) -> None:
        with self._lock:
            self.stop_requested = True
            self.engaged = True

    def _refresh(self) -> None:
        self.engaged = self._paused or self._samples_per_second is not None or self.stop_requested

    # -- called by the runner -----------------------------------------------------------------

    async def gate(self, step_start: bool) -> None:
        """Wait until the run may go on: not paused, or a step or sample was requested; then pace."""
        while not self.stop_requested:
            with self._lock:
                if step_start:
                    self._in_requested_step = False
                if not self._paused or self._in_requested_step:
                    break
                if self._step_requested:
                    self._step_requested = False
                    self._in_requested_step = True
                    break
                if not step_start and self._sample_credits:
                    self._sample_credits -= 1
                    break
            await asyncio.sleep(POLL_S)
        pace = self._samples_per_second
        if pace and not step_start and not self.stop_requested:
            await asyncio.sleep(1.0 / pace)
