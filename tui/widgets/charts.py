"""Charts drawn as text: undecided steps by sampling round, votes per step, and spend as a
sparkline that stays blank while nothing is spent."""

from __future__ import annotations

import math
from collections.abc import Sequence

from rich.style import Style
from rich.text import Text
from textual.app import RenderResult
from textual.widget import Widget
from textual.widgets import Sparkline


def undecided_by_round(histogram: tuple[tuple[int, int], ...], k: int) -> list[tuple[int, int]]:
    """(round, steps still undecided after it): round 1 is the first k votes, each later round one
    more vote. A step that took n votes was undecided after rounds 1 to n - k."""
    if not histogram:
        return []
    most = max(votes for votes, _ in histogram)
    rounds = []
    for round_number in range(1, most - k + 2):
        threshold = k + round_number - 1
        rounds.append((round_number, sum(count for votes, count in histogram if votes > threshold)))
    return rounds


def cost_by_steps(points: Sequence[tuple[int, float]], columns: int) -> tuple[list[float], float]:
    """The cumulative cost at ``columns`` evenly spaced step counts from the first point to the
    last, read off the (steps, cost) points by linear interpolation, and the steps a column stands
    for. However unevenly the points fall (a point a frame, at whatever pace), each column stands
    for the same number of steps; with no step between the first point and the last, no column."""
    if columns < 1 or not points or points[-1][0] <= points[0][0]:
        return [], 0.0
    first, last = points[0][0], points[-1][0]
    values = []
    index = 0
    for column in range(1, columns + 1):
        step = first + (last - first) * column / columns
        while points[index + 1][0] < step:
            index += 1
        (before, cost_before), (after, cost_after) = points[index], points[index + 1]
        share = (step - before) / (after - before) if after > before else 1.0
        values.append(cost_before + (cost_after - cost_before) * share)
    return values, (last - first) / columns


class SpendLine(Sparkline):
    """Textual's sparkline, blank while nothing is spent: Textual draws a single value as bars of
    full height, and no data or equal values along its lowest row, so no spend would read as some
    spend, or as a spike."""

    def render(self) -> RenderResult:
        if not any(self.data or ()):
            return ""
        return super().render()


class BarChart(Widget):
    """Labelled horizontal bars; ``log`` scales them by log10 so a decay shows as a straight slope."""

    COMPONENT_CLASSES = {"bar-chart--bar", "bar-chart--label"}
    DEFAULT_CSS = """
    BarChart { height: 1fr; padding: 0 1; }
    BarChart > .bar-chart--bar { background: $accent; }
    BarChart > .bar-chart--label { color: $text-muted; }
    """

    def __init__(self, empty: str, *, log: bool = False, id: str | None = None) -> None:
        super().__init__(id=id)
        self.empty = empty
        self.log_scale = log
        self._rows: list[tuple[str, int]] = []

    def show(self, rows: list[tuple[str, int]]) -> None:
        if rows != self._rows:
            self._rows = rows
            self.refresh()

    def render(self) -> Text:
        rows = self._rows[: max(1, self.content_size.height)]
        if not rows:
            return Text(self.empty, style=self.get_component_rich_style("bar-chart--label"))
        return bars(rows, self.content_size.width, self.get_component_rich_style("bar-chart--label"),
                    self.get_component_rich_style("bar-chart--bar"), log=self.log_scale)


def bars(rows: list[tuple[str, int]], width: int, label_style: Style, bar_style: Style, *, log: bool = False) -> Text:
    """``label ████ value`` rows, labels flush right, bars scaled to the largest value (by log10
    with ``log``, so that a decay shows as a straight slope) within ``width``. The bars are
    coloured blank cells rather than block glyphs: an SVG of the screen places each cell's
    background exactly, while a glyph run's width depends on the font."""
    label_width = max(len(label) for label, _ in rows)
    value_width = max(len(f"{value:,}") for _, value in rows)
    room = max(1, width - label_width - value_width - 3)
    top = max(value for _, value in rows)
    scale = (lambda v: math.log10(v + 1) / math.log10(top + 1)) if log else (lambda v: v / top)
    out = Text(no_wrap=True, overflow="crop")
    for number, (label, value) in enumerate(rows):
        if number:
            out.append("\n")
        length = round(room * scale(value)) if top else 0
        out.append(label.rjust(label_width) + " ", style=label_style)
        out.append(" " * max(length, 1 if value else 0), style=bar_style)
        out.append(f" {value:,}")
    return out
