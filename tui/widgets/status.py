"""The status line: what runs, on which model, how fast, and whether it is paused."""

from __future__ import annotations

from typing import NamedTuple

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from engine.view.snapshot import Snapshot, Status


def speed_text(speed: float | None) -> str:
    return "full speed" if speed is None else f"{speed:g} samples/s"


class StatusView(NamedTuple):
    """What the status line shows."""

    model: str
    disks: int
    k: int
    speed: float | None
    status: Status
    message: str
    lookahead: int
    ahead: int

    @classmethod
    def of(cls, snapshot: Snapshot) -> StatusView:
        return cls(snapshot.model, snapshot.disks, snapshot.k, snapshot.speed, snapshot.status, snapshot.message,
                   snapshot.lookahead, snapshot.ahead)


class StatusLine(Widget):
    """One line above the panes: mode, model, disks, k, speed, the steps sampled ahead of the
    oldest undecided one (with lookahead) and run state."""

    COMPONENT_CLASSES = {"status--running", "status--paused", "status--finished", "status--muted"}
    DEFAULT_CSS = """
    StatusLine { height: 1; background: $panel; color: $foreground; padding: 0 1; }
    StatusLine > .status--running { color: $success; text-style: bold; }
    StatusLine > .status--paused { color: $warning; text-style: bold reverse; }
    StatusLine > .status--finished { text-style: bold; }
    StatusLine > .status--muted { color: $text-muted; }
    """

    view: reactive[StatusView | None] = reactive(None)

    def __init__(self, mode: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.mode = mode

    def show(self, snapshot: Snapshot) -> None:
        self.view = StatusView.of(snapshot)

    def render(self) -> Text:
        view = self.view
        text = Text(no_wrap=True, overflow="ellipsis")
        if view is None:
            return text
        style = self.get_component_rich_style
        text.append("maker ", style="bold")
        text.append(f" {self.mode}  {view.model}  {view.disks} disks  k={view.k}  ")
        text.append(speed_text(view.speed), style=style("status--muted"))
        if view.lookahead:
            text.append(f"  ahead {view.ahead}/{view.lookahead}", style=style("status--muted"))
        label = {"running": "running", "paused": " PAUSED ", "finished": "finished"}[view.status]
        text.append("  ")
        text.append(label, style=style(f"status--{view.status}"))
        if view.message and view.status == "finished":
            text.append(f"  {view.message}", style="italic")
        return text
