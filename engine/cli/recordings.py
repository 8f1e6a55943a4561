"""``maker info``, ``maker export`` and ``maker revote``: what a recording holds, read-only."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from engine.cli.args import EXIT_OK, UsageError, bounded_int, k_list
from engine.cli.output import figures_table, flags_text, wasted_text, wire_rows
from engine.models.sampler import WireReport
from engine.recording.export import write_jsonl
from engine.recording.info import describe
from engine.recording.reader import Recording
from engine.recording.revote import revote
from engine.run.single_agent import single_agent_text


def add_parsers(commands: Any) -> None:
    info = commands.add_parser("info", help="what a recording holds", description="Summarise a recording.")
    info.add_argument("file", type=Path, metavar="FILE", help="the recording")
    info.add_argument("--json", action="store_true", help="print a JSON object")

    export = commands.add_parser(
        "export", help="a recording as JSON lines (or, with the screen, as a cast)",
        description="Write a recording as one JSON line per step. With maker's screen installed, --cast writes "
        "a replay of it as an asciinema cast instead (see its options below)."
    )
    export.add_argument("file", type=Path, metavar="FILE", help="the recording")
    export.add_argument("--jsonl", action="store_true", help="JSON lines (the default)")
    export.add_argument("--out", type=Path, default=None, metavar="PATH", help="write here instead of stdout")
    export.add_argument("--steps", type=step_range, default=None, metavar="A-B",
                        help="only steps A to B (or N: only step N); the steps before and after are not read")

    parser = commands.add_parser(
        "revote", help="decide a recording's steps again under another k",
        description="Decide every recorded step again from its recorded samples, in recorded order, under "
        "another k (and token limit): how many steps decide differently, how many would need samples "
        "never drawn, and the samples and cost that k would have used.",
    )
    parser.add_argument("file", type=Path, metavar="FILE", help="the recording")
    parser.add_argument("--k", type=k_list, required=True, metavar="K", help="a margin, or several: 3, 1,2,3 or 1-5")
    parser.add_argument("--max-tokens", type=bounded_int(1), default=None, metavar="T",
                        help="token limit for the too_long flag (default: the recording's)")
    parser.add_argument("--json", action="store_true", help="print a JSON list, one object per k")


def info(args: argparse.Namespace) -> int:
    """Summarise a recording."""
    with Recording.open(args.file) as recording:
        facts = describe(recording)
    if args.json:
        print(json.dumps(facts))
        return EXIT_OK
    table = figures_table()
    if facts["being_written"]:
        state = "being written by a maker process now"
    elif facts["complete"]:
        state = "complete"
    else:
        how = facts["last_stop"] or "interrupted: the process died without recording why"
        state = f"resumable; {how}"
    table.add_row("recording", f"{facts['path']} ({state})")
    table.add_row("model", facts["model"] + (f" at {facts['base_url_host']}" if facts["base_url_host"] else ""))
    table.add_row("disks, k", f"{facts['disks']}, {facts['k']}")
    table.add_row("prompt", f"{facts['prompt_style']} ({facts['prompt_digest']})")
    table.add_row("steps recorded", f"{facts['steps_recorded']:,} of {facts['total_steps']:,}")
    table.add_row("audit errors", str(facts["errors"]))
    lone = facts["single_agent"]
    table.add_row("one agent alone", single_agent_text(lone["first_wrong_step"], lone["wrong_steps"], lone["steps"],
                                                       facts["total_steps"], facts["errors"]))
    table.add_row("valid votes", f"{facts['samples']:,}")
    table.add_row("red flags", flags_text(facts["red_flags"]))
    table.add_row("cancelled", f"{facts['cancelled']:,}")
    if facts["wasted"]:
        table.add_row("wasted (lookahead)", wasted_text(facts["wasted"], facts["wasted_tokens_in"],
                                                        facts["wasted_tokens_out"], facts["wasted_usd"]))
    table.add_row("undecided attempts", str(facts["undecided_attempts"]))
    table.add_row("tokens in / out", f"{facts['tokens_in']:,} / {facts['tokens_out']:,}")
    table.add_row("cost", "unknown (no price)" if facts["cost_usd"] is None else f"${facts['cost_usd']:,.2f}")
    if facts["wire"] is not None:
        wire_rows(table, WireReport.model_validate(facts["wire"]))
    if facts["last_message"]:
        table.add_row("last stop", facts["last_message"])
    Console().print(table)
    return EXIT_OK


def step_range(text: str) -> tuple[int, int]:
    """``A-B`` (steps A to B) or ``N`` (step N alone)."""
    low, dash, high = text.strip().partition("-")
    try:
        first, last = int(low), int(high) if dash else int(low)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a step or a range of steps like 100-200") from None
    if first < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: steps start at 1")
    if last < first:
        raise argparse.ArgumentTypeError(f"{text!r}: the range runs backwards (did you mean {last}-{first}?)")
    return first, last


def export(args: argparse.Namespace) -> int:
    """One JSON line per recorded step (of ``--steps`` only, when given)."""
    with Recording.open(args.file) as recording:
        first, last = args.steps if args.steps is not None else (1, None)
        if last is not None and last > len(recording):
            held = f"steps 1 to {len(recording):,}" if len(recording) else "no decided step"
            raise UsageError(f"--steps {first}-{last}: {args.file} holds {held}")
        if args.out is None:
            write_jsonl(recording, sys.stdout, first, last)
            return EXIT_OK
        if args.out.exists():
            raise UsageError(f"{args.out} already exists")
        try:
            with open(args.out, "x", encoding="utf-8") as handle:
                write_jsonl(recording, handle, first, last)
        except BaseException:
            args.out.unlink(missing_ok=True)  # no half-written export is left behind
            raise
    return EXIT_OK


def revote_command(args: argparse.Namespace) -> int:
    """Decide the recorded steps again under each requested k."""
    with Recording.open(args.file) as recording:
        results = [revote(recording, k, args.max_tokens) for k in args.k]
    if args.json:
        print(json.dumps([result.model_dump() for result in results]))
        return EXIT_OK
    table = Table(title=f"{args.file}: {results[0].steps:,} steps re-decided from their recorded samples",
                  box=box.SIMPLE_HEAD, pad_edge=False)
    for name in ("k", "same", "different", "wrong", "needs more", "votes", "red flags", "cost"):
        table.add_column(name, justify="right")
    for result in results:
        table.add_row(
            str(result.k), f"{result.decided_same:,}", f"{result.decided_differently:,}", f"{result.wrong:,}",
            f"{result.needs_undrawn_samples:,}", f"{result.votes:,}", f"{result.red_flags:,}",
            "unknown" if result.cost_usd is None else f"${result.cost_usd:,.4f}",
        )
    console = Console()
    console.print(table)
    console.print("needs more: steps the recorded samples do not decide under that k (samples never drawn)",
                  style="dim")
    return EXIT_OK
