"""Red flags: how many samples were thrown away, by reason, and at what rate."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from engine.live import Snapshot
from engine.parser import RedFlag


class RedFlags(Widget):
    """Counts of red-flagged samples by reason, each as a share of all judged samples; the total
    is in the pane's title."""

    DEFAULT_CSS = """
    RedFlags { height: 7; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._key: tuple[object, ...] | None = None
        self._snapshot: Snapshot | None = None

    def show(self, snapshot: Snapshot) -> None:
        key = (tuple(snapshot.red_flags.items()), snapshot.votes, snapshot.cancelled)
        if key == self._key:
            return
        self._key, self._snapshot = key, snapshot
        flagged = sum(snapshot.red_flags.values())
        judged = snapshot.votes + flagged
        share = f" {100 * flagged / judged:.1f}%" if judged else ""
        self.border_title = f"Red flags {flagged:,}{share}"
        self.refresh()

    def render(self) -> Text:
        snapshot = self._snapshot
        if snapshot is None:
            return Text("")
        width = self.content_size.width
        flagged = sum(snapshot.red_flags.values())
        judged = snapshot.votes + flagged
        out = Text(no_wrap=True, overflow="ellipsis")
        for reason in RedFlag:
            count = snapshot.red_flags.get(reason.value, 0)
            rate = f"{100 * count / judged:.2f}%" if judged else "-"
            figures = f"{count:,} {rate:>6}"
            out.append(reason.value, style="bold" if count else "dim")
            out.append(" " * max(1, width - len(reason.value) - len(figures)))
            out.append(figures + "\n", style="bold" if count else "dim")
        figures = f"{snapshot.cancelled:,}       "
        out.append("cancelled", style="dim")
        out.append(" " * max(1, width - 9 - len(figures)))
        out.append(figures, style="dim")
        return out
