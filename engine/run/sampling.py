"""The sampling loops: draw a step's samples and vote until a candidate is ahead by k.

The first round sends ``parallel`` (default k) samples, the first at the first temperature; after
that only as many as the leader still needs, counting those in flight, so no sample is drawn that
a one-at-a-time sampler would not draw too. :func:`vote_now` serves samplers that never wait (the
simulated model without latency) with no task per sample; :func:`vote_waiting` serves samplers
that wait, with a task per request, and returns at once on a stop, cancelling what is in flight;
the budget stops a run only when nothing is in flight, so that stop never waits for a server.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import NamedTuple

from engine.models.pricing import Pricing
from engine.models.sampler import Completion, Sampler, estimate_prompt_tokens
from engine.run.config import RunConfig
from engine.run.control import RunControl
from engine.run.failures import SamplerFailed
from engine.run.judge import InFlight, Judge, Ready
from engine.run.totals import Totals
from engine.task.parser import Answer
from engine.task.prompt import Message
from engine.voting.tally import VoteTally

CANCEL_WAIT_S = 0.5
"""How long cancelled requests may take to wind down before the loop goes on without them."""


class Undecided(Exception):
    """A step hit its vote or red-flag cap without a winner."""

    def __init__(self, tally: VoteTally[Answer], red_flags: int) -> None:
        self.tally = tally
        self.red_flags = red_flags


class Outcome(NamedTuple):
    """How a step's voting ended: the tally (None when stopped), its red flags and cancellations."""

    tally: VoteTally[Answer] | None
    red_flags: int
    cancelled: int


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

    def allows(self, in_flight: int) -> bool:
        """Whether one more sample fits, counting those in flight at their worst."""
        if self.spent() + (in_flight + 1) * self.worst_sample_usd > self.limit_usd:
            self.hit = True
            return False
        return True

    def message(self, step: int) -> str:
        return (
            f"budget of ${self.limit_usd:,.2f} reached during step {step}: ${self.spent():,.4f} spent, "
            f"and another sample could cost up to ${self.worst_sample_usd:.4f}"
        )


def vote_now(
    judge: Judge, config: RunConfig, sampler: Sampler, control: RunControl | None, budget: Budget | None,
    step: int, messages: list[Message],
) -> Outcome:
    """Vote with a sampler that never waits: draw, judge, repeat.

    With nothing ever in flight, drawing one sample at a time yields the same samples in the same
    order as sending a round out at once. Samples of a round that were due but not yet drawn when
    the step is decided (only when ``parallel`` exceeds k) are cancelled undrawn.
    """
    first_temperature, temperature, max_tokens = config.first_temperature, config.temperature, config.max_tokens
    cap, red_cap = config.max_votes_per_step, config.max_red_flags_per_step
    tally: VoteTally[Answer] = VoteTally(config.k)
    add, complete, judged = tally.add, sampler.complete_now, judge.judge
    owed = max(config.parallel or config.k, config.k)  # samples of the current round not yet drawn
    index = red_flags = 0
    while True:
        if owed == 0:
            owed = tally.votes_still_needed
        if control is not None and control.engaged:
            control.wait(step_start=False)
            if control.stop_requested:
                return Outcome(None, red_flags, judge.cancel_undrawn(step, index, owed))
        if budget is not None and not budget.allows(0):
            return Outcome(None, red_flags, judge.cancel_undrawn(step, index, owed))
        sample_temperature = first_temperature if index == 0 else temperature
        try:
            completion = complete(messages, sample_temperature, max_tokens)
        except Exception as exc:
            raise SamplerFailed(f"step {step}") from exc
        answer = judged(step, index, sample_temperature, completion)
        index += 1
        owed -= 1
        if answer is None:
            red_flags += 1
            if red_flags >= red_cap:
                raise Undecided(tally, red_flags)
        elif add(answer):
            return Outcome(tally, red_flags, judge.cancel_undrawn(step, index, owed))
        elif tally.total >= cap:
            raise Undecided(tally, red_flags)


async def vote_waiting(
    judge: Judge, config: RunConfig, sampler: Sampler, control: RunControl | None, budget: Budget | None,
    step: int, messages: list[Message], stop: asyncio.Future[None] | None,
) -> Outcome:
    """Vote with a sampler that waits: requests run as tasks and are judged as they arrive.

    ``stop`` completes when the user stops the run: the loop then returns at once, whatever the
    server is doing. Requests still running when the step ends are cancelled; replies that arrived
    but were not judged yet are cancelled too (their tokens count: they were paid for).
    """
    first_temperature, temperature, max_tokens = config.first_temperature, config.temperature, config.max_tokens
    cap, red_cap = config.max_votes_per_step, config.max_red_flags_per_step
    first_round = max(config.parallel or config.k, config.k)
    tally: VoteTally[Answer] = VoteTally(config.k)
    ready: Ready = deque()
    pending: InFlight = {}
    launched = judged = red_flags = 0
    try:
        while True:
            wanted = (first_round if launched == 0 else tally.votes_still_needed) - (launched - judged)
            for _ in range(wanted):
                if control is not None and control.engaged:
                    await control.gate(step_start=False)
                    if control.stop_requested:
                        return Outcome(None, red_flags, judge.cancel_in_flight(step, ready, pending))
                if budget is not None and not budget.allows(len(pending) + len(ready)):
                    break  # what is in flight may leave room; with nothing in flight, the budget stops the run
                sample_temperature = first_temperature if launched == 0 else temperature
                task = asyncio.ensure_future(sampler.complete(messages, sample_temperature, max_tokens))
                pending[task] = (launched, sample_temperature)
                launched += 1
            if not ready:
                if not pending:  # the budget allows no further sample
                    return Outcome(None, red_flags, 0)
                done, _ = await asyncio.wait([*pending, stop] if stop is not None else pending,
                                             return_when=asyncio.FIRST_COMPLETED)
                if stop is not None and stop in done:
                    return Outcome(None, red_flags, judge.cancel_in_flight(step, ready, pending))
                for task in sorted(done, key=lambda t: pending[t][0]):  # type: ignore[index]
                    index, sample_temperature = pending.pop(task)  # type: ignore[call-overload]
                    try:
                        completion: Completion = task.result()
                    except Exception as exc:
                        raise SamplerFailed(f"step {step}") from exc
                    ready.append((index, sample_temperature, completion))
            index, sample_temperature, completion = ready.popleft()
            judged += 1
            answer = judge.judge(step, index, sample_temperature, completion)
            if answer is None:
                red_flags += 1
                if red_flags >= red_cap:
                    judge.cancel_in_flight(step, ready, pending)
                    raise Undecided(tally, red_flags)
            elif tally.add(answer):
                return Outcome(tally, red_flags, judge.cancel_in_flight(step, ready, pending))
            elif tally.total >= cap:
                judge.cancel_in_flight(step, ready, pending)
                raise Undecided(tally, red_flags)
    finally:
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=CANCEL_WAIT_S)
            for task in pending:  # retrieve what they raised, so that nothing is reported as lost
                if task.done() and not task.cancelled():
                    task.exception()
