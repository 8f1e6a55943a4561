"""A pane's figures: ``label ... value`` rows drawn from the latest snapshot."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from engine.live import Snapshot
from tui.widgets.format import label_rows


class Figures(Widget):
    """Rows of figures; subclasses say which rows a snapshot gives."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.snapshot: Snapshot | None = None

    def show(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.refresh()

    def rows(self, snapshot: Snapshot) -> list[tuple[str, Text | str]]:
        raise NotImplementedError

    def render(self) -> Text:
        if self.snapshot is None:
            return Text("")
        return label_rows(self.rows(self.snapshot), self.content_size.width)
