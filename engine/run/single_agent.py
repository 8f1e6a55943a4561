"""One agent alone: what a single agent would have done without MAKER's vote — each step's first
sample (temperature 0) taken as the answer — and how to say it: where it fails, how often it is
wrong, and its chance to finish the whole task. ``maker info``, ``maker solve`` and the TUI say it
with :func:`single_agent_text`."""

from __future__ import annotations

import math

from pydantic import BaseModel

from engine.run.totals import Totals


class SingleAgent(BaseModel):
    """What one agent alone would have done: each step's first sample (temperature 0), no vote."""

    first_wrong_step: int | None
    """The first step it got wrong: where the task would have failed for it; None if none."""
    wrong_steps: int
    steps: int
    """Decided steps whose first sample came back and was judged."""

    @classmethod
    def of(cls, totals: Totals) -> SingleAgent:
        return cls(first_wrong_step=totals.single_first_wrong, wrong_steps=totals.single_wrong,
                   steps=totals.single_steps)


def single_agent_log10_chance(wrong: int, steps: int, total_steps: int) -> float:
    """log10 of the chance that one agent alone gets all ``total_steps`` right: p^total_steps,
    with p = 1 - wrong/steps estimated from the steps judged (-inf when it was always wrong)."""
    if steps <= 0 or wrong <= 0:
        return 0.0
    if wrong >= steps:
        return -math.inf
    return total_steps * math.log1p(-wrong / steps) / math.log(10)


def chance_text(log10_chance: float) -> str:
    """A chance for people, from its log10: ``42%``, ``0.31%``, ``1 in 5,100``, ``1 in 3×10^11``, ``none``."""
    if log10_chance == -math.inf:
        return "none"
    chance = 10**log10_chance
    if chance >= 0.995:
        return "over 99%"
    if chance >= 0.01:
        return f"{chance:.0%}"
    if chance >= 0.001:
        return f"{chance:.2%}"
    if log10_chance >= -6:
        return f"1 in {float(f'{1 / chance:.2g}'):,.0f}"  # an estimate: two figures
    exponent = math.floor(-log10_chance)
    lead = round(10 ** (-log10_chance - exponent))
    if lead == 10:
        lead, exponent = 1, exponent + 1
    return f"1 in {'' if lead == 1 else f'{lead}×'}10^{exponent:,}"


def single_agent_text(first_wrong: int | None, wrong: int, steps: int, total_steps: int,
                      errors: int | None = None) -> str:
    """One agent alone, in a sentence: where it fails, how often it is wrong, its chance to finish
    the whole task; and MAKER's audit errors beside it when ``errors`` is given."""
    if steps <= 0:
        text = "no step judged"
    elif wrong <= 0:
        text = f"never wrong in {steps:,} steps" + ("" if steps >= total_steps else f" judged (of {total_steps:,})")
    else:
        where = f"fails at step {first_wrong:,}" if first_wrong is not None else "fails"
        chance = chance_text(single_agent_log10_chance(wrong, steps, total_steps))
        text = f"{where} (wrong at {wrong:,} of {steps:,} steps; chance to finish all {total_steps:,}: {chance})"
    if errors is not None:
        text += f"; MAKER: {errors:,} error{'' if errors == 1 else 's'}"
    return text
