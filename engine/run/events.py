"""Typed, immutable events a run emits, for the recorder and the UI.

Events are named tuples: a 20-disk run emits millions of them and a tuple is the cheapest immutable
record Python has. Step-level events go to every listener; sample-level events are built only when
some listener asked for them, so a consumer of per-step summaries never pays per sample.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from engine.models.sampler import Completion
from engine.run.summary import RunSummary
from engine.task.hanoi import Move, State
from engine.task.parser import Answer, RedFlag


class StepStarted(NamedTuple):
    """A step's prompt was built; its samples are about to go out."""

    step: int
    state: State
    """The state the agent is shown: the previous step's voted next_state."""
    previous_move: Move | None


class SampleReceived(NamedTuple):
    """A sample parsed cleanly and was counted as a vote."""

    step: int
    index: int
    """The sample's position among the step's samples in launch order, from 0."""
    temperature: float
    answer: Answer
    completion: Completion


class SampleRedFlagged(NamedTuple):
    """A sample was thrown away; it is not a vote and another is drawn in its place."""

    step: int
    index: int
    temperature: float
    reason: RedFlag
    completion: Completion


class SampleCancelled(NamedTuple):
    """A sample was no longer needed once its step ended; never a vote."""

    step: int
    index: int
    temperature: float
    completion: Completion | None
    """The reply when it had already arrived (and was paid for), None when it was still in flight."""


StepSample = tuple[int, float, "Answer | RedFlag | None", "Completion | None"]
"""A sample as a decision listener sees it: launch index, temperature, its candidate or red flag
(None when cancelled), and the reply (None when cancelled before it arrived). Arrival order."""


class StepDecided(NamedTuple):
    """A candidate got ahead by k; its next_state is what the next step is shown."""

    step: int
    answer: Answer
    winner_votes: int
    votes: int
    """Valid votes cast in the step."""
    red_flags: int
    cancelled: int
    candidates: int
    expected: Answer | None
    """The auditor's answer for the state the agent was shown (None if the strategy admits no move)."""
    correct: bool
    state: State
    """The state the agent was shown."""
    previous_move: Move | None
    samples: tuple[StepSample, ...] = ()
    """The step's samples, for listeners subscribed with ``subscribe_decisions``; else empty."""


class StepUndecided(NamedTuple):
    """A step hit its vote cap without a winner: the run stops, voting cannot fix it."""

    step: int
    ranked: tuple[tuple[Answer, int], ...]
    votes: int
    red_flags: int
    expected: Answer | None
    message: str
    state: State
    previous_move: Move | None
    samples: tuple[StepSample, ...] = ()


class SamplesDiscarded(NamedTuple):
    """Steps sampled ahead were thrown away: after a prediction the votes did not give
    (``wasted``), or because the run ended."""

    step: int
    """The step decided otherwise than predicted, or the first step thrown away at the end."""
    samples: int
    tokens_in: int
    tokens_out: int
    wasted: bool


class RunFinished(NamedTuple):
    """The run ended: solved, stopped, undecided or stopped at an audit error."""

    summary: RunSummary


StepEvent = StepStarted | StepDecided | StepUndecided | SamplesDiscarded | RunFinished
SampleEvent = SampleReceived | SampleRedFlagged | SampleCancelled
Event = StepEvent | SampleEvent
Listener = Callable[[Event], Any]
