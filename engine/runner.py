"""The MAKER run: one micro-agent per move, first-to-ahead-by-k voting, red flags, audit.

For each step the runner builds the prompt from the previous step's *voted* move and state, sends
the first k samples out at once (the first at ``first_temperature``, the rest at ``temperature``),
then only as many more as the leader still needs, parses every reply strictly, and lets the first
candidate ahead by k win. The simulator audits each decided step against the strategy's answer for
the state the agent was shown; it reports a mismatch and never repairs the state.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, model_validator

from engine.control import RunControl
from engine.events import (
    Event,
    RunFinished,
    SampleCancelled,
    SampleReceived,
    SampleRedFlagged,
    StepDecided,
    StepSample,
    StepStarted,
    StepUndecided,
)
from engine.forecast import Forecast, forecast
from engine.hanoi import (
    MAX_DISKS,
    Move,
    State,
    apply_move,
    format_move,
    format_state,
    goal_state,
    is_legal,
    optimal_move,
    start_state,
    state_before_step,
    strategy_move,
    total_steps,
)
from engine.parser import Answer, RedFlag, parse_answer
from engine.pricing import Pricing
from engine.prompt import Message, PromptBuilder
from engine.sampling import Completion, Sampler, estimate_prompt_tokens
from engine.voting import VoteTally

Listener = Callable[[Event], Any]

FORECAST_MARKS = (0.01, 0.10, 0.25, 0.50, 0.75)

StopReason = Literal["solved", "finished", "undecided", "audit_error", "stopped", "budget", "sampler_error"]


class RunConfig(BaseModel):
    """The settings of a run; a recording stores them so the run can be resumed or replayed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    disks: int = Field(20, ge=1, le=MAX_DISKS)
    k: int = Field(3, ge=1)
    max_tokens: int = Field(750, ge=1)
    """Replies cut at or running past this many output tokens are red-flagged ``too_long``."""
    first_temperature: float = Field(0.0, ge=0.0, le=2.0)
    temperature: float = Field(0.1, ge=0.0, le=2.0)
    max_votes_per_step: int = Field(50, ge=1)
    """Valid votes after which a step without a winner ends the run as undecided."""
    max_red_flags_per_step: int = Field(200, ge=1)
    """Red flags after which a step ends the run as undecided (the model cannot answer it)."""
    parallel: int | None = Field(None, ge=1)
    """Samples sent at the start of a step; default k. More than k cuts latency but may waste some."""
    stop_on_error: bool = False
    budget_usd: float | None = Field(None, gt=0)
    """Stop before a sample could take the run's spend past this (needs prices)."""

    @model_validator(mode="after")
    def _cap_allows_a_decision(self) -> RunConfig:
        if self.max_votes_per_step < self.k:
            raise ValueError(f"max_votes_per_step ({self.max_votes_per_step}) must be at least k ({self.k})")
        return self


class Checkpoint(NamedTuple):
    """Where a run goes on from: the next step, the state it is shown and the move before it."""

    step: int
    state: State
    previous_move: Move | None

    @classmethod
    def start(cls, disks: int) -> Checkpoint:
        return cls(1, start_state(disks), None)


class RunStats:
    """Running totals, updated in place on the hot path and read by snapshots and summaries."""

    __slots__ = (
        "steps",
        "errors",
        "first_error_step",
        "samples",
        "red_flags",
        "cancelled",
        "tokens_in",
        "tokens_out",
        "steps_over_k",
        "votes_histogram",
        "max_votes_in_a_step",
        "winner_votes",
    )

    def __init__(self) -> None:
        self.steps = 0
        self.errors = 0
        self.first_error_step: int | None = None
        self.samples = 0
        self.red_flags: Counter[RedFlag] = Counter()
        self.cancelled = 0
        self.tokens_in = 0
        self.tokens_out = 0
        self.steps_over_k = 0
        self.votes_histogram: Counter[int] = Counter()
        """Decided steps by the number of valid votes they took."""
        self.max_votes_in_a_step = 0
        self.winner_votes = 0
        """Valid votes that went to their step's winner: the forecast's estimate of p."""


class UndecidedStep(BaseModel):
    """The step a run stopped at because no candidate got ahead by k."""

    step: int
    votes: int
    red_flags: int
    tally: list[tuple[str, int]]
    """Candidates as ``move | next_state`` with their votes, most first."""
    estimated_p: float
    """The share of valid votes the most popular candidate got: an upper bound on p for this step."""
    right_answer_share: float | None
    """The share the auditor's answer got, when the auditor knows one."""


class RunSummary(BaseModel):
    """What a run did, as ``maker solve --json`` prints it."""

    model_config = ConfigDict(extra="forbid")

    disks: int
    k: int
    model: str
    steps: int
    """Decided steps."""
    total_steps: int
    errors: int
    """Decided steps whose move or state the audit found wrong."""
    solved: bool
    samples: int
    """Valid votes."""
    red_flags: dict[str, int]
    cancelled: int
    tokens_in: int
    tokens_out: int
    cost_usd: float | None
    """None when the model has no price: unknown, never zero."""
    wall_s: float
    stopped: StopReason
    message: str
    first_error_step: int | None
    steps_over_k: int
    """Decided steps that needed more than k valid votes."""
    samples_per_step: float
    votes_histogram: dict[int, int]
    forecast: Forecast | None = None
    """The odds and remaining work at the end (all of it done, for a finished run)."""
    forecast_history: list[Forecast] = Field(default_factory=list)
    """Forecasts made at 1%, 10%, 25%, 50% and 75% of the run."""
    transport_errors: dict[str, int] = Field(default_factory=dict)
    """Failed requests by kind (retried; never votes, never red flags)."""
    usage_estimated: int = 0
    """Replies whose server sent no token counts: their tokens were estimated from the text."""
    undecided: UndecidedStep | None = None


def format_answer_short(answer: tuple[Move, State]) -> str:
    """``[1, 0, 2] | [[..], [..], [..]]``: a candidate on one line."""
    return f"{format_move(answer[0])} | {format_state(answer[1])}"


class _Undecided(Exception):
    """Raised inside a step when it cannot be decided."""

    def __init__(self, tally: VoteTally[Answer], red_flags: int) -> None:
        self.tally = tally
        self.red_flags = red_flags


class Runner:
    """Runs MAKER over the Towers of Hanoi with one sampler, emitting events as it goes."""

    def __init__(
        self,
        config: RunConfig,
        sampler: Sampler,
        *,
        pricing: Pricing | None = None,
        resume_from: Checkpoint | None = None,
        control: RunControl | None = None,
        clock: Callable[[], float] = time.monotonic,
        stats: RunStats | None = None,
    ) -> None:
        self.config = config
        self.sampler = sampler
        self.pricing = pricing
        self.checkpoint = resume_from or Checkpoint.start(config.disks)
        self.control = control
        self.clock = clock
        if config.budget_usd is not None and pricing is None:
            raise ValueError("a budget needs the model's prices")
        self.failure: Exception | None = None
        self.forecasts: list[Forecast] = []
        """Forecasts kept at 1%, 10%, 25%, 50% and 75% of the run, to check them against the end."""
        self._started: float | None = None
        self._steps_before = 0
        self.finished: RunSummary | None = None
        """The summary, once the run has ended (read from any thread)."""
        self._worst_sample_usd = 0.0
        self._budget_hit = False
        """What stopped the run when the sampler failed."""
        self.stats = stats or RunStats()
        """Totals so far; a resumed run starts from the recording's."""
        self.position = self.checkpoint
        """The next step to decide, the state it shows and the move before it."""
        self._start_listeners: list[Listener] = []
        self._step_listeners: list[Listener] = []
        self._sample_listeners: list[Listener] = []
        self._step_log: list[StepSample] | None = None
        """The current step's samples, kept only when a decision listener wants them."""
        self._disks, self._max_tokens = config.disks, config.max_tokens
        self._first_round = max(config.parallel or config.k, config.k)
        self._complete_now: Callable[..., Completion] | None = (
            getattr(sampler, "complete_now", None) if getattr(sampler, "completes_without_waiting", False) else None
        )

    def subscribe(self, listener: Listener, *, samples: bool = False) -> None:
        """Call ``listener`` with every step-level event, and with sample-level ones if ``samples``.

        Safe from another thread while the run goes on: the lists are replaced, never mutated, and
        the runner picks up the new ones at its next step (or sample).
        """
        self._start_listeners = [*self._start_listeners, listener]
        self._step_listeners = [*self._step_listeners, listener]
        if samples:
            self._sample_listeners = [*self._sample_listeners, listener]

    def subscribe_samples(self, listener: Listener) -> None:
        """Call ``listener`` with every sample-level event only."""
        self._sample_listeners = [*self._sample_listeners, listener]

    def subscribe_decisions(self, listener: Listener) -> None:
        """Call ``listener`` with each decided or undecided step, its samples in the event, and the
        end of the run: all a recorder needs, at the cost of a tuple a sample and no event."""
        self._step_listeners = [*self._step_listeners, listener]
        if self._step_log is None:
            self._step_log = []

    def unsubscribe(self, listener: Listener) -> None:
        """Stop calling ``listener`` (for steps and samples alike)."""
        self._start_listeners = [known for known in self._start_listeners if known is not listener]
        self._step_listeners = [known for known in self._step_listeners if known is not listener]
        self._sample_listeners = [known for known in self._sample_listeners if known is not listener]

    @property
    def cost_usd(self) -> float | None:
        """USD spent so far, None when the model is unpriced."""
        if self.pricing is None:
            return None
        return self.pricing.cost(self.stats.tokens_in, self.stats.tokens_out)

    async def run(self) -> RunSummary:
        """Decide steps until the task is done, a step is undecided, or the run is stopped."""
        started = self._started = self.clock()
        self._steps_before = self.stats.steps
        stop: StopReason = "finished"
        message = ""
        undecided: UndecidedStep | None = None
        try:
            start = getattr(self.sampler, "start", None)
            if start is not None:
                await start()
            stop, message, undecided = await self._run_steps()
        except Exception as exc:  # a sampler that gave up: end the run cleanly, keep what was decided
            self.failure = exc
            stop, message = "sampler_error", f"step {self.position.step}: {exc}"
        finally:
            close = getattr(self.sampler, "close", None)
            if close is not None:
                await close()
        summary = self._summary(stop, message, undecided, self.clock() - started)
        self.finished = summary
        self._emit(RunFinished(summary))
        return summary

    @property
    def started_at(self) -> float | None:
        """When the run began, by the runner's clock; None before it has."""
        return self._started

    async def _run_steps(self) -> tuple[StopReason, str, UndecidedStep | None]:
        config, stats = self.config, self.stats
        disks, k = config.disks, config.k
        builder = PromptBuilder(disks)
        step, state, previous = self.checkpoint
        on_path = state == state_before_step(step, disks) and (
            previous == (optimal_move(step - 1, disks) if step > 1 else None)
        )
        histogram = stats.votes_histogram
        control = self.control
        immediate = self._complete_now is not None
        last = total_steps(disks)
        next_forecast = self._next_forecast_step(step - 1)
        while step <= last:
            if control is not None and control.engaged:
                if immediate:
                    control.wait(step_start=True)
                else:
                    await control.gate(step_start=True)
                if control.stop_requested:
                    return "stopped", f"stopped by request before step {step}", None
            messages = builder.messages(previous, state)
            if config.budget_usd is not None:
                assert self.pricing is not None
                self._worst_sample_usd = self.pricing.cost(estimate_prompt_tokens(messages), config.max_tokens)
            step_listeners = self._step_listeners
            if self._start_listeners:
                started = StepStarted(step, state, previous)
                for listener in self._start_listeners:
                    listener(started)
            log = self._step_log
            if log is not None:
                log.clear()
            # The auditor's answer for the state the agent is shown. On the optimal path it comes
            # from the closed form; after a wrong decision, from the strategy applied to that state.
            expected_move = optimal_move(step, disks) if on_path else strategy_move(state, previous, disks)
            expected = None
            if expected_move is not None and is_legal(state, expected_move):
                expected = Answer(expected_move, apply_move(state, expected_move))
            try:
                if immediate:
                    tally, red_flags, cancelled = self._vote_now(step, messages)
                else:
                    tally, red_flags, cancelled = await self._vote(step, messages)
            except _Undecided as undecided:
                return self._undecided(step, undecided, expected, state, previous)
            if tally is None:
                if self._budget_hit:
                    return "budget", self._budget_message(step), None
                return "stopped", f"stopped by request during step {step}", None
            answer: Answer = tally.leader  # type: ignore[assignment]
            correct = answer == expected
            stats.steps += 1
            votes = tally.total
            stats.samples += votes
            stats.winner_votes += tally.leader_votes
            histogram[votes] += 1
            if step == next_forecast:
                self.forecasts.append(self.forecast())
                next_forecast = self._next_forecast_step(step)
            if votes > k:
                stats.steps_over_k += 1
            if not correct:
                on_path = False
                stats.errors += 1
                if stats.first_error_step is None:
                    stats.first_error_step = step
            if step_listeners:
                decided = StepDecided(
                    step, answer, tally.leader_votes, votes, red_flags, cancelled, len(tally.counts),
                    expected, correct, state, previous, () if log is None else tuple(log),
                )
                for listener in step_listeners:
                    listener(decided)
            previous, state = answer
            step += 1
            self.position = Checkpoint(step, state, previous)
            if not correct and config.stop_on_error:
                want = "no legal move" if expected is None else format_answer_short(expected)
                return (
                    "audit_error",
                    f"audit: step {step - 1} decided {format_answer_short(answer)} but the strategy gives {want}",
                    None,
                )
        if stats.errors:
            return "finished", f"all {last:,} steps decided, {stats.errors:,} of them wrong by the audit", None
        if state != goal_state(disks):
            return "finished", f"all {last:,} steps decided but the final state is not the goal", None
        return "solved", f"solved: all {last:,} steps decided, zero audit errors", None

    def _judge(self, step: int, index: int, temperature: float, completion: Completion) -> Answer | None:
        """Count a reply's tokens and parse it: its candidate, or None when it is red-flagged."""
        stats = self.stats
        stats.tokens_in += completion.tokens_in
        stats.tokens_out += completion.tokens_out
        if completion.finish_reason == "length" or completion.tokens_out > self._max_tokens:
            parsed: Answer | RedFlag = RedFlag.TOO_LONG
        else:
            parsed = parse_answer(completion.text, self._disks)
        log = self._step_log
        if log is not None:
            log.append((index, temperature, parsed, completion))
        listeners = self._sample_listeners
        if parsed.__class__ is Answer:
            if listeners:
                received = SampleReceived(step, index, temperature, parsed, completion)  # type: ignore[arg-type]
                for listener in listeners:
                    listener(received)
            return parsed  # type: ignore[return-value]
        stats.red_flags[parsed] += 1  # type: ignore[index]
        if listeners:
            self._emit_sample(SampleRedFlagged(step, index, temperature, parsed, completion))  # type: ignore[arg-type]
        return None

    def _vote_now(self, step: int, messages: list[Message]) -> tuple[VoteTally[Answer] | None, int, int]:
        """Vote with a sampler that never waits: draw, judge, repeat.

        With nothing ever in flight, drawing one sample at a time yields the same samples in the
        same order as sending a round out at once. Samples of a round that were due but not yet
        drawn when the step is decided (only when ``parallel`` exceeds k) are cancelled undrawn.
        """
        config = self.config
        first_temperature, temperature, max_tokens = config.first_temperature, config.temperature, config.max_tokens
        cap, red_cap = config.max_votes_per_step, config.max_red_flags_per_step
        tally: VoteTally[Answer] = VoteTally(config.k)
        add = tally.add
        complete, judge, control = self._complete_now, self._judge, self.control
        budget = config.budget_usd
        owed = self._first_round  # samples of the current round not yet drawn
        index = red_flags = 0
        while True:
            if owed == 0:
                owed = tally.votes_still_needed
            if control is not None and control.engaged:
                control.wait(step_start=False)
                if control.stop_requested:
                    return None, red_flags, self._cancel_undrawn(step, index, owed)
            if budget is not None and self._over_budget(0):
                return None, red_flags, self._cancel_undrawn(step, index, owed)
            sample_temperature = first_temperature if index == 0 else temperature
            answer = judge(step, index, sample_temperature, complete(messages, sample_temperature, max_tokens))  # type: ignore[misc]
            index += 1
            owed -= 1
            if answer is None:
                red_flags += 1
                if red_flags >= red_cap:
                    raise _Undecided(tally, red_flags)
            elif add(answer):
                return tally, red_flags, self._cancel_undrawn(step, index, owed)
            elif tally.total >= cap:
                raise _Undecided(tally, red_flags)

    async def _vote(self, step: int, messages: list[Message]) -> tuple[VoteTally[Answer] | None, int, int]:
        """Vote with a sampler that waits: samples run as tasks and are judged as they arrive.

        The first round goes out at once; after that only as many as the leader still needs,
        counting those in flight, so no sample is drawn that a one-at-a-time sampler would not
        draw too. Samples still running when the step ends are cancelled; replies that arrived but
        were not judged yet are cancelled too (and their tokens counted: they were paid for).
        """
        config = self.config
        first_temperature, temperature, max_tokens = config.first_temperature, config.temperature, config.max_tokens
        cap, red_cap = config.max_votes_per_step, config.max_red_flags_per_step
        tally: VoteTally[Answer] = VoteTally(config.k)
        complete, judge, control = self.sampler.complete, self._judge, self.control
        ready: deque[tuple[int, float, Completion]] = deque()
        pending: dict[asyncio.Task[Completion], tuple[int, float]] = {}
        launched = judged = red_flags = 0
        try:
            while True:
                wanted = (self._first_round if launched == 0 else tally.votes_still_needed) - (launched - judged)
                for _ in range(wanted):
                    if control is not None and control.engaged:
                        await control.gate(step_start=False)
                        if control.stop_requested:
                            return None, red_flags, self._cancel_in_flight(step, ready, pending)
                    if config.budget_usd is not None and self._over_budget(len(pending) + len(ready)):
                        break
                    sample_temperature = first_temperature if launched == 0 else temperature
                    task = asyncio.ensure_future(complete(messages, sample_temperature, max_tokens))
                    pending[task] = (launched, sample_temperature)
                    launched += 1
                if not ready:
                    if not pending:  # the budget allows no further sample
                        return None, red_flags, 0
                    done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                    for task in sorted(done, key=lambda t: pending[t][0]):
                        index, sample_temperature = pending.pop(task)
                        ready.append((index, sample_temperature, task.result()))
                index, sample_temperature, completion = ready.popleft()
                judged += 1
                answer = judge(step, index, sample_temperature, completion)
                if answer is None:
                    red_flags += 1
                    if red_flags >= red_cap:
                        self._cancel_in_flight(step, ready, pending)
                        raise _Undecided(tally, red_flags)
                elif tally.add(answer):
                    return tally, red_flags, self._cancel_in_flight(step, ready, pending)
                elif tally.total >= cap:
                    self._cancel_in_flight(step, ready, pending)
                    raise _Undecided(tally, red_flags)
        finally:
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)

    def forecast(self, elapsed_s: float | None = None, steps_timed: int | None = None) -> Forecast:
        """The run's odds and remaining work as things stand (any thread); a screen with its own
        clock passes the time it measured and the steps that time covers."""
        stats = self.stats
        if elapsed_s is None and self._started is not None:
            elapsed_s = self.clock() - self._started
        return forecast(
            steps_done=stats.steps,
            total_steps=total_steps(self.config.disks),
            k=self.config.k,
            votes=stats.samples,
            winner_votes=stats.winner_votes,
            red_flags=sum(stats.red_flags.values()),
            cost_usd=self.cost_usd,
            elapsed_s=elapsed_s,
            steps_timed=stats.steps - self._steps_before if steps_timed is None else steps_timed,
        )

    def _next_forecast_step(self, after: int) -> int:
        """The next step at which the forecast is kept (1%, 10%, 25%, 50%, 75% of the run)."""
        last = total_steps(self.config.disks)
        marks = sorted({max(1, round(last * share)) for share in FORECAST_MARKS})
        return next((mark for mark in marks if mark > after), last + 1)

    def _over_budget(self, in_flight: int) -> bool:
        """Whether one more sample could take the spend past the budget, counting those in flight
        at their worst (the whole prompt and the token limit)."""
        spent = self.cost_usd or 0.0
        if spent + (in_flight + 1) * self._worst_sample_usd > (self.config.budget_usd or 0.0):
            self._budget_hit = True
            return True
        return False

    def _budget_message(self, step: int) -> str:
        return (
            f"budget of ${self.config.budget_usd:,.2f} reached during step {step}: ${self.cost_usd or 0:,.4f} spent, "
            f"and another sample could cost up to ${self._worst_sample_usd:.4f}"
        )

    def _cancel_undrawn(self, step: int, index: int, owed: int) -> int:
        """Count the samples due in this round but never drawn; returns how many."""
        if owed:
            self.stats.cancelled += owed
            temperature = self.config.temperature
            if self._step_log is not None:
                self._step_log.extend((late, temperature, None, None) for late in range(index, index + owed))
            if self._sample_listeners:
                for late in range(index, index + owed):
                    self._emit_sample(SampleCancelled(step, late, temperature, None))
        return owed

    def _cancel_in_flight(
        self,
        step: int,
        ready: deque[tuple[int, float, Completion]],
        pending: dict[asyncio.Task[Completion], tuple[int, float]],
    ) -> int:
        """Count the samples a finished step no longer needs; ``_vote`` then cancels the tasks."""
        cancelled = len(ready) + len(pending)
        self.stats.cancelled += cancelled
        log = self._step_log
        for index, temperature, completion in ready:
            self.stats.tokens_in += completion.tokens_in
            self.stats.tokens_out += completion.tokens_out
            if log is not None:
                log.append((index, temperature, None, completion))
            self._emit_sample(SampleCancelled(step, index, temperature, completion))
        for index, temperature in pending.values():
            if log is not None:
                log.append((index, temperature, None, None))
            self._emit_sample(SampleCancelled(step, index, temperature, None))
        ready.clear()
        return cancelled

    def _undecided(
        self, step: int, undecided: _Undecided, expected: Answer | None, state: State, previous: Move | None
    ) -> tuple[StopReason, str, UndecidedStep]:
        tally = undecided.tally
        ranked = tally.ranked()
        votes = tally.total
        top = ranked[0][1] if ranked else 0
        estimated_p = top / votes if votes else 0.0
        right_share = None
        if expected is not None and votes:
            right_share = tally.counts.get(expected, 0) / votes
        tally_text = ", ".join(f"{format_answer_short(answer)} x{count}" for answer, count in ranked[:4])
        if len(ranked) > 4:
            tally_text += f", and {len(ranked) - 4} more"
        if votes:
            why = (
                f"after {votes} valid votes no answer is ahead by {tally.k} "
                f"(tally: {tally_text}); the most popular answer has p <= {estimated_p:.2f}"
            )
        else:
            why = f"every one of {undecided.red_flags} samples was red-flagged"
        message = (
            f"step {step} is undecided: {why}. Voting cannot fix a systematic error (p < 0.5): "
            "use a stronger model, a higher vote cap, or a different prompt."
        )
        detail = UndecidedStep(
            step=step,
            votes=votes,
            red_flags=undecided.red_flags,
            tally=[(format_answer_short(answer), count) for answer, count in ranked],
            estimated_p=estimated_p,
            right_answer_share=right_share,
        )
        log = self._step_log
        self._emit(
            StepUndecided(
                step, tuple(ranked), votes, undecided.red_flags, expected, message, state, previous,
                () if log is None else tuple(log),
            )
        )
        return "undecided", message, detail

    def _summary(self, stop: StopReason, message: str, undecided: UndecidedStep | None, wall_s: float) -> RunSummary:
        stats = self.stats
        return RunSummary(
            disks=self.config.disks,
            k=self.config.k,
            model=getattr(self.sampler, "name", "unknown"),
            steps=stats.steps,
            total_steps=total_steps(self.config.disks),
            errors=stats.errors,
            solved=stop == "solved" and stats.errors == 0,
            samples=stats.samples,
            red_flags={flag.value: stats.red_flags.get(flag, 0) for flag in RedFlag},
            cancelled=stats.cancelled,
            tokens_in=stats.tokens_in,
            tokens_out=stats.tokens_out,
            cost_usd=self.cost_usd,
            wall_s=round(wall_s, 3),
            stopped=stop,
            message=message,
            first_error_step=stats.first_error_step,
            steps_over_k=stats.steps_over_k,
            samples_per_step=stats.samples / stats.steps if stats.steps else 0.0,
            votes_histogram=dict(sorted(stats.votes_histogram.items())),
            forecast=self.forecast(),
            forecast_history=list(self.forecasts),
            transport_errors=dict(getattr(self.sampler, "transport_errors", {})),
            usage_estimated=getattr(self.sampler, "usage_estimated", 0),
            undecided=undecided,
        )

    def _emit(self, event: Event) -> None:
        for listener in self._step_listeners:
            listener(event)

    def _emit_sample(self, event: Event) -> None:
        for listener in self._sample_listeners:
            listener(event)
