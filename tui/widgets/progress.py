"""Progress: step i of N, percent, ETA, audit errors, steps that needed more than k votes."""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from engine.view.snapshot import Snapshot
from tui.widgets.figures import Figures, Row
from tui.widgets.format import compact, duration


class SeekBar(Widget):
    """A one-line progress bar; clicking it asks to seek there (the replay screen listens)."""

    COMPONENT_CLASSES = {"seek-bar--done", "seek-bar--left"}
    DEFAULT_CSS = """
    SeekBar { height: 1; }
    SeekBar > .seek-bar--done { color: $primary; }
    SeekBar > .seek-bar--left { color: $panel-lighten-2; }
    """

    class Clicked(Message):
        """The bar was clicked at ``fraction`` of its width."""

        def __init__(self, fraction: float) -> None:
            super().__init__()
            self.fraction = fraction

    fraction: reactive[float] = reactive(0.0)
    """How much of the run is done, 0 to 1."""

    def render(self) -> Text:
        width = self.content_size.width
        halves = round(self.fraction * width * 2)
        done = Text("━" * (halves // 2) + ("╸" if halves % 2 else ""), style=self.get_component_rich_style("seek-bar--done"))
        done.append("━" * (width - len(done)), style=self.get_component_rich_style("seek-bar--left"))
        return done

    def on_click(self, event: events.Click) -> None:
        width = self.content_size.width
        if width > 0:
            self.post_message(self.Clicked(min(1.0, max(0.0, event.x / max(1, width - 1)))))


class ProgressFigures(Figures):
    """The figures under the bar; audit errors stand out when there are any."""

    DEFAULT_CSS = """
    ProgressFigures { height: 5; }
    """

    def rows_of(self, snapshot: Snapshot) -> list[Row]:
        return [
            Row("steps", f"{snapshot.steps_done:,}/{snapshot.total_steps:,} {100 * snapshot.progress:.1f}%",
                short=f"{compact(snapshot.steps_done)}/{compact(snapshot.total_steps)}"),
            Row("ETA", duration(snapshot.eta_s) if snapshot.status == "running" else "--"),
            Row("audit errors", f"{snapshot.errors:,}", "alert" if snapshot.errors else ""),
            single_agent_row(snapshot),
            Row("agent wrong", f"{snapshot.single_wrong:,} of {snapshot.single_steps:,}",
                short=compact(snapshot.single_wrong)),
            Row("over k votes", f"{snapshot.steps_over_k:,}"),  # (under the rest at 80x24; the tally has them)
        ]


def single_agent_row(snapshot: Snapshot) -> Row:
    """Where one agent alone (each step's first sample, no vote) would have failed the task."""
    first = snapshot.single_first_wrong
    if not snapshot.single_steps:
        return Row("one agent", "--")
    if first is None:
        return Row("one agent", "no error yet", short="none yet")
    return Row("one agent", f"fails at {first:,}", short=f"✗ at {compact(first)}")


class Progress(Vertical):
    """Where the run stands."""

    DEFAULT_CSS = """
    Progress { height: auto; padding: 0 1; }
    Progress SeekBar { width: 100%; }
    """

    def compose(self) -> ComposeResult:
        yield SeekBar(id="progress-bar")
        yield ProgressFigures(id="progress-figures")

    def show(self, snapshot: Snapshot) -> None:
        self.query_one(SeekBar).fraction = snapshot.progress
        self.query_one(ProgressFigures).show(snapshot)
