"""Cost: tokens, dollars, votes per step against the formula, and a sparkline of spend per step."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Sparkline

from engine.live import Snapshot
from tui.widgets.figures import Figures
from tui.widgets.format import count, usd


class CostFigures(Figures):
    """The figures above the sparkline."""

    DEFAULT_CSS = """
    CostFigures { height: 5; }
    """

    def rows(self, snapshot: Snapshot) -> list[tuple[str, Text | str]]:
        formula = "n/a" if snapshot.expected_votes is None else f"{snapshot.expected_votes:.3f}"
        return [
            ("tokens in", count(snapshot.tokens_in)),
            ("tokens out", count(snapshot.tokens_out)),
            ("cost", usd(snapshot.cost_usd)),
            ("votes/step", f"{snapshot.samples_per_step:.3f}"),
            ("formula", formula),
        ]


class Cost(Vertical):
    """Tokens in and out, USD (or "unknown" for an unpriced model), mean votes per step next to the
    gambler's-ruin value, and the spend of the last steps as a sparkline (spikes are hard steps)."""

    DEFAULT_CSS = """
    Cost { height: auto; padding: 0 1; }
    Cost > Sparkline { height: 1; }
    .-tall Cost > Sparkline { height: 3; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._key: tuple[object, ...] | None = None

    def compose(self) -> ComposeResult:
        yield CostFigures(id="cost-figures")
        yield Sparkline([0.0], id="cost-spend")

    def show(self, snapshot: Snapshot) -> None:
        key = (snapshot.tokens_in, snapshot.tokens_out, snapshot.cost_usd, snapshot.votes, snapshot.steps_done,
               snapshot.spend)
        if key == self._key:
            return
        self._key = key
        self.query_one(CostFigures).show(snapshot)
        spend = list(snapshot.spend) or [0.0]
        sparkline = self.query_one(Sparkline)
        if sparkline.data != spend:
            sparkline.data = spend
