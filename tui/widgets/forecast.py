"""Forecast: the estimated p with its interval, the odds of a zero-error finish, what is left."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from engine.forecast import Forecast
from tui.widgets.format import count, duration, label_rows, usd


def odds_text(odds: float | None) -> str:
    if odds is None:
        return "none (p<=0.5)"
    if odds > 0.9999:
        return ">99.99%"
    return f"{100 * odds:.2f}%"


class ForecastPane(Widget):
    """What the votes so far say about the rest of the run (the auditor is not consulted)."""

    DEFAULT_CSS = """
    ForecastPane { height: 7; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._forecast: Forecast | None = None

    def show(self, forecast: Forecast | None) -> None:
        if forecast == self._forecast:
            return
        self._forecast = forecast
        self.refresh()

    def render(self) -> Text:
        forecast = self._forecast
        if forecast is None or forecast.steps_done == 0:
            return Text("after the first step", style="dim")
        low, high = forecast.p_interval
        return label_rows(
            [
                ("p", f"{forecast.p:.4f}"),
                ("95%", f"{low:.4f}-{high:.4f}"),
                ("no error", odds_text(forecast.p_zero_error_finish)),
                ("votes", "~" + count(forecast.projected_total_votes)),
                ("cost left", "unknown" if forecast.projected_remaining_cost_usd is None
                 else usd(forecast.projected_remaining_cost_usd)),
                ("time left", duration(forecast.projected_remaining_time_s)),
            ],
            self.content_size.width,
        )
