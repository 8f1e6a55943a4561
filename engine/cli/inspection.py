"""``maker inspect``: one step of a recording as the audit sees it — the messages an agent was
sent, every sample it wrote back, each sample's parse or red flag, and the audit's verdict."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rich.console import Console

from engine.cli.args import EXIT_OK, UsageError, bounded_int
from engine.cli.inspect_text import print_step
from engine.recording.format import StepRecord
from engine.recording.reader import Recording
from engine.task.parser import Answer
from engine.view.inspect import NOT_KEPT, inspect_step

NOT_IN_FILE = "not in the recording"


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "inspect", help="one step's messages, samples and the audit's verdicts",
        description="Show one step of a recording as the audit sees it: the system and user messages the "
        "agents were sent (exactly as sent), and every sample they wrote back, with its temperature, its "
        "raw text (or why it was not kept), tokens, latency, finish reason, its parse (the move and "
        "next_state) or its red flag and the part of the text that set it off, and the audit's verdict. "
        "The step may be the undecided one a run stopped on (one past the last decided step).",
        epilog="example: maker inspect recordings/demo-10.maker --step 100 --sample 0",
    )
    parser.add_argument("file", type=Path, metavar="FILE", help="the recording")
    parser.add_argument("--step", type=bounded_int(1), required=True, metavar="N",
                        help="the step, from 1 (one past the last decided step: the undecided attempt, if any)")
    parser.add_argument("--sample", type=bounded_int(0), default=None, metavar="I",
                        help="only the sample at position I in arrival order, from 0 (default: every sample)")
    parser.add_argument("--json", action="store_true",
                        help="print a JSON object: the messages ({role, content}) and the samples with their verdicts")


def find_step(recording: Recording, step: int) -> tuple[StepRecord, bool, str]:
    """The step's record, whether it was decided, and which attempt it is (for an undecided one)."""
    decided = len(recording)
    if step <= decided:
        return recording.seek(step), True, ""
    attempts = [attempt for attempt in recording.undecided() if attempt.step == decided + 1]
    if step == decided + 1 and attempts:
        which = f"the last of {len(attempts)} attempts" if len(attempts) > 1 else ""
        return attempts[-1], False, which
    held = f"steps 1 to {decided:,}" if decided else "no decided step"
    if recording.complete:
        held += " (the whole task)"
    elif not attempts:
        held += f" and no undecided attempt at step {decided + 1:,}"
    else:
        held += f" and the undecided attempt at step {decided + 1:,}"
    raise UsageError(f"step {step:,} is not in {recording.path}: it holds {held}")


def inspect_command(args: argparse.Namespace) -> int:
    """Print one step's messages and samples with the audit's verdicts."""
    with Recording.open(args.file) as recording:
        record, decided, attempt = find_step(recording, args.step)
        keep_text = recording.meta.keep_text
        total = recording.total_steps
        inspection = inspect_step(record, recording.meta.run.template(), decided=decided,
                                  not_kept=NOT_IN_FILE if keep_text else NOT_KEPT)
    samples = inspection.samples
    if args.sample is not None:
        if args.sample >= len(samples):
            raise UsageError(f"step {args.step:,} has {len(samples)} samples (0 to {len(samples) - 1}): "
                             f"there is no sample {args.sample}")
        samples = (samples[args.sample],)
    if args.json:
        facts = inspection.as_json()
        if args.sample is not None:
            facts["samples"] = [facts["samples"][args.sample]]
        facts.update(undecided=not decided, keep_text=keep_text, leading=None if decided else _answer_json(record.answer))
        print(json.dumps(facts))
        return EXIT_OK
    print_step(Console(highlight=False), inspection, record, samples, decided=decided, attempt=attempt,
               total=total, keep_text=keep_text)
    return EXIT_OK


def _answer_json(answer: Answer | None) -> dict[str, Any] | None:
    if answer is None:
        return None
    return {"move": list(answer.move), "next_state": [list(peg) for peg in answer.state]}
