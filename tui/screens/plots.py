"""Plots of the run so far: undecided steps by sampling round, votes per step, cumulative cost
against steps."""

from __future__ import annotations

from typing import ClassVar, Protocol

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Static

from engine.view.snapshot import Snapshot
from tui.widgets.charts import BarChart, SpendLine, cost_by_steps, undecided_by_round
from tui.widgets.footer import MakerFooter
from tui.widgets.format import usd


class PlotSource(Protocol):
    """What the plots are drawn from: the board underneath."""

    snapshot: Snapshot | None

    def cost_series(self) -> list[tuple[int, float]]: ...


class PlotsScreen(Screen[None]):
    """Three plots over the board underneath, refreshed twice a second from its data."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("p,escape", "close", "Back to the board")]
    DEFAULT_CSS = """
    PlotsScreen > Horizontal { height: 1fr; }
    PlotsScreen Vertical { width: 1fr; border-top: solid $primary; border-title-color: $primary; }
    PlotsScreen #cost-plot { height: 9; border-top: solid $secondary; border-title-color: $secondary; }
    PlotsScreen #cost-plot SpendLine { height: 1fr; }
    PlotsScreen #cost-caption { height: 1; color: $text-muted; padding: 0 1; }
    """

    def __init__(self, board: PlotSource) -> None:
        super().__init__()
        self.board = board

    def compose(self) -> ComposeResult:
        with Horizontal():
            with Vertical(id="rounds-plot") as rounds:
                rounds.border_title = "Undecided steps after each sampling round (log scale)"
                yield BarChart("no step decided yet", log=True, id="rounds")
            with Vertical(id="votes-plot") as votes:
                votes.border_title = "Steps by valid votes they took (log scale)"
                yield BarChart("no step decided yet", log=True, id="votes")
        with Vertical(id="cost-plot") as cost:
            cost.border_title = "Cumulative cost against steps"
            yield SpendLine(id="cost-line")
            yield Static("", id="cost-caption")
        yield MakerFooter()

    def on_mount(self) -> None:
        self.set_interval(0.5, self.draw, name="plots")
        self.draw()

    def draw(self) -> None:
        snapshot = self.board.snapshot
        if snapshot is None:
            return
        rounds = undecided_by_round(snapshot.votes_histogram, snapshot.k)
        self.query_one("#rounds", BarChart).show([(f"round {number}", count) for number, count in rounds])
        self.query_one("#votes", BarChart).show([(f"{votes} votes", count) for votes, count in snapshot.votes_histogram])
        series = self.board.cost_series()
        line = self.query_one("#cost-line", SpendLine)
        values, per_column = cost_by_steps(series, line.size.width or self.size.width)  # no width before layout
        line.data = values
        unit = "USD" if snapshot.cost_usd is not None else "tokens (no price)"
        last = series[-1][1] if series else 0.0
        shown = usd(last) if snapshot.cost_usd is not None else f"{last:,.0f}"
        caption = f"{shown} after {snapshot.steps_done:,} of {snapshot.total_steps:,} steps, in {unit}"
        if per_column:
            since = f" from step {series[0][0]:,}" if series[0][0] else ""
            caption += f"; {columns_per_step(per_column)}{since}"
        self.query_one("#cost-caption", Static).update(caption)

    def action_close(self) -> None:
        self.app.pop_screen()


def columns_per_step(per_column: float) -> str:
    """How many steps a column of the cost line stands for, or how many columns a step takes."""
    if per_column == 1:
        return "one column a step"
    if per_column > 1:
        return f"one column for every {figure(per_column)} steps"
    return f"each step {figure(1 / per_column)} columns wide"


def figure(value: float) -> str:
    """Three significant figures, without an exponent: 7.5, 12.8, 1,365."""
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"
