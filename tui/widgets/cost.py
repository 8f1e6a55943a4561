"""Cost: tokens, dollars, votes per step against the formula, and a sparkline of spend per step."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical

from engine.view.snapshot import Snapshot
from tui.widgets.charts import SpendLine
from tui.widgets.figures import Figures, Row
from tui.widgets.format import compact, count, usd


class CostFigures(Figures):
    """The figures above the sparkline."""

    DEFAULT_CSS = """
    CostFigures { height: auto; }
    """

    def rows_of(self, snapshot: Snapshot) -> list[Row]:
        formula = "n/a" if snapshot.expected_votes is None else f"{snapshot.expected_votes:.3f}"
        rows = [
            Row("tokens in", count(snapshot.tokens_in), short=compact(snapshot.tokens_in)),
            Row("tokens out", count(snapshot.tokens_out), short=compact(snapshot.tokens_out)),
            Row("cost", usd(snapshot.cost_usd)),
            Row("votes/step", f"{snapshot.samples_per_step:.3f}"),
            Row("formula", formula),
        ]
        if snapshot.lookahead:  # samples asked on a prediction the votes did not give
            rows.append(Row("wasted", count(snapshot.wasted)))
        return rows


class Cost(Vertical):
    """Tokens in and out, USD (or "unknown" for an unpriced model), mean votes per step next to the
    gambler's-ruin value, the samples lookahead threw away, and the spend of the last steps as a
    sparkline (spikes are hard steps), blank until something is spent."""

    DEFAULT_CSS = """
    Cost { padding: 0 1; }
    Cost > Sparkline { height: 1fr; min-height: 1; }
    """

    def compose(self) -> ComposeResult:
        yield CostFigures(id="cost-figures")
        yield SpendLine(id="cost-spend")

    def show(self, snapshot: Snapshot) -> None:
        self.query_one(CostFigures).show(snapshot)
        self.query_one(SpendLine).data = list(snapshot.spend)
