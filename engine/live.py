"""What a screen shows of a run: immutable snapshots, pulled at the screen's own pace.

A :class:`LiveView` follows a runner in one of two ways. In detail (paused, or at a pace a person
can follow) it listens to the run's events in the engine's thread and does almost nothing per
event: it keeps the current step's sample events in a list and the last decided step. In summary
(full speed, when steps fly by faster than any screen can show them) it listens to nothing, so the
engine pays nothing, and reads the runner's position and totals when asked. The UI thread calls
:meth:`LiveView.snapshot` (at most 20 times a second) to build a :class:`Snapshot`. No lock is
taken: replacing a reference and copying a list are atomic under the GIL, and everything shared is
immutable, so a snapshot may be a sample late but is never torn. The replay cursor
(:mod:`engine.replay`) builds the same snapshots from a recording.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, Literal, NamedTuple

from engine.events import (
    Event,
    SampleCancelled,
    SampleRedFlagged,
    StepDecided,
    StepStarted,
    StepUndecided,
)
from engine.forecast import Forecast
from engine.hanoi import Move, State, total_steps
from engine.parser import Answer, RedFlag
from engine.runner import Runner

SPEND_HISTORY = 60
"""Decided steps whose spend the sparkline shows."""

Status = Literal["running", "paused", "finished"]


class SampleView(NamedTuple):
    """One sample of the step on screen, in arrival order."""

    temperature: float
    candidate: int | None
    """Index into the snapshot's candidates; None when red-flagged or cancelled."""
    red_flag: RedFlag | None
    cancelled: bool


class CandidateView(NamedTuple):
    """One distinct answer of the step on screen, in order of its first vote."""

    answer: Answer
    votes: int


class Snapshot(NamedTuple):
    """Everything the panes draw, at one moment of a live run or a replay."""

    disks: int
    k: int
    model: str
    total_steps: int
    state: State
    """The towers: the state after the last decided step."""
    last_move: Move | None
    """The move that made ``state``: highlighted on the towers."""
    step: int
    """The step the tally shows: the one being voted on, or the one just decided."""
    step_decided: bool
    candidates: tuple[CandidateView, ...]
    samples: tuple[SampleView, ...]
    steps_done: int
    errors: int
    votes: int
    red_flags: dict[str, int]
    cancelled: int
    tokens_in: int
    tokens_out: int
    cost_usd: float | None
    steps_over_k: int
    expected_votes: float | None
    """The gambler's-ruin votes per step for the model's known error rate, when it is known."""
    spend: tuple[float, ...]
    """Spend of the last decided steps, oldest first: USD, or tokens for an unpriced model."""
    elapsed_s: float
    eta_s: float | None
    status: Status
    message: str
    speed: float | None
    """Samples a second; None is full speed."""
    detail: bool = True
    """False when the run goes too fast to follow step by step: no tally, spend per frame."""
    forecast: Forecast | None = None
    votes_histogram: tuple[tuple[int, int], ...] = ()
    """Decided steps by their valid votes, fewest votes first."""

    @property
    def leader_margin(self) -> int:
        """The leader's votes minus its strongest rival's."""
        votes = sorted((c.votes for c in self.candidates), reverse=True) + [0, 0]
        return votes[0] - votes[1]

    @property
    def leader(self) -> int | None:
        """Index of the candidate with the most votes (the earliest among ties)."""
        if not self.candidates:
            return None
        best = max(c.votes for c in self.candidates)
        return next(i for i, c in enumerate(self.candidates) if c.votes == best)

    @property
    def samples_per_step(self) -> float:
        return self.votes / self.steps_done if self.steps_done else 0.0

    @property
    def progress(self) -> float:
        return self.steps_done / self.total_steps if self.total_steps else 0.0


def tally(samples: Sequence[Any]) -> tuple[tuple[CandidateView, ...], tuple[SampleView, ...]]:
    """Candidates and sample views from sample events or recorded samples, in arrival order.

    Anything with ``temperature`` and either ``answer`` (a vote), ``reason``/``red_flag`` (a red
    flag) or ``cancelled`` works: live events and :class:`engine.recording.SampleRecord` alike.
    """
    index: dict[Answer, int] = {}
    counts: list[int] = []
    answers: list[Answer] = []
    views = []
    for sample in samples:
        kind = sample.__class__
        answer = getattr(sample, "answer", None)
        cancelled = kind is SampleCancelled or bool(getattr(sample, "cancelled", False))
        red_flag = getattr(sample, "reason", None) if kind is SampleRedFlagged else getattr(sample, "red_flag", None)
        if answer is not None and not cancelled:
            position = index.get(answer)
            if position is None:
                position = index[answer] = len(answers)
                answers.append(answer)
                counts.append(0)
            counts[position] += 1
            views.append(SampleView(sample.temperature, position, None, False))
        else:
            views.append(SampleView(sample.temperature, None, red_flag, cancelled))
    return tuple(CandidateView(a, c) for a, c in zip(answers, counts, strict=True)), tuple(views)


class LiveView:
    """Follows a runner for a screen; see the module docstring."""

    def __init__(
        self,
        runner: Runner,
        *,
        expected_votes: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.runner = runner
        self.expected_votes = expected_votes
        self.clock = clock
        config = runner.config
        self._disks, self._k = config.disks, config.k
        self._model = getattr(runner.sampler, "name", "unknown")
        self._total = total_steps(config.disks)
        position = runner.checkpoint
        self._state: State = position.state
        self._last_move: Move | None = position.previous_move
        self._step = position.step
        self._samples: list[Any] = []
        self._decided: tuple[int, tuple[Any, ...]] | None = None
        self._spend: deque[float] = deque(maxlen=SPEND_HISTORY)
        self._spent_before = self._spent()
        self._cost_points: list[tuple[int, float]] = []
        self._steps_at_start = runner.stats.steps
        self._started: float | None = None
        self._detail = False
        self._append_sample = self._samples.append
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
            position = self.runner.position
            self._step = position.step
            self._state, self._last_move = position.state, position.previous_move
            del self._samples[:]
            self._decided = None
            self.runner.subscribe(self.on_step)
            self.runner.subscribe_samples(self._append_sample)
        else:
            self.runner.unsubscribe(self.on_step)
            self.runner.unsubscribe(self._append_sample)

    def _spent(self) -> float:
        stats = self.runner.stats
        pricing = self.runner.pricing
        if pricing is None:
            return float(stats.tokens_in + stats.tokens_out)
        return pricing.cost(stats.tokens_in, stats.tokens_out)

    def cost_series(self) -> list[tuple[int, float]]:
        """(steps decided, cumulative spend), one point a snapshot, thinned to at most 400 (UI thread)."""
        return list(self._cost_points)

    def on_step(self, event: Event) -> None:
        """Step-level events in detail, in the engine's thread."""
        kind = event.__class__
        if kind is StepStarted:
            self._step = event.step  # type: ignore[union-attr]
            del self._samples[:]
        elif kind is StepDecided:
            answer = event.answer  # type: ignore[union-attr]
            self._decided = (event.step, tuple(self._samples))  # type: ignore[union-attr]
            self._state, self._last_move = answer.state, answer.move
            spent = self._spent()
            self._spend.append(spent - self._spent_before)
            self._spent_before = spent
        elif kind is StepUndecided:
            self._decided = (event.step, tuple(self._samples))  # type: ignore[union-attr]

    def snapshot(self) -> Snapshot:
        """The run as it is now (UI thread)."""
        runner = self.runner
        stats = runner.stats
        if self._detail:
            step = self._step
            samples = list(self._samples)
            decided = self._decided
            step_decided = False
            if not samples and decided is not None:
                step, samples, step_decided = decided[0], list(decided[1]), True
            elif decided is not None and decided[0] == step:
                step_decided = True
            candidates, views = tally(samples)
            state, last_move = self._state, self._last_move
        else:
            position = runner.position
            step, step_decided, candidates, views = position.step - 1, True, (), ()
            state, last_move = position.state, position.previous_move
            spent = self._spent()
            self._spend.append(spent - self._spent_before)
            self._spent_before = spent
        points = self._cost_points
        if not points or points[-1][0] != stats.steps:
            points.append((stats.steps, self._spent()))
            if len(points) > 400:
                del points[1::2]
        control = runner.control
        finished = runner.finished
        status: Status = "finished" if finished else ("paused" if control is not None and control.paused else "running")
        if self._started is None and runner.started_at is not None:
            self._started = self.clock()  # the screen's own clock from here on
        now = self.clock()
        elapsed = (now - self._started) if self._started is not None else 0.0
        if finished is not None:
            elapsed = finished.wall_s
        done_here = stats.steps - self._steps_at_start
        remaining = self._total - stats.steps
        eta = elapsed / done_here * remaining if done_here and status == "running" else None
        return Snapshot(
            disks=self._disks,
            k=self._k,
            model=self._model,
            total_steps=self._total,
            state=state,
            last_move=last_move,
            step=step,
            step_decided=step_decided,
            candidates=candidates,
            samples=views,
            steps_done=stats.steps,
            errors=stats.errors,
            votes=stats.samples,
            red_flags={reason.value: stats.red_flags.get(reason, 0) for reason in RedFlag},
            cancelled=stats.cancelled,
            tokens_in=stats.tokens_in,
            tokens_out=stats.tokens_out,
            cost_usd=runner.cost_usd,
            steps_over_k=stats.steps_over_k,
            expected_votes=self.expected_votes,
            spend=tuple(self._spend),
            elapsed_s=elapsed,
            eta_s=eta,
            status=status,
            message=finished.message if finished is not None else "",
            speed=control.samples_per_second if control is not None else None,
            detail=self._detail,
            forecast=runner.forecast(elapsed if finished is None else None, done_here),
            votes_histogram=tuple(sorted(stats.votes_histogram.items())),
        )
