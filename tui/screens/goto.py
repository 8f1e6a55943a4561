"""Go to a step: a small modal asking for a step number."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.validation import Integer
from textual.widgets import Input, Label

from tui.bindings import SAVE_SCREEN


class GoToStep(ModalScreen[int | None]):
    """Asks for a step between 1 and the last recorded one; dismisses with it, or None."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel"), SAVE_SCREEN]
    DEFAULT_CSS = """
    GoToStep { align: center middle; }
    GoToStep > Vertical { width: 44; height: auto; border: round $accent; background: $surface; padding: 1 2; }
    GoToStep Label { margin-bottom: 1; }
    """

    def __init__(self, last: int) -> None:
        super().__init__()
        self.last = last

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Go to step (1 to {self.last:,}):")
            yield Input(placeholder="step number", validators=[Integer(1, self.last)], id="step", type="integer")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.validation_result is not None and not event.validation_result.is_valid:
            self.notify(f"a step from 1 to {self.last:,}", severity="warning")
            return
        self.dismiss(int(event.value))

    def action_cancel(self) -> None:
        self.dismiss(None)
