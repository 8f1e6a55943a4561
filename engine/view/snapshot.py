"""What a screen shows of a run at one moment: an immutable snapshot, live or replayed."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, NamedTuple

from engine.models.pricing import Pricing
from engine.models.sampler import WireReport
from engine.recording.format import SampleRecord
from engine.run.config import FAILURES
from engine.run.events import SampleCancelled, SampleReceived, SampleRedFlagged
from engine.run.totals import Totals
from engine.task.hanoi import Move, State
from engine.task.parser import Answer, RedFlag
from engine.voting.forecast import Forecast

SPEND_HISTORY = 60
"""Decided steps whose spend the sparkline shows."""

Status = Literal["running", "paused", "finished", "failed"]
"""Where the run is; ``failed`` is a run that ended on a failure (:data:`~engine.run.config.FAILURES`)."""


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
    lookahead: int = 0
    """Steps the run may sample ahead of the oldest undecided one (0: one step at a time)."""
    ahead: int = 0
    """Steps being sampled ahead right now, on the predicted path."""
    wasted: int = 0
    """Samples thrown away when a prediction did not hold."""
    stopped: str = ""
    """Why a finished run ended (a RunSummary's ``stopped``; a replay says "undecided" once it
    reaches the attempt the run stopped on); empty while it runs."""
    wire: WireReport | None = None
    """What went over the wire to a served model (a replay: over the whole recorded run)."""
    right: Answer | None = None
    """The audit's answer for the step the tally shows, once it is known (in a replay always; live
    once the step is decided); None before, or when the strategy admits no legal move."""
    right_known: bool = False
    single_steps: int = 0
    """Decided steps whose first sample was judged: what one agent alone would have done."""
    single_wrong: int = 0
    single_first_wrong: int | None = None

    @property
    def leader_margin(self) -> int:
        """The leader's votes minus its strongest rival's."""
        most, runner_up = top_two(self.candidates)
        return most - runner_up

    @property
    def stuck(self) -> bool:
        """The run stopped on this step, undecided at its cap."""
        return self.stopped == "undecided" and not self.step_decided

    @property
    def zero_error_finish_lost(self) -> bool:
        """No zero-error finish is possible any more: a step went wrong, or the run is stuck."""
        return self.errors > 0 or self.stopped == "undecided"

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


def ended(stopped: str) -> Status:
    """The status of a run that ended for ``stopped``: failed, or finished."""
    return "failed" if stopped in FAILURES else "finished"


def top_two(candidates: Iterable[CandidateView]) -> tuple[int, int]:
    """The leader's votes and the runner-up's (0 for a missing one)."""
    votes = sorted((c.votes for c in candidates), reverse=True) + [0, 0]
    return votes[0], votes[1]


def spend(pricing: Pricing | None, tokens_in: int, tokens_out: int) -> float:
    """What the spend sparkline and the cost plot show: USD, or tokens for an unpriced model."""
    return float(tokens_in + tokens_out) if pricing is None else pricing.cost(tokens_in, tokens_out)


def totals_fields(totals: Totals) -> dict[str, object]:
    """The snapshot's fields that come straight from the run's totals."""
    return {
        "steps_done": totals.steps,
        "errors": totals.errors,
        "votes": totals.samples,
        "red_flags": {reason.value: totals.red_flags.get(reason.value, 0) for reason in RedFlag},
        "cancelled": totals.cancelled,
        "tokens_in": totals.tokens_in,
        "tokens_out": totals.tokens_out,
        "steps_over_k": totals.steps_over_k,
        "wasted": totals.wasted,
        "votes_histogram": tuple(sorted(totals.votes_histogram.items())),
        "single_steps": totals.single_steps,
        "single_wrong": totals.single_wrong,
        "single_first_wrong": totals.single_first_wrong,
    }


SampleOutcome = tuple[float, Answer | None, RedFlag | None, bool]
"""A sample as the tally sees it: temperature, its vote, its red flag, whether it was cancelled."""

LiveSample = SampleReceived | SampleRedFlagged | SampleCancelled


def outcomes_of_events(events: Iterable[LiveSample]) -> list[SampleOutcome]:
    """A live step's sample events as tally outcomes."""
    outcomes: list[SampleOutcome] = []
    for event in events:
        if isinstance(event, SampleReceived):
            outcomes.append((event.temperature, event.answer, None, False))
        elif isinstance(event, SampleRedFlagged):
            outcomes.append((event.temperature, None, event.reason, False))
        else:
            outcomes.append((event.temperature, None, None, True))
    return outcomes


def outcomes_of_records(records: Iterable[SampleRecord]) -> list[SampleOutcome]:
    """A recorded step's samples as tally outcomes."""
    return [(r.temperature, None if r.cancelled else r.answer, r.red_flag, r.cancelled) for r in records]


def tally(outcomes: Iterable[SampleOutcome]) -> tuple[tuple[CandidateView, ...], tuple[SampleView, ...]]:
    """Candidates (in order of their first vote) and sample views, in arrival order."""
    index: dict[Answer, int] = {}
    counts: list[int] = []
    answers: list[Answer] = []
    views = []
    for temperature, answer, red_flag, cancelled in outcomes:
        if answer is not None and not cancelled:
            position = index.get(answer)
            if position is None:
                position = index[answer] = len(answers)
                answers.append(answer)
                counts.append(0)
            counts[position] += 1
            views.append(SampleView(temperature, position, None, False))
        else:
            views.append(SampleView(temperature, None, red_flag, cancelled))
    return tuple(CandidateView(a, c) for a, c in zip(answers, counts, strict=True)), tuple(views)
