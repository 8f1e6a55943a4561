"""A pane's figures: ``label ... value`` rows drawn from the latest snapshot."""

from __future__ import annotations

from typing import ClassVar, NamedTuple

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from engine.view.snapshot import Snapshot
from tui.widgets.format import label_rows


class Row(NamedTuple):
    """One figure: its label, its value, and how the value stands out (``""`` plain, ``"alert"``);
    ``short`` is the value written shorter, for a pane too narrow for the whole of it."""

    label: str
    value: str
    mark: str = ""
    short: str = ""

    def fitted(self, width: int) -> str:
        """The value, or its short form when the row would not fit in ``width`` cells."""
        return self.short if self.short and len(self.label) + 1 + len(self.value) > width else self.value


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
        width = self.content_size.width
        return label_rows(
            [(row.label, Text(row.fitted(width), style=style(f"figures--{row.mark}") if row.mark else ""))
             for row in self.rows],
            width,
            label_style=style("figures--label"),
        )
