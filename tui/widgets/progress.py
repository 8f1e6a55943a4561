"""Progress: step i of N, percent, ETA, audit errors, steps that needed more than k votes."""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widget import Widget

from engine.live import Snapshot
from tui.widgets.figures import Figures
from tui.widgets.format import duration


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

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.fraction = 0.0

    def show(self, fraction: float) -> None:
        width = max(1, self.content_size.width)
        if round(fraction * width * 2) != round(self.fraction * width * 2):
            self.fraction = fraction
            self.refresh()
        else:
            self.fraction = fraction

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
    """The figures under the bar; audit errors in red when any."""

    DEFAULT_CSS = """
    ProgressFigures { height: 5; }
    """

    def rows(self, snapshot: Snapshot) -> list[tuple[str, Text | str]]:
        errors = Text(f"{snapshot.errors:,}", style="bold red reverse" if snapshot.errors else "")
        return [
            ("steps", f"{snapshot.steps_done:,}/{snapshot.total_steps:,}"),
            ("done", f"{100 * snapshot.progress:.2f}%"),
            ("ETA", duration(snapshot.eta_s) if snapshot.status == "running" else "--"),
            ("audit errors", errors),
            ("over k votes", f"{snapshot.steps_over_k:,}"),
        ]


class Progress(Vertical):
    """Where the run stands."""

    DEFAULT_CSS = """
    Progress { height: auto; padding: 0 1; }
    Progress SeekBar { width: 100%; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._key: tuple[object, ...] | None = None

    def compose(self) -> ComposeResult:
        yield SeekBar(id="progress-bar")
        yield ProgressFigures(id="progress-figures")

    def show(self, snapshot: Snapshot) -> None:
        key = (snapshot.steps_done, snapshot.errors, snapshot.steps_over_k, snapshot.status, int(snapshot.eta_s or 0))
        if key == self._key:
            return
        self._key = key
        self.query_one(SeekBar).show(snapshot.progress)
        self.query_one(ProgressFigures).show(snapshot)
