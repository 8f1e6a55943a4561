"""The footer: every screen's keys, with help and quit always in view.

Textual's footer lists the keys in binding order and cuts them at the right edge, so on a narrow
terminal the app's own keys (theme, help, quit), which come last, were the first to go. Here help
and quit (and, when there is room, the palette key) are docked at the right edge; the screen's
own keys come first, in the order its bindings list them, and those that do not fit in what is
left are left out whole. A narrow footer is compact and writes shorter labels.
"""

from __future__ import annotations

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer
from textual.widgets._footer import FooterKey, KeyGroup

ESSENTIAL_KEYS = ("question_mark", "q")
"""The keys a newcomer needs on every screen, at every size: help and quit."""
ROOMY_WIDTH = 110
"""Columns from which the footer has the room for its full labels and the palette key."""
SHORT_LABELS = {"Pause/resume": "Pause", "Play/pause": "Play", "Back to the board": "Back"}
"""Labels written shorter in a narrow footer."""


def key_width(key: FooterKey, compact: bool) -> int:
    """Cells a key takes in the footer: its key and label with their padding, and its margin."""
    return cell_len(key.key_display) + cell_len(key.description) + (2 if compact else 3)


class MakerFooter(Footer):
    """Textual's footer with help and quit always in view (see the module's docstring)."""

    DEFAULT_CSS = """
    MakerFooter KeyGroup.-essential { dock: right; }
    MakerFooter KeyGroup.-essential FooterKey.-palette { border-left: vkey $foreground 20%; }
    """

    laid_out_for = 0
    """The terminal's width the keys were laid out for."""

    def compose(self) -> ComposeResult:
        self.laid_out_for = self.app.size.width
        narrow = self.app.size.width < ROOMY_WIDTH
        self.set_reactive(Footer.compact, narrow)
        self.set_class(narrow, "-compact")
        keys = [widget for widget in super().compose() if isinstance(widget, FooterKey)]
        essentials = [key for key in keys if key.key in ESSENTIAL_KEYS]
        palette = [key for key in keys if "-command-palette" in key.classes]
        others = sorted((key for key in keys if key not in essentials and key not in palette), key=self._order)
        if narrow:
            palette = []
            for key in others:
                key.description = SHORT_LABELS.get(key.description, key.description)
        for key in palette:
            key.set_classes("-palette")
        room = self.app.size.width - sum(key_width(key, narrow) for key in essentials + palette)
        for key in others:
            room -= key_width(key, narrow)
            if room < 0:
                break
            yield key
        yield KeyGroup(*essentials, *palette, classes="-essential")

    def _order(self, key: FooterKey) -> int:
        """Where a key comes: the screen's own keys first, as its bindings list them."""
        actions = [binding.action for binding in type(self.screen).BINDINGS if isinstance(binding, Binding)]
        return actions.index(key.action) if key.action in actions else len(actions)

    def on_resize(self) -> None:
        """Lay the keys out again for the terminal's new width."""
        if self.app.size.width != self.laid_out_for:
            self.call_after_refresh(self.recompose)
