"""Following a live run for a screen: snapshots pulled at the screen's own pace.

A :class:`LiveView` follows a runner in one of two ways. In detail (paused, or at a pace a person
can follow) it listens to the run's events in the engine's thread and does almost nothing per
event: it keeps the current step's sample events in a list, the last decided step, and each
decided step's spend in a hand-off queue. In summary (full speed, when steps fly by faster than
any screen can show them) it listens to nothing, so the engine pays nothing. The UI thread calls
:meth:`LiveView.snapshot` (at most 20 times a second): the totals and the position come from one
copy taken under the runner's lock, so the figures on screen always belong together; in detail the
towers and the tally come from the events heard, which may trail the totals by a sample. Only the
UI thread writes the spend history and the cost series.
"""

from __future__ import annotations

from collections import deque
from itertools import pairwise
from typing import Any, NamedTuple

from engine.run.events import Event, StepDecided, StepStarted, StepUndecided
from engine.run.runner import Runner
from engine.run.totals import Totals
from engine.task.hanoi import Move, State, total_steps
from engine.task.parser import Answer
from engine.view.inspect import StepInspection, inspect_step, live_record
from engine.view.snapshot import (
    SPEND_HISTORY,
    Snapshot,
    Status,
    ended,
    outcomes_of_events,
    spend,
    tally,
    totals_fields,
)


class _Ended(NamedTuple):
    """A step that ended: its sample events and what the run and the audit made of it."""

    step: int
    samples: tuple[Any, ...]
    decided: bool
    answer: Answer | None
    correct: bool
    expected: Answer | None
    state: State
    previous: Move | None


COST_POINTS = 400
"""Points the cost series keeps at most: the first heard in each run of ``stride`` steps, the stride
doubled when it overflows, so the points spread over the steps whatever the frame rate and pace."""


class LiveView:
    """Follows a runner for a screen; see the module docstring."""

    def __init__(
        self,
        runner: Runner,
        *,
        expected_votes: float | None = None,
    ) -> None:
        self.runner = runner
        self.expected_votes = expected_votes
        config = runner.config
        self._disks, self._k = config.disks, config.k
        self._total = total_steps(config.disks)
        position = runner.checkpoint
        self._towers: tuple[State, Move | None] = (position.state, position.previous_move)
        """The state after the last decided step heard, and the move that made it (one reference,
        replaced whole, so the UI thread never reads half of an update)."""
        self._step = position.step
        self._samples: list[Any] = []
        self._shown: tuple[int, State, Move | None, list[Any]] = (position.step, position.state,
                                                                  position.previous_move, self._samples)
        """The step being voted on, what it shows its agents (the state and the previous move), and
        its sample events: one reference, replaced whole, so the inspector reads them together."""
        self._decided: _Ended | None = None
        """The last step that ended, with its sample events."""
        self._decided_spend: deque[float] = deque()
        """Spend of each step decided in detail, handed from the engine's thread to the UI's."""
        self._spend: deque[float] = deque(maxlen=SPEND_HISTORY)
        totals, _ = runner.totals_now()
        self._spent_before = self._spent(totals)
        self._engine_spent = self._spent_before
        self._cost_points: list[tuple[int, float]] = []
        self._cost_stride = 1
        self._cost_now: tuple[int, float] | None = None
        """The latest (steps decided, cumulative spend), kept or not."""
        self._steps_at_start = totals.steps
        self._detail = False
        self._listener = self.on_step
        self._sample_listener = self._on_sample
        self.set_detail(True)

    @property
    def detail(self) -> bool:
        return self._detail

    def set_detail(self, on: bool) -> None:
        """Follow the run event by event, or only read its position and totals (UI thread)."""
        if on == self._detail:
            return
        self._detail = on
        if on:
            totals, position = self.runner.totals_now()
            self._step = position.step
            self._towers = (position.state, position.previous_move)
            self._engine_spent = self._spent_before = self._spent(totals)
            self._samples = []
            self._shown = (position.step, position.state, position.previous_move, self._samples)
            self._decided = None
            self.runner.subscribe(self._listener)
            self.runner.subscribe_samples(self._sample_listener)
        else:
            self.runner.unsubscribe(self._listener)
            self.runner.unsubscribe(self._sample_listener)

    def close(self) -> None:
        """Stop following the run (UI thread)."""
        self.set_detail(False)

    def _spent(self, totals: Totals) -> float:
        return spend(self.runner.pricing, totals.tokens_in, totals.tokens_out)

    def cost_series(self) -> list[tuple[int, float]]:
        """(steps decided, cumulative spend) from the first snapshot to the latest: at most about
        400 points, evenly spread over the steps, the latest always last (UI thread)."""
        points = list(self._cost_points)
        if self._cost_now is not None and self._cost_now[0] > points[-1][0]:
            points.append(self._cost_now)
        return points

    def _note_cost(self, steps: int, spent: float) -> None:
        """Keep the first point heard in each run of ``stride`` steps (see :data:`COST_POINTS`)."""
        self._cost_now = (steps, spent)
        points, stride = self._cost_points, self._cost_stride
        if points and steps // stride <= points[-1][0] // stride:
            return
        points.append((steps, spent))
        if len(points) > COST_POINTS:
            self._cost_stride = stride = stride * 2
            points[1:] = [point for previous, point in pairwise(points) if point[0] // stride > previous[0] // stride]

    def _on_sample(self, event: Event) -> None:
        """Sample events in detail, in the engine's thread: the current step's list."""
        self._samples.append(event)

    def on_step(self, event: Event) -> None:
        """Step-level events in detail, in the engine's thread."""
        kind = event.__class__
        if kind is StepStarted:
            self._step = event.step  # type: ignore[union-attr]
            self._samples = samples = []
            self._shown = (event.step, event.state, event.previous_move, samples)  # type: ignore[union-attr]
        elif kind is StepDecided:
            answer = event.answer  # type: ignore[union-attr]
            self._decided = _Ended(event.step, tuple(self._samples), True, answer,  # type: ignore[union-attr]
                                   event.correct, event.expected, event.state, event.previous_move)  # type: ignore[union-attr]
            self._towers = (answer.state, answer.move)
            spent = self._spent(self.runner.totals)  # the engine's own thread reads its totals as they are
            self._decided_spend.append(spent - self._engine_spent)
            self._engine_spent = spent
        elif kind is StepUndecided:  # the step the run stops on: its tally stays, nothing decided
            self._decided = _Ended(event.step, tuple(self._samples), False, None, False,  # type: ignore[union-attr]
                                   event.expected, event.state, event.previous_move)  # type: ignore[union-attr]

    def inspection(self) -> StepInspection | None:
        """The step the tally shows, for the inspector: its messages and every sample heard, each
        with its text (UI thread); None at full speed, when no step is followed."""
        if not self._detail:
            return None
        (step, state, previous, heard), decided = self._shown, self._decided
        samples = list(heard)
        answer, correct, ended_here = None, False, False
        if decided is not None and (not samples or decided.step == step):
            step, samples, state, previous = decided.step, list(decided.samples), decided.state, decided.previous
            answer, correct, ended_here = decided.answer, decided.correct, decided.decided
        record = live_record(step, state, previous, samples, self._k, answer, correct)
        reasons = [event.completion.finish_reason if event.completion is not None else None for event in samples]
        return inspect_step(record, self.runner.config.template(), decided=ended_here, finish_reasons=reasons)

    def snapshot(self) -> Snapshot:
        """The run as it is now (UI thread)."""
        runner = self.runner
        totals, position = runner.totals_now()
        if self._detail:
            step = self._step
            samples = list(self._samples)
            decided = self._decided
            step_decided = False
            right: Answer | None = None
            right_known = False
            if decided is not None and (not samples or decided.step == step):
                step, samples, step_decided = decided.step, list(decided.samples), decided.decided
                right, right_known = decided.expected, True
            candidates, views = tally(outcomes_of_events(samples))
            state, last_move = self._towers
            while self._decided_spend:
                self._spend.append(self._decided_spend.popleft())
        else:
            right, right_known = None, False
            step, step_decided, candidates, views = position.step - 1, True, (), ()
            state, last_move = position.state, position.previous_move
            spent = self._spent(totals)
            self._spend.append(spent - self._spent_before)
            self._spent_before = spent
        self._note_cost(totals.steps, self._spent(totals))
        control = runner.control
        finished = runner.finished
        status: Status = (ended(finished.stopped) if finished is not None
                          else "paused" if control is not None and control.paused else "running")
        elapsed = runner.running_s() or 0.0
        done_here = totals.steps - self._steps_at_start
        eta = elapsed / done_here * (self._total - totals.steps) if done_here and status == "running" else None
        return Snapshot(
            disks=self._disks,
            k=self._k,
            model=runner.sampler.name,
            total_steps=self._total,
            state=state,
            last_move=last_move,
            step=step,
            step_decided=step_decided,
            candidates=candidates,
            samples=views,
            cost_usd=runner.cost_of(totals),
            expected_votes=self.expected_votes,
            spend=tuple(self._spend),
            elapsed_s=elapsed,
            eta_s=eta,
            status=status,
            message=finished.message if finished is not None else "",
            stopped=finished.stopped if finished is not None else "",
            speed=control.samples_per_second if control is not None else None,
            detail=self._detail,
            forecast=runner.forecast(totals, elapsed, done_here),
            lookahead=runner.lookahead,
            ahead=runner.window_depth if status == "running" else 0,
            wire=runner.sampler.wire_report(),
            right=right,
            right_known=right_known,
            **totals_fields(totals),  # type: ignore[arg-type]
        )
