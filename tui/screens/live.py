"""The live screen: a run on its engine thread, steered by the keyboard."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.worker import Worker, WorkerState

from engine.run.session import Session
from engine.run.summary import RunSummary
from engine.view.inspect import StepInspection
from engine.view.live import LiveView
from engine.view.snapshot import Snapshot
from tui.screens.board import BoardScreen, PaletteCommand, faster, slower
from tui.widgets.status import StatusLine, speed_text

DETAIL_PACE = 1000.0
"""Samples a second up to which the screen follows every vote; faster, it shows a summary."""
WATCHABLE_STEPS_PER_S = 10.0
"""Steps a second below which the race stays on screen at full speed (a served model's steps
usually go by this slowly); it leaves again above ``FLEETING_STEPS_PER_S``."""
FLEETING_STEPS_PER_S = 30.0
STEP_RATE_WINDOW_S = 2.0
"""The stretch of running time over which the steps a second are measured."""
SHUTDOWN_WAIT_S = 10.0
"""The most quitting waits for the engine's thread to close the recording."""
SUMMARY_FRAME_RATE = 2.0
"""Frames a second at full speed: every pane changes every frame there, and each frame costs the
engine the time the UI holds the GIL to draw it."""


class LiveScreen(BoardScreen):
    """Watches a run: the engine runs in a thread worker; the screen pulls snapshots from a
    :class:`LiveView` at its frame rate, whatever the engine's pace."""

    inherit_bindings = False  # the board's keys after this screen's own, in the footer too
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle_pause", "Pause/resume"),
        Binding("n,right", "step", "Step"),
        Binding("s", "sample", "Sample"),
        *BoardScreen.BINDINGS,
    ]

    mode = "live"

    def __init__(self, session: Session, live: LiveView, frame_rate: float = 20.0) -> None:
        super().__init__(frame_rate)
        self.session = session
        self.live = live
        self.control = session.control
        self.summary: RunSummary | None = None
        self._worker: Worker[RunSummary] | None = None
        self._frames = 0
        self._watchable = not session.runner.sampler.completes_without_waiting
        """Steps go by slowly enough to watch them: at first, when the model keeps the run waiting
        for its replies; then as measured."""
        self._step_marks: deque[tuple[float, int]] = deque()

    def on_mount(self) -> None:
        # Textual calls BoardScreen.on_mount too (handlers run for every class in the MRO).
        self._worker = self.run_worker(
            self._run_engine,
            name="engine",
            group="engine",
            description="the MAKER run",
            exclusive=True,
            thread=True,
            exit_on_error=False,
        )

    def _run_engine(self) -> RunSummary:
        """The engine thread: the run with its own event loop; the recording is closed at the end."""
        return asyncio.run(self.session.run())

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker is not self._worker:
            return
        if event.state == WorkerState.SUCCESS:
            self.summary = event.worker.result
            self.refresh_now()
        elif event.state == WorkerState.ERROR:
            self.notify(f"the run failed: {event.worker.error}", severity="error", timeout=30)

    def take_snapshot(self) -> Snapshot:
        pace = self.control.samples_per_second
        self.live.set_detail(self.control.paused or (pace is not None and pace <= DETAIL_PACE) or self._watchable)
        snapshot = self.live.snapshot()
        self._measure_steps(snapshot)
        return snapshot

    def _measure_steps(self, snapshot: Snapshot) -> None:
        """Follow how fast steps go by (by the run's own clock), to keep the race on screen at
        full speed while they go by slowly enough to watch."""
        marks = self._step_marks
        marks.append((snapshot.elapsed_s, snapshot.steps_done))
        while len(marks) > 2 and snapshot.elapsed_s - marks[1][0] >= STEP_RATE_WINDOW_S:
            marks.popleft()
        span = marks[-1][0] - marks[0][0]
        if span >= STEP_RATE_WINDOW_S / 2:
            rate = (marks[-1][1] - marks[0][1]) / span
            if rate < WATCHABLE_STEPS_PER_S:
                self._watchable = True
            elif rate > FLEETING_STEPS_PER_S:
                self._watchable = False

    def inspection(self) -> StepInspection | None:
        return self.live.inspection()

    def cost_series(self) -> list[tuple[int, float]]:
        return self.live.cost_series()

    def tick(self) -> None:
        # At full speed every frame redraws every pane; a few frames a second are plenty there.
        self._frames += 1
        every = max(1, round(self.frame_rate / SUMMARY_FRAME_RATE))
        if not self.live.detail and self._frames % every and self.summary is None:
            return
        super().tick()

    def refresh_now(self) -> None:
        """Draw a whole frame at once, whatever the frame schedule."""
        super().tick()

    def acknowledge(self) -> None:
        """Show a key's effect at once in the status line; the panes follow at the next frame.

        Drawing every pane here would hold the GIL against a full-speed engine for tens of
        milliseconds before the key shows at all.
        """
        self.query_one(StatusLine).show(self.take_snapshot())

    def palette_commands(self) -> list[PaletteCommand]:
        return [
            ("Pause or resume", "Pause the engine, or let it go on", self.action_toggle_pause),
            ("One step", "While paused: finish the current step or run the next", self.action_step),
            ("One sample", "While paused: draw one more sample", self.action_sample),
            *super().palette_commands(),
        ]

    def action_toggle_pause(self) -> None:
        self.control.toggle_pause()
        self.acknowledge()

    def action_step(self) -> None:
        if not self.control.paused:
            self.control.pause()
        self.control.step()
        self.acknowledge()

    def action_sample(self) -> None:
        if not self.control.paused:
            self.control.pause()
        self.control.sample()
        self.acknowledge()

    def action_faster(self) -> None:
        self.control.set_pace(faster(self.control.samples_per_second))
        self.notify(speed_text(self.control.samples_per_second), timeout=1.5)
        self.acknowledge()

    def action_slower(self) -> None:
        self.control.set_pace(slower(self.control.samples_per_second))
        self.notify(speed_text(self.control.samples_per_second), timeout=1.5)
        self.acknowledge()

    async def shutdown(self) -> None:
        """Stop the engine and wait for its thread: the recording is closed before the app exits.
        The engine cancels what is in flight at once; the wait is bounded all the same."""
        self.control.stop()
        if self._worker is not None:
            with contextlib.suppress(Exception):  # a failure was shown when the worker changed state
                await asyncio.wait_for(self._worker.wait(), SHUTDOWN_WAIT_S)

    def on_unmount(self) -> None:
        """However the app ends, the engine thread must not be left waiting on a paused run, and
        the engine must not keep calling a screen that is gone."""
        self.control.stop()
        self.live.close()
