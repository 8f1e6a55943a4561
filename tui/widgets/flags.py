"""Red flags: how many samples were thrown away, by reason, and at what rate."""

from __future__ import annotations

from typing import NamedTuple

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from engine.task.parser import RedFlag
from engine.view.snapshot import Snapshot
from tui.widgets.format import FIGURE_GAP


class FlagCounts(NamedTuple):
    """What the pane shows: red flags by reason (in :class:`RedFlag` order), votes, cancellations."""

    by_reason: tuple[int, ...]
    votes: int
    cancelled: int

    @classmethod
    def of(cls, snapshot: Snapshot) -> FlagCounts:
        return cls(tuple(snapshot.red_flags.get(reason.value, 0) for reason in RedFlag), snapshot.votes,
                   snapshot.cancelled)


class RedFlags(Widget):
    """Counts of red-flagged samples by reason, each as a share of all judged samples; the total
    is in the pane's title. When the pane is too short for every reason, those that never
    happened are left out."""

    COMPONENT_CLASSES = {"flags--some", "flags--none"}
    DEFAULT_CSS = """
    RedFlags { padding: 0 1; }
    RedFlags > .flags--some { text-style: bold; }
    RedFlags > .flags--none { color: $text-muted; }
    """

    counts: reactive[FlagCounts | None] = reactive(None)

    def show(self, snapshot: Snapshot) -> None:
        self.counts = FlagCounts.of(snapshot)

    def watch_counts(self, counts: FlagCounts | None) -> None:
        if counts is None:
            return
        flagged = sum(counts.by_reason)
        judged = counts.votes + flagged
        share = f" {100 * flagged / judged:.1f}%" if judged else ""
        self.border_title = f"Red flags {flagged:,}{share}"

    def render(self) -> Text:
        counts = self.counts
        if counts is None:
            return Text("")
        width = self.content_size.width
        judged = counts.votes + sum(counts.by_reason)
        some, none = self.get_component_rich_style("flags--some"), self.get_component_rich_style("flags--none")
        out = Text(no_wrap=True, overflow="ellipsis")
        widest = max(len(reason.value) for reason in RedFlag) + 1 + len(f"{max(counts.by_reason):,}") + 7
        rates = widest <= width  # a narrow pane shows the counts alone, all rows alike
        width = min(width, widest + FIGURE_GAP)  # on a wide pane, the figures next to their reasons
        rows = list(zip(RedFlag, counts.by_reason, strict=True))
        while len(rows) + 1 > self.content_size.height and any(count == 0 for _, count in rows):
            # A pane too short for every reason leaves out those that never happened, last first.
            rows.pop(max(index for index, (_, count) in enumerate(rows) if count == 0))
        for reason, count in rows:
            rate = f"{100 * count / judged:.2f}%" if judged else "-"
            figures = f"{count:,} {rate:>6}" if rates else f"{count:,}"
            style = some if count else none
            out.append(reason.value, style=style)
            out.append(" " * max(1, width - len(reason.value) - len(figures)))
            out.append(figures + "\n", style=style)
        figures = f"{counts.cancelled:,}" + " " * 7 * rates
        out.append("cancelled", style=none)
        out.append(" " * max(1, width - 9 - len(figures)))
        out.append(figures, style=none)
        return out
