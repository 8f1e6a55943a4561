"""A guided tour of a recording: the steps that explain MAKER, each with a caption in plain words.

The stops, in order: a unanimous step, the first disagreement, the first red flag (its reply shown
in the inspector), the hardest step, the step where one agent alone would first have gone wrong,
and the end. A stop the recording does not have (no red flag, say) is left out. The search reads
the first :data:`SCAN_STEPS` steps; the lone agent's first wrong step and the end come from the
recording's totals, whatever its length.
"""

from __future__ import annotations

from itertools import islice
from typing import NamedTuple

from engine.recording.format import StepRecord
from engine.recording.reader import Recording

SCAN_STEPS = 5000
"""Steps read to find the stops: a million-step recording would take a minute to read whole."""


class TourStop(NamedTuple):
    """One moment of the tour: the step to stand on, a title, and what it shows."""

    step: int
    title: str
    caption: str
    sample: int | None = None
    """The sample to open in the inspector (the first red flag), if any."""


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'s' * (count != 1)}"


def _answers(record: StepRecord) -> int:
    return len({sample.answer for sample in record.samples if sample.answer is not None})


def tour_stops(recording: Recording) -> list[TourStop]:
    """The tour's stops in ``recording`` (see the module's docstring)."""
    records = list(islice(recording, SCAN_STEPS))
    stops: list[TourStop] = []
    unanimous = next((r for r in records if len(r.samples) == r.k and _answers(r) == 1
                      and not any(s.red_flag for s in r.samples)), None)
    if unanimous is not None:
        stops.append(TourStop(unanimous.step, "Every agent agrees", (
            f"Each move is a job for a new agent that sees only the puzzle as it stands. Here {unanimous.k} agents "
            f"were asked for step {unanimous.step:,} and all gave the same answer: {unanimous.k} votes ahead "
            f"(k = {unanimous.k}) wins at once. Most steps go like this.")))
    split = next((r for r in records if _answers(r) > 1), None)
    if split is not None:
        stops.append(TourStop(split.step, "The first disagreement", (
            f"At step {split.step:,} the agents gave {_answers(split)} different answers. Nobody picks one: "
            f"agents are asked again until one answer is {split.k} votes ahead of every other. A wrong answer "
            f"is rarely repeated often enough to get there.")))
    flagged = next((r for r in records if any(s.red_flag for s in r.samples)), None)
    if flagged is not None:
        sample = next(s for s in flagged.samples if s.red_flag)
        stops.append(TourStop(flagged.step, "A red flag", (
            f"At step {flagged.step:,} one reply was thrown away unread ({sample.red_flag.value.replace('_', ' ')}). "
            "A reply too long or not in the asked form is a sign of a confused agent, so it never counts as a vote. "
            "Here is what it wrote."), sample=sample.index))
    if records:
        hardest = max(records, key=lambda r: len(r.samples))
        where = "" if len(records) == len(recording) else f" of the first {len(records):,}"
        stops.append(TourStop(hardest.step, "The hardest step", (
            f"Step {hardest.step:,} was the hardest{where}: {_plural(len(hardest.samples), 'sample')} and "
            f"{_plural(_answers(hardest), 'answer')} before one was {hardest.k} votes ahead. The vote took as "
            f"long as it needed{', and got it right' if hardest.correct else ''}.")))
    totals = recording.totals()
    first_wrong = totals.single_first_wrong
    if first_wrong is not None:
        saved = " The vote chose the right move and went on." if recording.seek(first_wrong).correct else ""
        stops.append(TourStop(first_wrong, "Where one agent alone fails", (
            f"Take each step's first answer, with no vote: one agent alone. At step {first_wrong:,} that answer "
            f"was wrong, and the whole task would have ended here.{saved}")))
    last = len(recording)
    if last:
        errors = "zero errors" if totals.errors == 0 else _plural(totals.errors, "error")
        alone = "" if first_wrong is None else f" One agent alone would have failed at step {first_wrong:,}."
        done = "all" if recording.complete else f"{last:,} of {recording.total_steps:,}"
        stops.append(TourStop(last, "The end", (
            f"{done.capitalize()} steps decided, {errors}, every step checked against the puzzle's rules.{alone} "
            "Reliability came from the process: small agents, each one inspectable, voting until one answer "
            "is clearly ahead.")))
    return stops
