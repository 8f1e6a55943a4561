"""Forecast: the estimated p with its interval, the odds of a zero-error finish, what is left."""

from __future__ import annotations

import math

from engine.run.single_agent import chance_text, single_agent_log10_chance
from engine.view.snapshot import Snapshot
from tui.widgets.figures import Figures, Row
from tui.widgets.format import count, duration, usd


def odds_text(odds: float | None) -> str:
    if odds is None:
        return "none (p<=0.5)"
    if odds > 0.9999:
        return ">99.99%"
    return f"{100 * odds:.2f}%"


def single_agent_odds(snapshot: Snapshot) -> Row:
    """The chance that one agent alone (each step's first sample, no vote) finishes the whole task
    without an error: its rate of right steps so far, to the power of all the steps."""
    if not snapshot.single_steps:
        return Row("agent alone", "--")
    if not snapshot.single_wrong:  # no error seen yet: nothing to estimate its rate from
        return Row("agent alone", "no error yet", short="--")
    log10 = single_agent_log10_chance(snapshot.single_wrong, snapshot.single_steps, snapshot.total_steps)
    return Row("agent alone", chance_text(log10), "alert" if log10 < -2 else "",
               short=f"≈1e{round(log10)}" if -math.inf < log10 < -2 else "")


class ForecastPane(Figures):
    """What the votes so far say about the rest of the run (the auditor is not consulted)."""

    DEFAULT_CSS = """
    ForecastPane { height: 7; padding: 0 1; }
    """

    def rows_of(self, snapshot: Snapshot) -> list[Row]:
        forecast = snapshot.forecast
        lost = snapshot.zero_error_finish_lost  # a step went wrong, or no vote could decide one
        if forecast is None or forecast.steps_done == 0:
            return [Row("p", "none yet"), *([Row("no error", "out of reach", "alert", short="none")] if lost else [])]
        low, high = forecast.p_interval
        odds = forecast.p_zero_error_finish
        return [
            Row("p", f"{forecast.p:.4f}"),
            Row("95%", f"{low:.4f}-{high:.4f}"),
            Row("no error", "out of reach" if lost else odds_text(odds), "alert" if lost or odds is None else "",
                short="none" if lost or odds is None else ""),
            single_agent_odds(snapshot),
            Row("cost left", "unknown" if forecast.projected_remaining_cost_usd is None
                else usd(forecast.projected_remaining_cost_usd)),
            Row("time left", duration(forecast.projected_remaining_time_s)),
            Row("votes", "~" + count(forecast.projected_total_votes)),
        ]
