"""A pane's figures: ``label ... value`` rows drawn from the latest snapshot."""

from __future__ import annotations

from typing import ClassVar, NamedTuple

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from engine.view.snapshot import Snapshot
from tui.widgets.format import label_rows


class Row(NamedTuple):
    """One figure: its label, its value, and how the value stands out (``""`` plain, ``"alert"``)."""

    label: str
    value: str
    mark: str = ""


class Figures(Widget):
    """Rows of figures; subclasses say which rows a snapshot gives. The rows are a reactive, and
    styles come from the theme when the pane is drawn: the pane redraws when its figures change
    and when the theme does."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"figures--label", "figures--alert"}
    DEFAULT_CSS = """
    Figures > .figures--label { color: $text-muted; }
    Figures > .figures--alert { color: $error; text-style: bold reverse; }
    """

    rows: reactive[tuple[Row, ...]] = reactive(())

    def show(self, snapshot: Snapshot) -> None:
        self.rows = tuple(self.rows_of(snapshot))

    def rows_of(self, snapshot: Snapshot) -> list[Row]:
        raise NotImplementedError

    def render(self) -> Text:
        style = self.get_component_rich_style
        return label_rows(
            [(row.label, Text(row.value, style=style(f"figures--{row.mark}") if row.mark else "")) for row in self.rows],
            self.content_size.width,
            label_style=style("figures--label"),
        )
