"""The tour's caption: where the tour stands, the moment's title, and what it shows in plain words."""

from __future__ import annotations

from typing import NamedTuple

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Digits

from engine.view.tour import TourStop


class CaptionView(NamedTuple):
    """What the caption shows: a stop, its place in the tour, and what the keys do there."""

    stop: TourStop
    number: int
    """The stop's place, from 1."""
    stops: int
    keys: str = "space: next · Esc: leave the tour"


class CaptionText(Widget):
    """The caption's words: the stop's title and keys on a line, then what it shows."""

    DEFAULT_CSS = """
    CaptionText { height: auto; width: 1fr; }
    CaptionText > .caption--title { color: $accent; text-style: bold; }
    CaptionText > .caption--keys { color: $text-muted; }
    """
    COMPONENT_CLASSES = {"caption--title", "caption--keys"}

    view: reactive[CaptionView | None] = reactive(None, layout=True)

    def render(self) -> Text:
        view = self.view
        if view is None:
            return Text("")
        style = self.get_component_rich_style
        text = Text()
        text.append(f" Step {view.stop.step:,}: {view.stop.title} ", style=style("caption--title"))
        text.append(f"   {view.keys}\n", style=style("caption--keys"))
        text.append(view.stop.caption)
        return text


class TourCaption(Horizontal):
    """A box over the board while a tour is on; hidden otherwise. In the stage theme (app.tcss) its
    box is heavier and padded, its title reversed, and the step's number is written large (Textual's
    Digits, three rows tall) beside the words: it is read from the back of a room."""

    DEFAULT_CSS = """
    TourCaption {
        height: auto;
        display: none;
        border: round $accent;
        border-title-color: $accent;
        border-title-style: bold;
        padding: 0 1;
        background: $surface;
    }
    TourCaption.-on { display: block; }
    TourCaption > Digits { display: none; width: auto; color: $accent; margin-right: 2; }
    """

    view: reactive[CaptionView | None] = reactive(None, layout=True, init=False)

    def compose(self) -> ComposeResult:
        yield Digits("", id="caption-step")
        yield CaptionText()

    def watch_view(self, view: CaptionView | None) -> None:
        self.set_class(view is not None, "-on")
        self.border_title = None if view is None else f"Tour {view.number}/{view.stops}"
        self.query_one(Digits).update("" if view is None else str(view.stop.step))
        self.query_one(CaptionText).view = view
