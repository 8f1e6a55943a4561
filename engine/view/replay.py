"""Replaying a recording: a cursor that reveals its samples one at a time and makes snapshots.

The cursor stands on a step with some of its samples revealed, in their recorded order. Revealing
the last one decides the step: the towers move and the totals count it. Seeking reads one block;
playing reads blocks in order, so memory stays flat whatever the recording's length.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from itertools import chain

from engine.models.factory import formula_votes_for
from engine.recording.format import RecordingError, StepRecord
from engine.recording.reader import Recording
from engine.task.hanoi import Move, State
from engine.task.verdict import right_answer
from engine.view.inspect import StepInspection, inspect_step
from engine.view.snapshot import (
    SPEND_HISTORY,
    Snapshot,
    Status,
    ended,
    outcomes_of_records,
    spend,
    tally,
    totals_fields,
)

FINE_SERIES_STEPS = 20_000


class ReplayCursor:
    """A position in a recording: a step and how many of its samples are revealed."""

    def __init__(self, recording: Recording) -> None:
        attempts = recording.undecided()
        self._tail = attempts[-1] if attempts and attempts[-1].step == len(recording) + 1 else None
        """The attempt the run stopped on, undecided: replayed after the last decided step."""
        self._given_up = [a for a in attempts[:-1] if self._tail is not None and a.step == self._tail.step]
        """Earlier attempts at that step, given up and resumed: their cost counts there too."""
        if len(recording) == 0 and self._tail is None:
            raise RecordingError(f"{recording.path}: no step to replay")
        self._last_step = len(recording) + (self._tail is not None)
        self.recording = recording
        meta = recording.meta
        self._pricing = meta.pricing
        self.expected_votes = formula_votes_for(meta.sampler, meta.run.k)
        self.playing = False
        self.speed: float | None = 10.0
        self._block_series: list[tuple[int, int, int]] | None = None
        self.seek(1)

    # -- moving -----------------------------------------------------------------------------------

    @property
    def step(self) -> int:
        return self._record.step

    @property
    def revealed(self) -> int:
        return self._revealed

    @property
    def last_step(self) -> int:
        """The last step to stand on: the last decided one, or the attempt the run stopped on."""
        return self._last_step

    @property
    def at_end(self) -> bool:
        return self._record.step == self._last_step and self._step_complete

    @property
    def _undecided(self) -> bool:
        """The cursor stands on the attempt the run stopped on."""
        return self._record.step > len(self.recording)

    @property
    def _step_complete(self) -> bool:
        return self._revealed == len(self._record.samples)

    def seek(self, step: int, reveal_all: bool = False) -> None:
        """Stand on ``step`` (clamped to the recording) with none, or all, of its samples revealed."""
        step = max(1, min(step, self._last_step))
        self._records: Iterator[StepRecord] = chain(self.recording.iter_from(step),
                                                    [self._tail] if self._tail is not None else [])
        self._record = next(self._records)
        self._revealed = 0
        self._before = self.recording.totals_before(step)
        if self._undecided:
            for attempt in self._given_up:
                self._before.add_samples(attempt.samples)
        self._spend: deque[float] = deque(maxlen=SPEND_HISTORY)
        for record in self.recording.iter_from(max(1, step - SPEND_HISTORY)):
            if record.step >= step:
                break
            self._spend.append(self._step_spend(record))
        self._state, self._last_move = self._record.state, self._record.previous_move
        if reveal_all:
            self._reveal(len(self._record.samples))

    def advance(self, samples: int = 1) -> int:
        """Reveal up to ``samples`` samples, moving on through steps; returns how many."""
        done = 0
        while done < samples and not self.at_end:
            if self._step_complete:
                self._next_step()
            self._reveal(1)
            done += 1
        return done

    def step_forward(self) -> None:
        """Decide the current step, or when it is decided, the next one."""
        if self._step_complete:
            if self.at_end:
                return
            self._next_step()
        self._reveal(len(self._record.samples) - self._revealed)

    def step_back(self) -> None:
        """The previous step, decided (the first step, undecided, when already there)."""
        if self._record.step == 1:
            self.seek(1)
        else:
            self.seek(self._record.step - 1, reveal_all=True)

    def _next_step(self) -> None:
        record = next(self._records, None)
        if record is None:
            raise RecordingError(f"{self.recording.path}: the recording ended early")
        self._record = record
        self._revealed = 0

    def _reveal(self, count: int) -> None:
        record = self._record
        self._revealed += count
        if count and self._step_complete and self._undecided:
            self._before.add_samples(record.samples)  # what the attempt cost counts; it decided nothing
        elif count and self._step_complete and record.answer is not None:
            self._before.add_step(record.step, record.correct, record.k, record.samples, record.single_right())
            self._spend.append(self._step_spend(record))
            self._state, self._last_move = record.answer.state, record.answer.move

    def _step_spend(self, record: StepRecord) -> float:
        return self._spend_of(sum(s.tokens_in for s in record.samples), sum(s.tokens_out for s in record.samples))

    def _spend_of(self, tokens_in: int, tokens_out: int) -> float:
        return spend(self._pricing, tokens_in, tokens_out)

    # -- showing ----------------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        record = self._record
        shown = record.samples[: self._revealed]
        totals = self._before
        if not self._step_complete:
            # The revealed samples of the step in progress count already; its votes once decided.
            running = totals.copy()
            running.add_samples(shown)
            totals = running
        candidates, views = tally(outcomes_of_records(shown))
        meta = self.recording.meta
        cost = None if self._pricing is None else self._pricing.cost(totals.tokens_in, totals.tokens_out)
        status: Status = (ended(meta.last_stop or "") if self.at_end
                          else "running" if self.playing else "paused")
        eta = None
        if self.playing and self.speed and totals.steps:
            remaining_steps = len(self.recording) - totals.steps
            eta = remaining_steps * (totals.samples + totals.flagged) / totals.steps / self.speed
        return Snapshot(
            disks=self.recording.disks,
            k=record.k,
            model=meta.model,
            total_steps=self.recording.total_steps,
            state=self._state,
            last_move=self._last_move,
            step=record.step,
            step_decided=self._step_complete and not self._undecided,
            candidates=candidates,
            samples=views,
            cost_usd=cost,
            expected_votes=self.expected_votes,
            spend=tuple(self._spend),
            elapsed_s=0.0,
            eta_s=eta,
            status=status,
            message=(meta.last_message or "") if self.at_end else "",
            speed=self.speed,
            forecast=totals.forecast(self.recording.total_steps, record.k, cost, None, 0),
            lookahead=meta.run.lookahead,
            stopped="undecided" if self._undecided and self._step_complete else "",
            wire=meta.wire,
            right=right_answer(record.state, record.previous_move),
            right_known=True,
            **totals_fields(totals),  # type: ignore[arg-type]
        )

    def cost_series(self) -> list[tuple[int, float]]:
        """(steps decided, cumulative spend) from the start to the cursor: a point a step for a
        recording of up to 20,000 steps (every n-th step past 400), a point a block for a longer one."""
        if self._block_series is None:
            if len(self.recording) <= FINE_SERIES_STEPS:
                tokens_in = tokens_out = 0
                series = []
                for record in self.recording:
                    tokens_in += sum(sample.tokens_in for sample in record.samples)
                    tokens_out += sum(sample.tokens_out for sample in record.samples)
                    series.append((record.step, tokens_in, tokens_out))
                self._block_series = series[:: max(1, len(series) // 400)]
            else:
                self._block_series = self.recording.block_series()
        points = [(0, 0.0)] if self._before.steps else []
        for last_step, tokens_in, tokens_out in self._block_series:
            if last_step >= self._before.steps:
                break
            points.append((last_step, self._spend_of(tokens_in, tokens_out)))
        points.append((self._before.steps, self._spend_of(self._before.tokens_in, self._before.tokens_out)))
        return points

    def inspection(self) -> StepInspection:
        """The step on screen for the inspector: its messages, and its samples revealed so far."""
        record = self._record
        meta = self.recording.meta
        return inspect_step(record._replace(samples=record.samples[: self._revealed]), meta.run.template(),
                            decided=self._step_complete and not self._undecided)

    @property
    def record(self) -> StepRecord:
        return self._record

    @property
    def towers(self) -> tuple[State, Move | None]:
        return self._state, self._last_move
