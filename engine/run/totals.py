"""The run's totals: one type for the live run, a recording's blocks, replays and summaries.

The engine updates a :class:`Totals` in place on its hot path (slots, plain ints and dicts), under
the runner's lock so that a screen's copy is never torn. Recordings store a block's totals as
JSON through pydantic (:func:`totals_to_json`, :func:`totals_from_json`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from pydantic import TypeAdapter, ValidationError

from engine.task.parser import Answer, RedFlag
from engine.voting.forecast import Forecast, forecast


def no_red_flags() -> dict[str, int]:
    """A count of zero for every red flag, in the order :class:`RedFlag` lists them."""
    return {reason.value: 0 for reason in RedFlag}


class CountedSample(Protocol):
    """What totals need of a recorded sample."""

    @property
    def answer(self) -> Answer | None: ...
    @property
    def red_flag(self) -> RedFlag | None: ...
    @property
    def cancelled(self) -> bool: ...
    @property
    def tokens_in(self) -> int: ...
    @property
    def tokens_out(self) -> int: ...


@dataclass(slots=True)
class Totals:
    """Counts over a stretch of decided steps (and the samples of undecided attempts)."""

    steps: int = 0
    errors: int = 0
    """Decided steps the audit found wrong."""
    first_error_step: int | None = None
    samples: int = 0
    """Valid votes of decided steps."""
    red_flags: dict[str, int] = field(default_factory=no_red_flags)
    """Red-flagged samples by reason (keys are :class:`RedFlag` values; a RedFlag finds its key)."""
    cancelled: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    steps_over_k: int = 0
    """Decided steps that needed more than k valid votes."""
    votes_histogram: dict[int, int] = field(default_factory=dict)
    """Decided steps by the number of valid votes they took."""
    winner_votes: int = 0
    """Valid votes that went to their step's winner: the forecast's estimate of p."""
    wasted: int = 0
    """Samples asked for steps ahead on a predicted state that the votes then did not give
    (lookahead): thrown away, never counted as votes or red flags. Their tokens are in
    ``tokens_in`` and ``tokens_out`` too."""
    wasted_tokens_in: int = 0
    wasted_tokens_out: int = 0
    single_steps: int = 0
    """Decided steps whose first sample (temperature 0) was judged: what one agent alone, with no
    vote, would have answered. (Recordings made before this count have fewer than ``steps``.)"""
    single_wrong: int = 0
    """Of those, the steps where that lone agent was wrong or red-flagged."""
    single_first_wrong: int | None = None
    """The first step where the lone agent went wrong: where the task would have failed for it."""

    @property
    def flagged(self) -> int:
        """Red-flagged samples of every reason."""
        return sum(self.red_flags.values())

    def forecast(self, total_steps: int, k: int, cost_usd: float | None, elapsed_s: float | None,
                 steps_timed: int) -> Forecast:
        """What these totals say about the rest of a run of ``total_steps``; ``elapsed_s`` is
        the running time of the last ``steps_timed`` steps."""
        return forecast(
            steps_done=self.steps, total_steps=total_steps, k=k, votes=self.samples, winner_votes=self.winner_votes,
            red_flags=self.flagged, cost_usd=cost_usd, elapsed_s=elapsed_s, steps_timed=steps_timed,
        )

    def copy(self) -> Totals:
        """An independent copy (the dicts too)."""
        return Totals(
            self.steps, self.errors, self.first_error_step, self.samples, dict(self.red_flags), self.cancelled,
            self.tokens_in, self.tokens_out, self.steps_over_k, dict(self.votes_histogram), self.winner_votes,
            self.wasted, self.wasted_tokens_in, self.wasted_tokens_out, self.single_steps, self.single_wrong,
            self.single_first_wrong,
        )

    def add(self, other: Totals) -> None:
        """Add a later stretch's counts to these."""
        self.steps += other.steps
        self.errors += other.errors
        if self.first_error_step is None:
            self.first_error_step = other.first_error_step
        self.samples += other.samples
        for reason, count in other.red_flags.items():
            self.red_flags[reason] = self.red_flags.get(reason, 0) + count
        self.cancelled += other.cancelled
        self.tokens_in += other.tokens_in
        self.tokens_out += other.tokens_out
        self.steps_over_k += other.steps_over_k
        self.winner_votes += other.winner_votes
        self.wasted += other.wasted
        self.wasted_tokens_in += other.wasted_tokens_in
        self.wasted_tokens_out += other.wasted_tokens_out
        self.single_steps += other.single_steps
        self.single_wrong += other.single_wrong
        if self.single_first_wrong is None:
            self.single_first_wrong = other.single_first_wrong
        for votes, count in other.votes_histogram.items():
            self.votes_histogram[votes] = self.votes_histogram.get(votes, 0) + count

    def count_decision(self, step: int, votes: int, winner_votes: int, correct: bool, k: int,
                       single_right: bool | None) -> None:
        """Count a decided step whose samples are already counted; ``single_right`` says whether
        its first sample was the audit's answer (None when it never came back)."""
        self.steps += 1
        if single_right is not None:
            self.single_steps += 1
            if not single_right:
                self.single_wrong += 1
                if self.single_first_wrong is None:
                    self.single_first_wrong = step
        self.samples += votes
        self.winner_votes += winner_votes
        self.votes_histogram[votes] = self.votes_histogram.get(votes, 0) + 1
        if votes > k:
            self.steps_over_k += 1
        if not correct:
            self.errors += 1
            if self.first_error_step is None:
                self.first_error_step = step

    def count_discarded(self, samples: int, tokens_in: int, tokens_out: int, wasted: bool) -> None:
        """Count samples asked for steps ahead and thrown away, and what came back of them: as
        wasted after a wrong prediction, as cancelled when the run ended with them in flight."""
        if wasted:
            self.wasted += samples
            self.wasted_tokens_in += tokens_in
            self.wasted_tokens_out += tokens_out
        else:
            self.cancelled += samples
        self.tokens_in += tokens_in
        self.tokens_out += tokens_out

    def add_samples(self, samples: Iterable[CountedSample]) -> int:
        """Count samples' tokens, red flags and cancellations; returns their valid votes."""
        votes = 0
        for sample in samples:
            self.tokens_in += sample.tokens_in
            self.tokens_out += sample.tokens_out
            if sample.cancelled:
                self.cancelled += 1
            elif sample.red_flag is not None:
                self.red_flags[sample.red_flag.value] = self.red_flags.get(sample.red_flag.value, 0) + 1
            else:
                votes += 1
        return votes

    def add_step(self, step: int, correct: bool, k: int, samples: tuple[CountedSample, ...],
                 single_right: bool | None) -> None:
        """Count a recorded decided step: its samples, then its decision."""
        votes = self.add_samples(samples)
        answers = [sample.answer for sample in samples if sample.answer is not None and not sample.cancelled]
        winner_votes = max((answers.count(answer) for answer in set(answers)), default=0)
        self.count_decision(step, votes, winner_votes, correct, k, single_right)


_ADAPTER = TypeAdapter(Totals)


def totals_to_json(totals: Totals) -> str:
    return _ADAPTER.dump_json(totals).decode()


def totals_from_json(text: str | bytes) -> Totals:
    """Totals stored as JSON; raises ``ValueError`` when they are not valid totals."""
    try:
        return _ADAPTER.validate_json(text)
    except ValidationError as exc:
        raise ValueError(f"invalid totals ({exc.errors()[0]['msg']})") from None
