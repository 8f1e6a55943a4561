"""The status line: what runs, on which model, how fast, and whether it is paused."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from engine.live import Snapshot


def speed_text(speed: float | None) -> str:
    return "full speed" if speed is None else f"{speed:g} samples/s"


class StatusLine(Widget):
    """One line above the panes: mode, model, disks, k, speed and run state."""

    DEFAULT_CSS = """
    StatusLine { height: 1; background: $panel; color: $foreground; padding: 0 1; }
    """

    def __init__(self, mode: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.mode = mode
        self._key: tuple[object, ...] | None = None
        self._text = Text("")

    def show(self, snapshot: Snapshot) -> None:
        key = (snapshot.status, snapshot.speed, snapshot.model, snapshot.k, snapshot.message)
        if key == self._key:
            return
        self._key = key
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append("maker ", style="bold")
        text.append(f" {self.mode}  {snapshot.model}  {snapshot.disks} disks  k={snapshot.k}  ")
        text.append(speed_text(snapshot.speed), style="dim")
        state = {"running": ("running", "bold green"), "paused": (" PAUSED ", "bold reverse yellow"),
                 "finished": ("finished", "bold")}[snapshot.status]
        text.append("  ")
        text.append(state[0], style=state[1])
        if snapshot.message and snapshot.status == "finished":
            text.append(f"  {snapshot.message}", style="italic")
        self._text = text
        self.refresh()

    def render(self) -> Text:
        return self._text
