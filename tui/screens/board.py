"""The board every run screen shares: status line, towers, tally, progress, cost, red flags,
forecast, and a served model's wire."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, TypeVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widget import Widget

from engine.view.inspect import StepInspection
from engine.view.snapshot import Snapshot
from tui.widgets.cost import Cost
from tui.widgets.flags import RedFlags
from tui.widgets.footer import MakerFooter
from tui.widgets.forecast import ForecastPane
from tui.widgets.progress import Progress
from tui.widgets.status import StatusLine
from tui.widgets.tally import TallyPane
from tui.widgets.towers import Towers
from tui.widgets.wire import WirePane

SPEEDS: tuple[float | None, ...] = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000, None)
"""Paces a user steps through with + and -, in samples a second; None is as fast as it goes."""

PaletteCommand = tuple[str, str, Callable[[], object]]


W = TypeVar("W", bound=Widget)


def _titled(widget: W, title: str) -> W:
    """A pane with its title on its border."""
    widget.border_title = title
    return widget


def faster(speed: float | None) -> float | None:
    if speed is None:
        return None
    return next((s for s in SPEEDS if s is None or s > speed), None)


def slower(speed: float | None) -> float | None:
    if speed is None:
        return SPEEDS[-2]
    return next((s for s in reversed(SPEEDS) if s is not None and s < speed), SPEEDS[0])


class BoardScreen(Screen[None]):
    """Panes laid out by region; subclasses feed them snapshots at the frame rate."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("plus,equals_sign", "faster", "Faster"),
        Binding("minus", "slower", "Slower"),
        Binding("p", "plots", "Plots"),
        Binding("i", "inspect", "Inspect"),
    ]

    mode = "run"

    def __init__(self, frame_rate: float = 20.0) -> None:
        super().__init__()
        self.frame_rate = min(frame_rate, 20.0)
        self.snapshot: Snapshot | None = None

    def compose(self) -> ComposeResult:
        yield StatusLine(self.mode, id="status")
        with Horizontal(id="top"):
            yield _titled(Towers(id="towers"), "Towers")
            with Vertical(id="right"):
                yield _titled(TallyPane(id="tally"), "Vote tally")
                yield _titled(WirePane(id="wire"), "Wire")
        with Horizontal(id="bottom"):
            yield _titled(Progress(id="progress"), "Progress")
            yield _titled(Cost(id="cost"), "Cost")
            yield _titled(RedFlags(id="flags"), "Red flags")
            yield _titled(ForecastPane(id="forecast"), "Forecast")
        yield MakerFooter()

    def on_mount(self) -> None:
        self.set_interval(1 / self.frame_rate, self.tick, name="frame")
        self.tick()

    def take_snapshot(self) -> Snapshot:
        raise NotImplementedError

    def tick(self) -> None:
        """Pull a snapshot and hand it to the panes (attributes down)."""
        snapshot = self.take_snapshot()
        if snapshot == self.snapshot:
            return
        self.snapshot = snapshot
        self.query_one(StatusLine).show(snapshot)
        self.query_one(Towers).show(snapshot.state, snapshot.last_move, snapshot.disks)
        self.query_one(TallyPane).show(snapshot)
        self.query_one(Progress).show(snapshot)
        self.query_one(Cost).show(snapshot)
        self.query_one(RedFlags).show(snapshot)
        self.query_one(ForecastPane).show(snapshot)
        self.query_one(WirePane).show(snapshot)

    def palette_commands(self) -> list[PaletteCommand]:
        """This screen's actions for the command palette."""
        return [
            ("Faster", "Raise the pace", self.action_faster),
            ("Slower", "Lower the pace", self.action_slower),
            ("Plots", "Undecided steps by round, votes per step, cumulative cost", self.action_plots),
            ("Inspect: a sample's prompt, reply and verdict",
             "The messages an agent of this step was sent, what it wrote, and what the audit says", self.action_inspect),
        ]

    def inspection(self) -> StepInspection | None:
        """The step on screen for the inspector; None when no step is followed (full speed)."""
        raise NotImplementedError

    def action_inspect(self, sample: int = 0) -> None:
        """Open the inspector on a sample of the step on screen (the first, unless one was clicked)."""
        from tui.screens.inspector import InspectorScreen

        inspection = self.inspection()
        if inspection is None:
            self.notify("Too fast to follow a step: slow down (-) or pause (space) to inspect one.", timeout=4)
            return
        live = self.mode == "live"
        self.app.push_screen(InspectorScreen(inspection, sample, right_known=not live or inspection.decided is not None))

    def on_tally_pane_inspect(self, message: TallyPane.Inspect) -> None:
        message.stop()
        self.action_inspect(message.sample)

    def cost_series(self) -> list[tuple[int, float]]:
        """(steps decided, cumulative spend) so far, for the cost plot."""
        raise NotImplementedError

    def action_plots(self) -> None:
        from tui.screens.plots import PlotsScreen

        self.app.push_screen(PlotsScreen(self))

    def action_faster(self) -> None:
        raise NotImplementedError

    def action_slower(self) -> None:
        raise NotImplementedError

    async def shutdown(self) -> None:
        """Stop whatever feeds the screen before the app exits."""
