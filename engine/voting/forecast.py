"""A run's forecast from what it has seen so far: p, the odds of a zero-error finish, what is left.

Nothing here needs the auditor: like a real deployment, the forecast takes each step's winner as
right, so p is estimated as the share of valid votes that went to winners (slightly optimistic by
the rare wrong winner), with a 95% Wilson interval. The odds of finishing without an error are
``p_step(p, k) ** remaining``; samples still to come are projected from the votes per step so far.
"""

from __future__ import annotations

from pydantic import BaseModel

from engine.voting.scaling import NoMargin, expected_votes_per_step, p_step, wilson_interval


class Forecast(BaseModel):
    """The odds and the remaining work, as seen after ``steps_done`` steps."""

    steps_done: int
    total_steps: int
    progress: float
    k: int
    p: float
    """Share of valid votes that went to the steps' winners."""
    p_interval: tuple[float, float]
    v: float
    """Share of judged samples that were valid."""
    p_zero_error_finish: float | None
    """Chance that every remaining step is decided right (None when p <= 0.5)."""
    p_zero_error_finish_interval: tuple[float, float] | None
    formula_votes_per_step: float | None
    projected_total_votes: int
    projected_total_samples: int
    """Valid votes and red flags, judged samples altogether."""
    projected_remaining_cost_usd: float | None
    projected_remaining_time_s: float | None


def _finish_odds(p: float, k: int, remaining: int) -> float | None:
    try:
        return p_step(p, k) ** remaining
    except NoMargin:
        return None


def forecast(
    *,
    steps_done: int,
    total_steps: int,
    k: int,
    votes: int,
    winner_votes: int,
    red_flags: int,
    cost_usd: float | None,
    elapsed_s: float | None,
    steps_timed: int,
) -> Forecast:
    """Project the rest of a run; ``steps_timed`` are the steps ``elapsed_s`` covers."""
    remaining = total_steps - steps_done
    p = winner_votes / votes if votes else 1.0
    low, high = wilson_interval(winner_votes, votes) if votes else (0.0, 1.0)
    judged = votes + red_flags
    odds = _finish_odds(p, k, remaining)
    odds_low, odds_high = _finish_odds(low, k, remaining), _finish_odds(high, k, remaining)
    try:
        formula = expected_votes_per_step(p, k)
    except NoMargin:
        formula = None
    votes_per_step = votes / steps_done if steps_done else (formula or float(k))
    judged_per_step = judged / steps_done if steps_done else votes_per_step
    remaining_cost = None
    if cost_usd is not None and judged:
        remaining_cost = cost_usd / judged * judged_per_step * remaining
    remaining_time = elapsed_s / steps_timed * remaining if elapsed_s and steps_timed else None
    return Forecast(
        steps_done=steps_done,
        total_steps=total_steps,
        progress=steps_done / total_steps if total_steps else 1.0,
        k=k,
        p=p,
        p_interval=(low, high),
        v=votes / judged if judged else 1.0,
        p_zero_error_finish=odds,
        p_zero_error_finish_interval=None if odds_low is None or odds_high is None else (odds_low, odds_high),
        formula_votes_per_step=formula,
        projected_total_votes=round(votes + votes_per_step * remaining),
        projected_total_samples=round(judged + judged_per_step * remaining),
        projected_remaining_cost_usd=remaining_cost,
        projected_remaining_time_s=remaining_time,
    )
