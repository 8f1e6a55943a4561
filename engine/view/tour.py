"""A guided tour of a recording: the steps that explain MAKER, each with a caption in plain words.

The stops, in order: a unanimous step, the first disagreement, the first red flag (its reply shown
in the inspector), the hardest step, the step where one agent alone would first have gone wrong,
and the end. A stop the recording does not have (no red flag, say), or whose step an earlier stop
already stands on, is left out. The search reads the first :data:`SCAN_STEPS` steps; the lone
agent's first wrong step and the end come from the recording's totals, whatever its length.
"""

from __future__ import annotations

from itertools import islice
from typing import NamedTuple

from engine.recording.format import StepRecord
from engine.recording.reader import Recording
from engine.task.verdict import RED_FLAG_WORDS

ENDED = {"undecided": "a step reached its vote cap undecided", "audit_error": "the audit stopped it at an error",
         "stopped": "it was stopped", "budget": "its budget ran out"}
"""How an unfinished run ended, in words, by its stop reason (the rest: it failed)."""
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


def _first_moments(records: list[StepRecord], length: int) -> list[TourStop]:
    """The stops found by reading steps (the first of ``length``): unanimity, disagreement, a red
    flag, the hardest step."""
    stops: list[TourStop] = []
    unanimous = next((r for r in records if len(r.samples) == r.k and _answers(r) == 1
                      and not any(s.red_flag for s in r.samples)), None)
    if unanimous is not None:
        k = unanimous.k
        asked = f"{_plural(k, 'agent')} {'were' if k > 1 else 'was'} asked for step {unanimous.step:,}"
        agreed = "and all gave the same answer" if k > 1 else "and its answer"
        stops.append(TourStop(unanimous.step, "Every agent agrees", (
            f"Each move is a job for a new agent that sees only the puzzle as it stands. Here {asked} {agreed}, "
            f"{_plural(k, 'vote')} ahead (k = {k}), wins at once. Most steps go like this.")))
    split = next((r for r in records if _answers(r) > 1), None)
    if split is not None:
        stops.append(TourStop(split.step, "The first disagreement", (
            f"At step {split.step:,} the agents gave {_answers(split)} different answers. Nobody picks one: "
            f"agents are asked again until one answer is {_plural(split.k, 'vote')} ahead of every other. A wrong "
            "answer is rarely repeated often enough to get there.")))
    flagged = next((r for r in records if any(s.red_flag for s in r.samples)), None)
    if flagged is not None:
        sample = next(s for s in flagged.samples if s.red_flag)
        stops.append(TourStop(flagged.step, "A red flag", (
            f"At step {flagged.step:,} one reply was thrown away, never counted as a vote: "
            f"{RED_FLAG_WORDS[sample.red_flag]}. A reply too long or not in the form asked for is a sign of a "
            "confused agent, whatever its answer. Here is what it wrote."), sample=sample.index))
    hardest = max(records, key=lambda r: len(r.samples), default=None)
    if hardest is not None and len(hardest.samples) > hardest.k:
        where = "" if len(records) == length else f" of the first {len(records):,}"
        stops.append(TourStop(hardest.step, "The hardest step", (
            f"Step {hardest.step:,} was the hardest{where}: {_plural(len(hardest.samples), 'sample')} and "
            f"{_plural(_answers(hardest), 'answer')} before one was {_plural(hardest.k, 'vote')} ahead. The vote "
            f"took as long as it needed{', and got it right' if hardest.correct else ''}.")))
    return stops


def _lone_agent(recording: Recording, first_wrong: int) -> TourStop:
    record = recording.seek(first_wrong)
    first = next((s for s in record.samples if s.first), None)
    what = (f"was thrown away ({RED_FLAG_WORDS[first.red_flag]})" if first is not None and first.red_flag
            else "was wrong")
    saved = " The vote chose the right move and went on." if record.correct else ""
    return TourStop(first_wrong, "Where one agent alone fails", (
        f"Take each step's first answer, with no vote: one agent alone. At step {first_wrong:,} that answer "
        f"{what}, and the whole task would have ended here.{saved}"))


def _end(recording: Recording, first_wrong: int | None) -> TourStop:
    last, errors = len(recording), recording.totals().errors
    alone = "" if first_wrong is None else f" One agent alone would have failed at step {first_wrong:,}."
    if recording.complete and errors == 0:
        caption = (f"All {last:,} steps decided, zero errors, every step checked against the puzzle's rules.{alone} "
                   "Reliability came from the process: small agents, each one inspectable, voting until one answer "
                   "is clearly ahead.")
    elif recording.complete:
        caption = (f"All {last:,} steps decided, with {_plural(errors, 'error')}: steps the vote decided wrong, "
                   f"as the audit against the puzzle's rules found.{alone} A larger k makes a wrong answer winning "
                   "rarer still.")
    else:
        ended = ENDED.get(recording.meta.last_stop or "stopped", "it failed")
        caption = (f"The recording ends after {last:,} of {recording.total_steps:,} steps: {ended}. "
                   f"{_plural(errors, 'error') if errors else 'Zero errors'} so far.{alone}")
    return TourStop(last, "The end", caption)


def tour_stops(recording: Recording) -> list[TourStop]:
    """The tour's stops in ``recording`` (see the module's docstring)."""
    stops = _first_moments(list(islice(recording, SCAN_STEPS)), len(recording))
    first_wrong = recording.totals().single_first_wrong
    if first_wrong is not None:
        stops.append(_lone_agent(recording, first_wrong))
    kept: dict[int, TourStop] = {}
    for stop in stops:  # one stop a step: the first found
        kept.setdefault(stop.step, stop)
    if len(recording):  # the end always, in place of a moment on the same step
        end = _end(recording, first_wrong)
        kept.pop(end.step, None)
        kept[end.step] = end
    return list(kept.values())
