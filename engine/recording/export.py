"""Export a recording as JSON lines: one object per step, samples in arrival order, each saying
whether it was the step's first (what one agent alone would have answered).

Each sample's input tokens are as recorded; a schema-1 recording kept only a step's total, split
evenly over its replies, and each step says so with ``tokens_in_estimated``."""

from __future__ import annotations

import json
from typing import Any, TextIO

from engine.recording.format import StepRecord
from engine.recording.reader import Recording
from engine.task.hanoi import Move, State


def _move(move: Move | None) -> list[int] | None:
    return None if move is None else list(move)


def _state(state: State) -> list[list[int]]:
    return [list(peg) for peg in state]


def step_json(record: StepRecord, tokens_in_estimated: bool = False) -> dict[str, Any]:
    """A recorded step as plain JSON types. ``tokens_in_estimated``: the samples' input tokens
    were split from the step's total (a schema-1 recording), not recorded one by one."""
    return {
        "step": record.step,
        "state": _state(record.state),
        "previous_move": _move(record.previous_move),
        "move": _move(record.answer.move),
        "next_state": _state(record.answer.state),
        "correct": record.correct,
        "k": record.k,
        "tokens_in": sum(sample.tokens_in for sample in record.samples),
        "tokens_in_estimated": tokens_in_estimated,
        "samples": [
            {
                "index": sample.index,
                "temperature": sample.temperature,
                "first": sample.first,
                "vote": None
                if sample.answer is None
                else {"move": _move(sample.answer.move), "next_state": _state(sample.answer.state)},
                "red_flag": None if sample.red_flag is None else sample.red_flag.value,
                "cancelled": sample.cancelled,
                "cut": sample.cut,
                "tokens_in": sample.tokens_in,
                "tokens_out": sample.tokens_out,
                "latency_s": sample.latency_s,
                "text": sample.text,
            }
            for sample in record.samples
        ],
    }


def write_jsonl(recording: Recording, out: TextIO, first: int = 1, last: int | None = None) -> int:
    """Write steps ``first`` to ``last`` (every step by default) as JSON lines, reading no step
    before ``first`` nor after ``last``; returns how many."""
    count = 0
    for record in recording.iter_from(first):
        if last is not None and record.step > last:
            break
        out.write(json.dumps(step_json(record, not recording.exact_tokens_in), separators=(",", ":")))
        out.write("\n")
        count += 1
        if record.step == last:
            break
    return count
