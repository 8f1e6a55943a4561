"""The replay screen: a recording played back through the same panes, without any API call."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static

from engine.recording.format import RecordingError
from engine.view.inspect import StepInspection
from engine.view.replay import ReplayCursor
from engine.view.snapshot import Snapshot
from engine.view.tour import TourStop, tour_stops
from tui.screens.board import BoardScreen, PaletteCommand, faster, slower
from tui.screens.goto import GoToStep
from tui.widgets.caption import CaptionView, TourCaption
from tui.widgets.progress import SeekBar
from tui.widgets.status import speed_text

FULL_SPEED_SAMPLES_PER_FRAME = 5000
DEMO_TITLE = "MAKER: a million-step LLM task with zero errors"
DEMO_EXPLANATION = (
    "Each move is asked of the model again and again; the first answer ahead of every other by k votes "
    "wins. Malformed or overlong replies are red-flagged and never counted."
)
DEMO_CONTESTED_SHARE = 1 / 6
"""The demo's pace through steps with a disagreement or a red flag, as a share of its pace through
unanimous steps: slow enough for an audience to follow the race."""
DEMO_REST_S = 5.0
"""Seconds the demo rests on the finished tower before it starts again."""
UNTIL_HOLD_S = 2.0
"""Seconds a replay told to end at a step (``--until``) stays on it, decided, before it quits."""


class ReplayScreen(BoardScreen):
    """Plays a recording: within a step the samples appear in their recorded order."""

    inherit_bindings = False  # the board's keys after this screen's own, in the footer too
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle_play", "Play/pause"),
        Binding("T", "tour", "Tour"),
        Binding("escape", "leave_tour", "Leave tour"),
        Binding("right", "step_forward", "Step"),
        Binding("left", "step_back", "Back"),
        Binding("pagedown", "jump(1)", "+1%"),
        Binding("pageup", "jump(-1)", "-1%"),
        Binding("home", "seek_start", "Start", show=False),
        Binding("end", "seek_end", "End", show=False),
        Binding("g", "go_to", "Go to"),
        *BoardScreen.BINDINGS,
    ]

    mode = "replay"

    def __init__(
        self,
        cursor: ReplayCursor,
        *,
        demo: bool = False,
        playing: bool | None = None,
        speed: float | None = 10.0,
        frame_rate: float = 20.0,
        clock: Callable[[], float] = time.monotonic,
        tour: bool = False,
        until: int | None = None,
    ) -> None:
        super().__init__(frame_rate)
        self.cursor = cursor
        self.demo = demo
        self.mode = "demo" if demo else "replay"
        cursor.playing = demo if playing is None else playing  # the demo plays unless told
        cursor.speed = speed
        self.clock = clock
        self._last: float | None = None
        """When the last frame was: None before the first, which plays nothing (the app's start-up
        is not time to play through)."""
        self._budget = 0.0
        self._rested = 0.0
        self.open_on_tour = tour
        """Open on the guided tour (``maker demo --tour``)."""
        self.until = until
        """Quit once this step is decided and has been on screen for :data:`UNTIL_HOLD_S` (a replay
        made into a file: ``maker export --cast``)."""
        self._held = 0.0
        self._stops: list[TourStop] | None = None
        self.tour_stop: int | None = None
        """The tour's stop on screen (from 0), or None when no tour is on."""

    def compose(self) -> ComposeResult:
        yield TourCaption(id="tour-caption")
        if self.demo:
            yield Static(DEMO_TITLE, id="demo-title")
            yield Static(DEMO_EXPLANATION, id="demo-explanation")
        yield from super().compose()

    def on_mount(self) -> None:
        if self.open_on_tour:
            self.call_after_refresh(self.action_tour)

    def take_snapshot(self) -> Snapshot:
        return self.cursor.snapshot()

    def inspection(self) -> StepInspection:
        return self.cursor.inspection()

    def cost_series(self) -> list[tuple[int, float]]:
        series: list[tuple[int, float]] = []
        self._safely(lambda: series.extend(self.cursor.cost_series()))
        return series

    def tick(self) -> None:
        now = self.clock()
        elapsed, self._last = (0.0 if self._last is None else now - self._last), now
        self._safely(lambda: self._advance(elapsed))
        super().tick()

    def _safely(self, move: Callable[[], object]) -> None:
        """Move the cursor; a damaged part of the recording stops the replay with one line on screen."""
        try:
            move()
        except RecordingError as exc:
            self.cursor.playing = False
            self.notify(str(exc), title="Damaged recording", severity="error", timeout=30)

    def _advance(self, elapsed: float) -> None:
        cursor = self.cursor
        if self._reached_until():  # held there, still playing, then the app ends
            self._held += elapsed
            if self._held >= UNTIL_HOLD_S:
                self.until = None
                self.call_later(self.app.action_quit)
            return
        if cursor.playing:
            if cursor.at_end:
                if self.demo:
                    self._rested += elapsed
                    if self._rested >= DEMO_REST_S:
                        self._rested = 0.0
                        cursor.seek(1)
                else:
                    cursor.playing = False
            else:
                self._play(elapsed)

    def _play(self, elapsed: float) -> None:
        cursor = self.cursor
        if cursor.speed is None:
            self._reveal(FULL_SPEED_SAMPLES_PER_FRAME)
            return
        pace = cursor.speed
        if self.demo:
            record = cursor.record
            if len(record.samples) > record.k or any(s.red_flag for s in record.samples):
                pace *= DEMO_CONTESTED_SHARE
        # Samples owed, at most a second's worth (and at least one, so a pace under one a second moves).
        self._budget = min(self._budget + pace * elapsed, max(pace, 1.0))
        whole = int(self._budget)
        if whole:
            self._budget -= self._reveal(whole)

    def _reached_until(self) -> bool:
        """Whether the step the replay ends on (``until``) is decided, or passed."""
        cursor = self.cursor
        return self.until is not None and (cursor.step > self.until or (
            cursor.step == self.until and cursor.revealed == len(cursor.record.samples)))

    def _reveal(self, samples: int) -> int:
        """Reveal up to ``samples`` samples, never beyond the decision of ``until``."""
        if self.until is None:
            return self.cursor.advance(samples)
        done = 0
        while done < samples and not self._reached_until() and self.cursor.advance(1):
            done += 1
        return done

    def palette_commands(self) -> list[PaletteCommand]:
        return [
            ("Play or pause", "Play the recording, or stop it where it is", self.action_toggle_play),
            ("Step forward", "Decide the current step, or the next one", self.action_step_forward),
            ("Step back", "The previous step, decided", self.action_step_back),
            ("Go to step…", "Jump to a step by its number", self.action_go_to),
            ("Start", "The first step", self.action_seek_start),
            ("End", "The last step", self.action_seek_end),
            *super().palette_commands(),
        ]

    # -- the guided tour ------------------------------------------------------------------------------

    def action_tour(self) -> None:
        """Start the tour at its first stop (again, if it is on)."""
        if self._stops is None:
            self._safely(lambda: setattr(self, "_stops", tour_stops(self.cursor.recording)))
        if not self._stops:
            self.notify("This recording has no step to tour.", timeout=4)
            return
        self._visit(0)

    def _visit(self, number: int) -> None:
        """Stand on a stop: its step decided, its caption above, its red flag in the inspector."""
        stops = self._stops or []
        self.tour_stop = number
        self.refresh_bindings()  # Esc now leaves the tour
        stop = stops[number]
        self.cursor.playing = False
        self._stand_on(stop.step)
        view = CaptionView(stop, number + 1, len(stops))
        self.query_one(TourCaption).view = view
        for part in self.query("#demo-title, #demo-explanation"):
            part.display = False
        if stop.sample is not None:
            from tui.screens.inspector import InspectorScreen

            def back(result: str | None) -> None:
                if result == "next" and self.tour_stop == number:
                    self.action_next_stop()

            inspector = InspectorScreen(self.cursor.inspection(), stop.sample,
                                        caption=view._replace(keys="space: next stop · Esc: back to the board"))
            self.app.push_screen(inspector, back)

    def action_next_stop(self) -> None:
        """Space during the tour: the next stop; after the last, the tour ends."""
        if self.tour_stop is None or self._stops is None:
            return
        if self.tour_stop + 1 < len(self._stops):
            self._visit(self.tour_stop + 1)
        else:
            self.action_leave_tour()

    def action_leave_tour(self) -> None:
        if self.tour_stop is None:
            return
        self.tour_stop = None
        self.refresh_bindings()
        self.query_one(TourCaption).view = None
        for part in self.query("#demo-title, #demo-explanation"):
            part.display = True
        if self.demo:  # the demo loops on from where the tour left it
            self.cursor.playing = True
            self._last = self.clock()

    def action_toggle_play(self) -> None:
        if self.tour_stop is not None:
            self.action_next_stop()
            return
        self.cursor.playing = not self.cursor.playing
        self._last = self.clock()
        self.tick()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Esc leaves the tour, and is no key of this screen's while no tour is on."""
        return self.tour_stop is not None if action == "leave_tour" else super().check_action(action, parameters)

    def action_step_forward(self) -> None:
        self.action_leave_tour()  # a move of the user's own ends the tour
        self.cursor.playing = False
        self._safely(self.cursor.step_forward)
        self.tick()

    def action_step_back(self) -> None:
        self.action_leave_tour()
        self.cursor.playing = False
        self._safely(self.cursor.step_back)
        self.tick()

    def action_jump(self, percent: int) -> None:
        total = self.cursor.last_step
        self.seek(self.cursor.step + max(1, total // 100) * percent)

    def action_seek_start(self) -> None:
        self.seek(1)

    def action_seek_end(self) -> None:
        self.seek(self.cursor.last_step)

    def action_go_to(self) -> None:
        def chosen(step: int | None) -> None:
            if step is not None:
                self.seek(step)

        self.app.push_screen(GoToStep(self.cursor.last_step), chosen)

    def seek(self, step: int) -> None:
        """Go to ``step`` (a move of the user's own, which ends a tour)."""
        self.action_leave_tour()
        self._stand_on(step)

    def _stand_on(self, step: int) -> None:
        """Stand on ``step`` with all its samples shown (its decision included)."""
        self._safely(lambda: self.cursor.seek(step, reveal_all=True))
        self.tick()

    def on_seek_bar_clicked(self, message: SeekBar.Clicked) -> None:
        self.seek(1 + round(message.fraction * (self.cursor.last_step - 1)))

    def action_faster(self) -> None:
        self.cursor.speed = faster(self.cursor.speed)
        self.notify(speed_text(self.cursor.speed), timeout=1.5)
        self.tick()

    def action_slower(self) -> None:
        self.cursor.speed = slower(self.cursor.speed)
        self.notify(speed_text(self.cursor.speed), timeout=1.5)
        self.tick()

    async def shutdown(self) -> None:
        self.cursor.recording.close()
