"""The MAKER run: one micro-agent per move, first-to-ahead-by-k voting, red flags, audit.

For each step the runner builds the prompt from the previous step's *voted* move and state, lets
a sampling loop (:mod:`engine.run.sampling`) vote on the replies, and moves on with the winner.
It audits each decided step against the strategy's answer for the state the agent was shown
(the puzzle's own simulator, :mod:`engine.task.hanoi`); it reports a mismatch and never repairs
the state. A run ends solved, finished with errors,
undecided, stopped (by the user, the budget or the audit) or failed, each failure with its own
reason (:mod:`engine.run.failures`).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from engine.models.pricing import Pricing
from engine.models.sampler import ModelError, Sampler
from engine.run.config import Checkpoint, RunConfig, StopReason
from engine.run.control import RunControl
from engine.run.events import Listener, RunFinished, StepDecided, StepStarted, StepUndecided
from engine.run.failures import ListenerFailed, SamplerFailed, StopRun, brief, write_crash_log
from engine.run.judge import Judge
from engine.run.listeners import Listeners, emit
from engine.run.rules import Rules
from engine.run.sampling import Budget, Undecided, vote_now
from engine.run.scheduler import Scheduler
from engine.run.single_agent import SingleAgent
from engine.run.summary import Ending, RunSummary, UndecidedStep, explain_undecided, format_answer_short
from engine.run.totals import Totals
from engine.task.hanoi import (
    Move,
    State,
    apply_move,
    goal_state,
    optimal_move,
    state_before_step,
    total_steps,
)
from engine.task.parser import Answer, RedFlag
from engine.task.prompt import Message, PromptBuilder
from engine.task.verdict import right_answer
from engine.voting.forecast import Forecast
from engine.voting.tally import VoteTally

FORECAST_MARKS = (0.01, 0.10, 0.25, 0.50, 0.75)
CLOSE_TIMEOUT_S = 0.5
"""How long the sampler may take to close its connections at the end of a run."""



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
        totals: Totals | None = None,
    ) -> None:
        if config.budget_usd is not None and pricing is None:
            raise ValueError("a budget needs the model's prices")
        self.config = config
        self.sampler = sampler
        if config.budget_usd is not None:
            # The budget reserves every request it lets go at its worst; a hedge (engine.models.hedge)
            # would be one more, unreserved.
            sampler.hedging = False
        self.pricing = pricing
        self.checkpoint = resume_from or Checkpoint.start(config.disks)
        self.control = control
        self.clock = clock
        self.totals = totals.copy() if totals is not None else Totals()
        """Totals so far (a resumed run starts from the recording's); read them with :meth:`totals_now`."""
        self.lock = threading.Lock()
        """Held while the engine updates the totals and the position, and while a copy is taken."""
        self.position = self.checkpoint
        """The next step to decide, the state it shows and the move before it."""
        self.listeners = Listeners()
        self.judge = Judge(self.totals, self.lock, self.listeners, disks=config.disks,
                           max_tokens=config.max_tokens, temperature=config.temperature)
        self.budget = Budget(config.budget_usd, pricing, self.totals) if config.budget_usd and pricing else None
        self.forecasts: list[Forecast] = []
        """Forecasts kept at 1%, 10%, 25%, 50% and 75% of the run, to check them against the end."""
        self.failure: BaseException | None = None
        """What stopped a failed run: the model's exception, a listener's, or the engine's own."""
        self.finished: RunSummary | None = None
        """The summary, once the run has ended (read from any thread)."""
        self.started_at: float | None = None
        """When the run began, by the runner's clock; None before it has."""
        self._steps_before = self.totals.steps
        self._paused_at_start = 0.0
        self._ended_at: float | None = None
        self._paused_at_end = 0.0
        self._on_path = True
        """The steps so far are the optimal solution's, so the auditor's answer has a closed form."""
        self.lookahead = 0 if sampler.completes_without_waiting else config.lookahead
        """The lookahead in effect: none for a sampler whose replies come at once."""
        self.window_depth = 0
        """Steps sampled ahead of the oldest undecided one, with lookahead (read by screens)."""
        self._next_forecast = 0

    # -- listeners ----------------------------------------------------------------------------

    def subscribe(self, listener: Listener, *, samples: bool = False) -> None:
        """Call ``listener`` with every step-level event, and with sample-level ones if ``samples``;
        safe from another thread while the run goes on (see :mod:`engine.run.listeners`)."""
        self.listeners.subscribe(listener, samples=samples)

    def subscribe_samples(self, listener: Listener) -> None:
        self.listeners.subscribe_samples(listener)

    def subscribe_decisions(self, listener: Listener) -> None:
        """Each decided or undecided step with its samples, and the end of the run."""
        self.listeners.subscribe_decisions(listener)

    def unsubscribe(self, listener: Listener) -> None:
        self.listeners.unsubscribe(listener)

    # -- reading the run from another thread ----------------------------------------------------

    def totals_now(self) -> tuple[Totals, Checkpoint]:
        """A consistent copy of the totals with the position they lead to (any thread)."""
        with self.lock:
            return self.totals.copy(), self.position

    def cost_of(self, totals: Totals) -> float | None:
        """USD of ``totals``' tokens, None when the model is unpriced."""
        return None if self.pricing is None else self.pricing.cost(totals.tokens_in, totals.tokens_out)

    def forecast(self, totals: Totals | None = None, elapsed_s: float | None = None,
                 steps_timed: int | None = None) -> Forecast:
        """The run's odds and remaining work for ``totals`` (default: a copy of the run's now); a
        screen with its own clock passes the running time it measured and the steps it covers."""
        if totals is None:
            totals, _ = self.totals_now()
        if elapsed_s is None:
            elapsed_s = self.running_s()
        return totals.forecast(
            total_steps(self.config.disks), self.config.k, self.cost_of(totals), elapsed_s,
            totals.steps - self._steps_before if steps_timed is None else steps_timed,
        )

    def running_s(self) -> float | None:
        """Seconds the run has been running, pauses left out; None before it starts."""
        if self.started_at is None:
            return None
        if self._ended_at is not None:
            now, paused_s = self._ended_at, self._paused_at_end
        else:
            now, paused_s = self.clock(), self.control.paused_s() if self.control is not None else 0.0
        return max(0.0, now - self.started_at - (paused_s - self._paused_at_start))

    # -- the run --------------------------------------------------------------------------------

    async def run(self) -> RunSummary:
        """Decide steps until the task is done, a step is undecided, the run is stopped, or it fails."""
        self._paused_at_start = self.control.paused_s() if self.control is not None else 0.0
        started = self.started_at = self.clock()
        log_file = None
        stop: asyncio.Future[None] | None = None
        if self.control is not None and not self.sampler.completes_without_waiting:
            stop = asyncio.ensure_future(self.control.stopped())
        try:
            ending = await self._start_and_run(stop)
        except SamplerFailed as failure:
            self.failure = cause = failure.__cause__ or failure
            message = f"step {self.position.step}: the model failed: {describe_model(cause)}"
            if not isinstance(cause, ModelError):  # a fault its code did not expect: keep the traceback
                log_file = write_crash_log(cause, f"the model failed at {failure}")
                message += _see(log_file)
            ending = ("sampler_error", message, None)
        except ListenerFailed as failure:
            self.failure = cause = failure.__cause__ or failure
            if isinstance(cause, StopRun):
                ending = (cause.reason, f"step {self.position.step}: {cause}", None)
            else:
                log_file = write_crash_log(cause, f"a {failure} failed")
                ending = ("listener_error", f"step {self.position.step}: a listener failed ({brief(cause)})"
                          + _see(log_file), None)
        except Exception as exc:  # the engine's own bug: keep what was decided, say where the trace is
            self.failure = exc
            log_file = write_crash_log(exc, "the engine failed")
            ending = ("internal_error", f"step {self.position.step}: the engine failed ({brief(exc)})"
                      + _see(log_file), None)
        finally:
            if stop is not None:
                stop.cancel()
            with contextlib.suppress(Exception):  # closing connections cannot change what was decided
                await asyncio.wait_for(self.sampler.close(), CLOSE_TIMEOUT_S)
        self._paused_at_end = self.control.paused_s() if self.control is not None else 0.0
        self._ended_at = self.clock()
        summary = self._summary(*ending, self._ended_at - started, log_file)
        self.finished = summary
        with contextlib.suppress(ListenerFailed):  # the run is over: a listener cannot stop it again
            emit(self.listeners.steps, RunFinished(summary))
        return summary

    async def _start_and_run(self, stop: asyncio.Future[None] | None) -> Ending:
        """Start the sampler (a stop interrupts even that), then run the steps."""
        if not await self._unless_stopped(self.sampler.start(), stop):
            return "stopped", f"stopped by request before step {self.position.step}", None
        return await self._run_steps(stop)

    @staticmethod
    async def _unless_stopped(work: Coroutine[Any, Any, None], stop: asyncio.Future[None] | None) -> bool:
        """Await ``work`` unless a stop comes first (then cancel it); True when it finished."""
        task = asyncio.ensure_future(work)
        waiting = [task] if stop is None else [task, stop]
        await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        if not task.done():
            task.cancel()
            return False
        try:
            task.result()
        except Exception as exc:
            raise SamplerFailed("start") from exc
        return True

    async def _run_steps(self, stop: asyncio.Future[None] | None) -> Ending:
        config, judge = self.config, self.judge
        control, budget, sampler = self.control, self.budget, self.sampler
        builder = PromptBuilder(config.template())
        rules = Rules.of(config)
        step, state, previous = self.checkpoint
        self._on_path = state == state_before_step(step, config.disks) and (
            previous == (optimal_move(step - 1, config.disks) if step > 1 else None)
        )
        self._next_forecast = self._next_forecast_step(step - 1)
        if not sampler.completes_without_waiting:
            return await Scheduler(self, builder, rules, stop).run(step, state, previous)
        # A sampler whose replies come at once (the simulated model without latency): the same
        # decisions with no task per sample, the 20-disk run's path.
        last = total_steps(config.disks)
        while step <= last:
            if control is not None and control.engaged:
                control.wait(step_start=True)
                if control.stop_requested:
                    return "stopped", f"stopped by request before step {step}", None
            messages = builder.messages(previous, state)
            expected = self.begin_step(step, state, previous, messages)
            try:
                tally, red_flags, cancelled = vote_now(judge, rules, sampler, control, budget, step, messages)
            except Undecided as undecided:
                return self.undecided(step, undecided, expected, state, previous)
            if tally is None:
                return self.interrupted(step)
            ending = self.decide(step, state, previous, expected, tally, red_flags, cancelled)
            if ending is not None:
                return ending
            previous, state = tally.leader  # type: ignore[misc]
            step += 1
        return self.finish(state)

    # -- one step: what the step loop and the scheduler share ------------------------------------

    def begin_step(self, step: int, state: State, previous: Move | None, messages: list[Message]) -> Answer | None:
        """Start deciding ``step``: its budget, its start event, its log; returns the auditor's
        answer for the state the agent is shown (None when the strategy admits no move)."""
        if self.budget is not None:
            self.budget.set_prompt(messages, self.config.max_tokens)
        if self.listeners.starts:
            emit(self.listeners.starts, StepStarted(step, state, previous))
        self.judge.log = [] if self.listeners.decisions_want_samples else None
        self.judge.first = None
        # On the optimal path the answer comes from the closed form; after a wrong decision, from
        # the strategy applied to the state the agent was shown.
        if not self._on_path:
            return right_answer(state, previous)
        move = optimal_move(step, self.config.disks)
        return Answer(move, apply_move(state, move))

    def decide(
        self, step: int, state: State, previous: Move | None, expected: Answer | None, tally: VoteTally[Answer],
        red_flags: int, cancelled: int,
    ) -> Ending | None:
        """Count a decided step and tell the listeners; an Ending when the audit stops the run."""
        answer: Answer = tally.leader  # type: ignore[assignment]
        correct = answer == expected
        votes = tally.total
        self.lock.acquire()  # the totals and the position move together for the screen's copy
        try:
            first = self.judge.first
            self.totals.count_decision(step, votes, tally.leader_votes, correct, self.config.k,
                                       None if first is None else first == expected)
            self.position = Checkpoint(step + 1, answer.state, answer.move)
        finally:
            self.lock.release()
        if not correct:
            self._on_path = False
        if step == self._next_forecast:
            self.forecasts.append(self.forecast())
            self._next_forecast = self._next_forecast_step(step)
        if self.listeners.steps:
            log = self.judge.log
            emit(self.listeners.steps, StepDecided(
                step, answer, tally.leader_votes, votes, red_flags, cancelled, len(tally.counts),
                expected, correct, state, previous, () if log is None else tuple(log),
            ))
        if not correct and self.config.stop_on_error:
            want = "no legal move" if expected is None else format_answer_short(expected)
            return "audit_error", (f"audit: step {step} decided {format_answer_short(answer)} but the "
                                   f"strategy gives {want}"), None
        return None

    def interrupted(self, step: int, budget: bool | None = None) -> Ending:
        """The ending of a step its voting left without a tally: the budget (``budget``, or when
        not said, whether the budget held back the last sample), or a stop."""
        if budget if budget is not None else (self.budget is not None and self.budget.hit):
            return "budget", self.budget.message(step), None  # type: ignore[union-attr]
        return "stopped", f"stopped by request during step {step}", None

    def finish(self, state: State) -> Ending:
        """The ending once every step is decided."""
        last, errors = total_steps(self.config.disks), self.totals.errors
        if errors:
            return "finished", f"all {last:,} steps decided, {errors:,} of them wrong by the audit", None
        if state != goal_state(self.config.disks):
            return "finished", f"all {last:,} steps decided but the final state is not the goal", None
        return "solved", f"solved: all {last:,} steps decided, zero audit errors", None

    def _next_forecast_step(self, after: int) -> int:
        """The next step at which the forecast is kept (1%, 10%, 25%, 50%, 75% of the run)."""
        last = total_steps(self.config.disks)
        marks = sorted({max(1, round(last * share)) for share in FORECAST_MARKS})
        return next((mark for mark in marks if mark > after), last + 1)

    def undecided(
        self, step: int, undecided: Undecided, expected: Answer | None, state: State, previous: Move | None
    ) -> Ending:
        message, detail = explain_undecided(step, undecided.tally, undecided.red_flags, expected)
        log = self.judge.log
        emit(self.listeners.steps, StepUndecided(
            step, tuple(undecided.tally.ranked()), undecided.tally.total, undecided.red_flags, expected, message,
            state, previous, () if log is None else tuple(log),
        ))
        return "undecided", message, detail

    def _summary(self, stop: StopReason, message: str, undecided: UndecidedStep | None, wall_s: float,
                 log_file: Path | None) -> RunSummary:
        totals, _ = self.totals_now()
        return RunSummary(
            disks=self.config.disks,
            k=self.config.k,
            model=self.sampler.name,
            steps=totals.steps,
            total_steps=total_steps(self.config.disks),
            errors=totals.errors,
            solved=stop == "solved" and totals.errors == 0,
            samples=totals.samples,
            red_flags={flag.value: totals.red_flags.get(flag.value, 0) for flag in RedFlag},
            cancelled=totals.cancelled,
            tokens_in=totals.tokens_in,
            tokens_out=totals.tokens_out,
            cost_usd=self.cost_of(totals),
            lookahead=self.lookahead,
            wasted=totals.wasted,
            wasted_tokens_in=totals.wasted_tokens_in,
            wasted_tokens_out=totals.wasted_tokens_out,
            wasted_usd=None if self.pricing is None else self.pricing.cost(totals.wasted_tokens_in, totals.wasted_tokens_out),
            wall_s=round(wall_s, 3),
            stopped=stop,
            message=message,
            first_error_step=totals.first_error_step,
            steps_over_k=totals.steps_over_k,
            samples_per_step=totals.samples / totals.steps if totals.steps else 0.0,
            votes_histogram=dict(sorted(totals.votes_histogram.items())),
            forecast=self.forecast(totals),
            forecast_history=list(self.forecasts),
            wire=self.sampler.wire_report(),
            usage_estimated=self.sampler.usage_estimated,
            undecided=undecided,
            single_agent=SingleAgent.of(totals),
            log_file=None if log_file is None else str(log_file),
        )


def describe_model(exc: BaseException) -> str:
    """A model's fault in its own words (a :class:`ModelError` says it all), else with its type."""
    return str(exc) if isinstance(exc, ModelError) else brief(exc)


def _see(log_file: Path | None) -> str:
    return f"; the traceback is in {log_file}" if log_file is not None else "; no log file could be written"
