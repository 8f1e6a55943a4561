"""Voting on a step with a sampler that never waits, and what every way of voting shares: the
budget, the undecided step, and the winding down of cancelled requests.

The first round sends ``parallel`` (default k) samples, the first at the first temperature; after
that only as many as the leader still needs, so no sample is drawn that a one-at-a-time sampler
would not draw too. :func:`vote_now` serves samplers that never wait (the simulated model without
latency) with no task per sample; samplers that wait go through the scheduler
(:mod:`engine.run.scheduler`), which makes the same decisions.
"""

from __future__ import annotations

import asyncio

from engine.models.pricing import Pricing
from engine.models.sampler import Completion, Sampler, estimate_prompt_tokens
from engine.run.control import RunControl
from engine.run.failures import SamplerFailed
from engine.run.judge import Judge
from engine.run.rules import Outcome, Rules
from engine.run.totals import Totals
from engine.task.parser import Answer, judge_reply
from engine.task.prompt import Message
from engine.voting.tally import VoteTally

CANCEL_WAIT_S = 0.2
"""How long cancelled requests may take to wind down before the loop goes on without them."""
BUDGET_GRACE_S = 0.5
"""How long replies in flight may take to come back once the budget blocks the next sample."""


class Undecided(Exception):
    """A step hit its vote or red-flag cap without a winner."""

    def __init__(self, tally: VoteTally[Answer], red_flags: int) -> None:
        self.tally = tally
        self.red_flags = red_flags


class Budget:
    """Stops a run before one more sample could take its spend past ``limit_usd``."""

    def __init__(self, limit_usd: float, pricing: Pricing, totals: Totals) -> None:
        self.limit_usd = limit_usd
        self.pricing = pricing
        self.totals = totals
        self.worst_sample_usd = 0.0
        """What one sample of the current step could cost: its whole prompt and the token limit."""
        self.hit = False

    def set_prompt(self, messages: list[Message], max_tokens: int) -> None:
        self.worst_sample_usd = self.pricing.cost(estimate_prompt_tokens(messages), max_tokens)

    def spent(self) -> float:
        return self.pricing.cost(self.totals.tokens_in, self.totals.tokens_out)

    def allows(self, in_flight: int, uncounted_usd: float = 0.0) -> bool:
        """Whether one more sample fits, counting those in flight at their worst and replies back
        but not counted yet (steps sampled ahead) at what they cost."""
        if self.spent() + uncounted_usd + (in_flight + 1) * self.worst_sample_usd > self.limit_usd:
            self.hit = True
            return False
        return True

    def message(self, step: int) -> str:
        return (
            f"budget of ${self.limit_usd:,.2f} reached during step {step}: ${self.spent():,.4f} spent, "
            f"and another sample could cost up to ${self.worst_sample_usd:.4f}"
        )


def vote_now(
    judge: Judge, rules: Rules, sampler: Sampler, control: RunControl | None, budget: Budget | None,
    step: int, messages: list[Message],
) -> Outcome:
    """Vote with a sampler that never waits: draw, judge, repeat.

    With nothing ever in flight, drawing one sample at a time yields the same samples in the same
    order as sending a round out at once. Samples of a round that were due but not yet drawn when
    the step is decided (only when ``parallel`` exceeds k) are cancelled undrawn.
    """
    k, first_temperature, temperature, max_tokens, owed, _, _ = rules  # owed: due but not drawn yet
    tally: VoteTally[Answer] = VoteTally(k)
    add, complete, count, disks = tally.add, sampler.complete_now, judge.count, judge.disks
    index = red_flags = 0
    while True:
        if owed == 0:
            owed = tally.votes_still_needed
        if control is not None and control.engaged:
            control.wait(step_start=False)
            if control.stop_requested:
                return None, red_flags, judge.cancel_undrawn(step, index, owed)
        if budget is not None and not budget.allows(0):
            return None, red_flags, judge.cancel_undrawn(step, index, owed)
        sample_temperature = first_temperature if index == 0 else temperature
        try:
            completion = complete(messages, sample_temperature, max_tokens, (step, index))
        except Exception as exc:
            raise SamplerFailed(f"step {step}") from exc
        parsed = judge_reply(completion.text, completion.finish_reason, completion.tokens_out, max_tokens, disks)
        answer = count(step, index, sample_temperature, parsed, completion)
        index += 1
        owed -= 1
        if answer is None:
            red_flags += 1
            if rules.exhausted(tally.total, red_flags):
                raise Undecided(tally, red_flags)
        elif add(answer):
            return tally, red_flags, judge.cancel_undrawn(step, index, owed) if owed else 0
        elif rules.exhausted(tally.total, red_flags):
            raise Undecided(tally, red_flags)


async def wind_down(tasks: list[asyncio.Task[Completion]]) -> None:
    """Give cancelled requests a moment to end, and collect what they raised (nothing is lost)."""
    if tasks:
        await asyncio.wait(tasks, timeout=CANCEL_WAIT_S)
        settle(tasks)


def settle(tasks: list[asyncio.Task[Completion]]) -> list[asyncio.Task[Completion]]:
    """Collect what ended requests raised, so that asyncio logs nothing about them; returns the
    requests still running."""
    running = []
    for task in tasks:
        if not task.done():
            running.append(task)
        elif not task.cancelled():
            task.exception()
    return running
