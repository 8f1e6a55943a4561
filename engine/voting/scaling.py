"""The scaling laws of MAKER (s steps, per-sample success p, margin k, target t, valid rate v).

- one step under first-to-ahead-by-k voting: ``p_step = 1 / (1 + ((1-p)/p)^k)``
- the whole task: ``p_full = p_step^s``
- the smallest margin that reaches t: ``k_min = ceil(ln(t^(-1/s) - 1) / ln((1-p)/p))``
- valid samples per step (gambler's ruin, two outcomes): ``E[n] = k/(2p-1) * (1-r^k)/(1+r^k)``,
  ``r = (1-p)/p``; divide by v for red-flagged samples
- cost: ``s * E[n] / v`` samples at c each, about ``c s k_min / (v (2p-1))``

All need p > 0.5: below that, voting converges on a wrong answer and no k helps.
"""

from __future__ import annotations

import math


class NoMargin(ValueError):
    """p <= 0.5: voting cannot reach the target at any k."""


def _odds(p: float) -> float:
    if not 0.5 < p <= 1.0:
        raise NoMargin(f"p = {p:g}: voting needs p > 0.5")
    return (1.0 - p) / p


def p_step(p: float, k: int) -> float:
    """Chance that first-to-ahead-by-k picks the right answer on one step (two outcomes)."""
    return 1.0 / (1.0 + _odds(p) ** k)


def p_full(p: float, k: int, steps: int) -> float:
    """Chance that every one of ``steps`` steps is decided right."""
    return p_step(p, k) ** steps


def k_min(p: float, steps: int, target: float) -> int:
    """The smallest k with ``p_full >= target``; raises :class:`NoMargin` when p <= 0.5."""
    if not 0.0 < target < 1.0:
        raise ValueError("target must lie strictly between 0 and 1")
    r = _odds(p)
    if r == 0.0:
        return 1
    # t^(-1/s) - 1 computed as expm1 for accuracy when s is large and the value tiny.
    per_step_slack = math.expm1(-math.log(target) / steps)
    return max(1, math.ceil(math.log(per_step_slack) / math.log(r)))


def expected_votes_per_step(p: float, k: int) -> float:
    """Expected valid votes to decide a step with two candidates (gambler's ruin)."""
    r = _odds(p)
    if r == 0.0:
        return float(k)
    rk = r**k
    return k / (2.0 * p - 1.0) * (1.0 - rk) / (1.0 + rk)


def expected_samples_per_step(p: float, k: int, valid_rate: float = 1.0) -> float:
    """Expected samples drawn per step, red-flagged ones included."""
    if not 0.0 < valid_rate <= 1.0:
        raise ValueError("valid rate must lie in (0, 1]")
    return expected_votes_per_step(p, k) / valid_rate


def expected_cost(
    p: float,
    k: int,
    steps: int,
    cost_per_sample: float,
    valid_rate: float = 1.0,
) -> float:
    """Expected cost of the whole run: samples per step times steps times the cost of one."""
    return cost_per_sample * steps * expected_samples_per_step(p, k, valid_rate)


def wilson_interval(successes: float, trials: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The Wilson score interval for a proportion (95% by default)."""
    if trials <= 0:
        return (0.0, 1.0)
    phat = successes / trials
    denom = 1.0 + z * z / trials
    centre = (phat + z * z / (2 * trials)) / denom
    half = z * math.sqrt(phat * (1 - phat) / trials + z * z / (4 * trials * trials)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))
