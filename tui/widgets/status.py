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
    waiting: str
    """What the wire waits for (a served model's outage or rate limit), empty when nothing."""

    @classmethod
    def of(cls, snapshot: Snapshot) -> StatusView:
        # What the wire waits for, while the run goes on (paused too: the requests under way go on
        # trying); a replay's wire is the recorded run's, with nothing to wait for.
        live = snapshot.status in ("running", "paused")
        waiting = snapshot.wire.status if snapshot.wire is not None and live else ""
        return cls(snapshot.model, snapshot.disks, snapshot.k, snapshot.speed, snapshot.status, snapshot.message,
                   snapshot.lookahead, snapshot.ahead, waiting)


LABELS = {"running": "running", "paused": " PAUSED ", "finished": "finished", "failed": " FAILED "}


class StatusLine(Widget):
    """A line above the panes: mode, model, disks, k, speed, the steps sampled ahead of the oldest
    undecided one (with lookahead) and run state. Below it, when there is something to say: what
    a served model's wire is waiting for (an outage, with its countdown; a rate limit), or how the
    run ended, whole, on as many lines as it takes."""

    COMPONENT_CLASSES = {"status--running", "status--paused", "status--finished", "status--failed", "status--muted",
                         "status--waiting", "status--message", "status--error"}
    DEFAULT_CSS = """
    StatusLine { height: auto; background: $panel; color: $foreground; padding: 0 1; }
    StatusLine > .status--running { color: $success; text-style: bold; }
    StatusLine > .status--paused { color: $warning; text-style: bold reverse; }
    StatusLine > .status--finished { text-style: bold; }
    StatusLine > .status--failed { color: $error; text-style: bold reverse; }
    StatusLine > .status--muted { color: $text-muted; }
    StatusLine > .status--waiting { color: $warning; text-style: bold; }
    StatusLine > .status--message { text-style: italic; }
    StatusLine > .status--error { color: $error; text-style: bold; }
    """

    view: reactive[StatusView | None] = reactive(None, layout=True)
    """What the line shows; a change of its height re-lays the screen out."""

    def __init__(self, mode: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.mode = mode

    def show(self, snapshot: Snapshot) -> None:
        self.view = StatusView.of(snapshot)

    def render(self) -> Text:
        view = self.view
        if view is None:
            return Text("")
        style = self.get_component_rich_style
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append("maker ", style="bold")
        line.append(f" {self.mode}  {view.model}  {view.disks} disks  k={view.k}  ")
        line.append(speed_text(view.speed), style=style("status--muted"))
        if view.lookahead:
            line.append(f"  ahead {view.ahead}/{view.lookahead}", style=style("status--muted"))
        line.append("  ")
        line.append(LABELS[view.status], style=style(f"status--{view.status}"))
        line.truncate(max(1, self.content_size.width), overflow="ellipsis")
        below = ""
        if view.waiting:
            below, kind = view.waiting, "waiting"
        elif view.message and view.status in ("finished", "failed"):
            below, kind = view.message, "error" if view.status == "failed" else "message"
        if not below:
            return line
        text = Text()  # the first line stays one line; what is below wraps
        text.append_text(line)
        text.append("\n")
        text.append(below, style=style(f"status--{kind}"))
        return text
