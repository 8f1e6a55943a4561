"""Auditing one micro-agent: the messages it was sent, what it wrote, and the audit's verdict.

A step under inspection is a :class:`~engine.recording.format.StepRecord`, recorded or made from a
live step's events. Its messages are rebuilt from the run's prompt template, which a run stores
whole, so they are the messages that were sent, byte for byte. Each sample gets its text (or why
it was not kept), its figures, its parse or its red flag with the part of the text that set it
off, and the audit's verdict on it. ``maker inspect`` prints this; the TUI's inspector shows it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from engine.recording.format import SampleRecord, StepRecord
from engine.run.events import SampleCancelled, SampleReceived, SampleRedFlagged
from engine.task.hanoi import Move, State
from engine.task.parser import Answer, RedFlag, evidence
from engine.task.prompt import Message, PromptBuilder, PromptTemplate
from engine.task.verdict import Verdict, judge_sample, right_answer

NOT_KEPT = "not kept: this run kept the texts of red-flagged and minority replies only (--keep-text keeps all)"
NEVER_CAME = "no reply: cancelled in flight, before it came back"


class SampleInspection(NamedTuple):
    """One sample of the step, as the audit sees it."""

    index: int
    """Its position among the step's samples, in arrival order."""
    temperature: float
    first: bool
    """The step's first sample: what one agent alone would have answered."""
    text: str | None
    text_note: str
    """Why ``text`` is None: not kept, or no reply came; empty when there is a text."""
    answer: Answer | None
    red_flag: RedFlag | None
    evidence: str | None
    """The part of the text that set the red flag off, where there is one."""
    tokens_in: int
    tokens_out: int
    latency_s: float
    finish_reason: str | None
    """What the server said of the reply's end, live; a recording keeps only whether a reply was cut
    at the token limit (``length``), so None there for a reply that was not, as for no reply."""
    cancelled: bool
    verdict: Verdict


class StepInspection(NamedTuple):
    """A step's messages, its samples and what the audit says of them."""

    step: int
    k: int
    state: State
    previous_move: Move | None
    messages: list[Message]
    right: Answer | None
    """The audit's answer for the state shown (None when the strategy admits no legal move)."""
    decided: Answer | None
    """The winner, once the step is decided."""
    samples: tuple[SampleInspection, ...]

    def as_json(self) -> dict[str, Any]:
        """Plain JSON types: the messages and every sample with its verdict."""
        return {
            "step": self.step,
            "k": self.k,
            "state": _state(self.state),
            "previous_move": None if self.previous_move is None else list(self.previous_move),
            "messages": [{"role": message["role"], "content": message["content"]} for message in self.messages],
            "right": _answer(self.right),
            "decided": _answer(self.decided),
            "samples": [
                {
                    "index": sample.index,
                    "temperature": sample.temperature,
                    "first": sample.first,
                    "text": sample.text,
                    "text_note": sample.text_note or None,
                    "move": None if sample.answer is None else list(sample.answer.move),
                    "next_state": None if sample.answer is None else _state(sample.answer.state),
                    "red_flag": None if sample.red_flag is None else sample.red_flag.value,
                    "evidence": sample.evidence,
                    "tokens_in": sample.tokens_in,
                    "tokens_out": sample.tokens_out,
                    "latency_s": sample.latency_s,
                    "finish_reason": sample.finish_reason,
                    "cancelled": sample.cancelled,
                    "verdict": {"correct": sample.verdict.correct, "why": sample.verdict.why},
                }
                for sample in self.samples
            ],
        }


def _state(state: State) -> list[list[int]]:
    return [list(peg) for peg in state]


def _answer(answer: Answer | None) -> dict[str, Any] | None:
    return None if answer is None else {"move": list(answer.move), "next_state": _state(answer.state)}


def inspect_step(record: StepRecord, template: PromptTemplate, *, decided: bool = True,
                 not_kept: str = NOT_KEPT, finish_reasons: Sequence[str | None] | None = None) -> StepInspection:
    """What the audit says of a step's samples; ``not_kept`` says why a reply's text is missing,
    ``finish_reasons`` are the replies' own (a live step's), by position."""
    messages = PromptBuilder(template).messages(record.previous_move, record.state)
    right = right_answer(record.state, record.previous_move)
    samples = tuple(
        _inspect_sample(record, sample, right, not_kept, decided,
                        finish_reasons[n] if finish_reasons is not None else "length" if sample.cut else None)
        for n, sample in enumerate(record.samples)
    )
    return StepInspection(record.step, record.k, record.state, record.previous_move, messages, right,
                          record.answer if decided else None, samples)


def _inspect_sample(record: StepRecord, sample: SampleRecord, right: Answer | None, not_kept: str, decided: bool,
                    finish_reason: str | None) -> SampleInspection:
    arrived = not sample.cancelled or sample.tokens_out > 0 or sample.text is not None
    outcome: Answer | RedFlag | None = None if sample.cancelled else sample.answer or sample.red_flag
    note = ""
    if sample.text is None:
        note = not_kept if arrived else NEVER_CAME
    found = None
    if sample.red_flag is not None:
        found = evidence(sample.text, sample.red_flag) if sample.text is not None else None
    return SampleInspection(
        index=sample.index, temperature=sample.temperature, first=sample.first, text=sample.text, text_note=note,
        answer=None if sample.cancelled else sample.answer, red_flag=sample.red_flag, evidence=found,
        tokens_in=sample.tokens_in, tokens_out=sample.tokens_out, latency_s=sample.latency_s,
        finish_reason=finish_reason, cancelled=sample.cancelled,
        verdict=judge_sample(record.state, outcome, right, decided=decided or not sample.cancelled),
    )


LiveSample = SampleReceived | SampleRedFlagged | SampleCancelled


def live_record(step: int, state: State, previous: Move | None, events: Sequence[LiveSample], k: int,
                decided: Answer | None, correct: bool) -> StepRecord:
    """A live step's sample events as a record, every reply's text with it."""
    samples = []
    for position, event in enumerate(events):
        completion = event.completion
        answer = event.answer if isinstance(event, SampleReceived) else None
        red_flag = event.reason if isinstance(event, SampleRedFlagged) else None
        samples.append(SampleRecord(
            index=position, temperature=event.temperature, answer=answer, red_flag=red_flag,
            tokens_in=completion.tokens_in if completion is not None else 0,
            tokens_out=completion.tokens_out if completion is not None else 0,
            latency_s=completion.latency_s if completion is not None else 0.0,
            cancelled=isinstance(event, SampleCancelled),
            cut=completion is not None and completion.finish_reason == "length",
            text=completion.text if completion is not None else None,
            first=event.index == 0,
        ))
    return StepRecord(step, state, previous, decided, correct, k, tuple(samples))
