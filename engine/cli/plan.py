"""``maker plan``: the paper's model table recomputed, or one model's plan, before paying for a run."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from engine.cli.args import (
    DEFAULT_LOOKAHEAD,
    EXIT_OK,
    UsageError,
    add_price_options,
    add_prompt_options,
    bounded_float,
    bounded_int,
)
from engine.cli.options import given_options, note, prices, prompt_template
from engine.cli.output import usd
from engine.durations import duration_text
from engine.models.factory import ServerOptions
from engine.run.config import MAX_LOOKAHEAD
from engine.task.hanoi import MAX_DISKS, total_steps
from engine.voting.calibrate import Calibration
from engine.voting.plan import Pace, PlanRow, paper_plan, plan_row, prompt_tokens

DEFAULT_TOKENS_OUT = 550


def add_parser(commands: Any) -> None:
    plan = commands.add_parser(
        "plan", help="k_min and projected cost before a run",
        description="Print the paper's model table recomputed from p, prices and tokens per call, or plan "
        "one model given its per-sample success p.",
    )
    plan.add_argument("--p", type=bounded_float(0, 1, open_low=True), default=None, metavar="P",
                      help="per-sample success rate of the model to plan (omit for the paper's table)")
    size = plan.add_mutually_exclusive_group()
    size.add_argument("--steps", type=bounded_int(1), default=None, metavar="S", help="number of steps")
    size.add_argument("--disks", type=bounded_int(1, MAX_DISKS), default=None, metavar="N",
                      help="disks (steps = 2^N - 1; default 20)")
    plan.add_argument("--target", type=bounded_float(0, 1, open_low=True), default=0.95, metavar="T",
                      help="wanted chance of a zero-error run (default 0.95)")
    plan.add_argument("--model", default=None, metavar="NAME",
                      help="name of the model (for its price); without --p, its rows of the paper's table")
    add_price_options(plan)
    plan.add_argument("--tokens-in", type=bounded_int(0), default=None, metavar="N",
                      help="input tokens per call (default: the chosen prompt's)")
    plan.add_argument("--tokens-out", type=bounded_int(1), default=None, metavar="N",
                      help=f"output tokens per call (default {DEFAULT_TOKENS_OUT})")
    plan.add_argument("--valid-rate", type=bounded_float(0, 1, open_low=True), default=1.0, metavar="V",
                      help="share of samples not red-flagged (default 1)")
    plan.add_argument("--calibration", type=Path, nargs="+", default=None, metavar="FILE",
                      help="calibration files to plan beside the paper's table")
    add_prompt_options(plan.add_argument_group("the prompt (its input tokens are the table's)"))
    pace = plan.add_argument_group("wall clock (projected when --latency is given)")
    pace.add_argument("--latency", type=bounded_float(0, 3600, open_low=True), default=None, metavar="S",
                      help="seconds a request takes to come back")
    pace.add_argument("--concurrency", type=bounded_int(1, 1_000_000), default=None, metavar="C",
                      help=f"requests in flight at most (default {ServerOptions().concurrency})")
    pace.add_argument("--rpm", type=bounded_int(1, 100_000_000), default=None, metavar="R",
                      help="requests a minute at most (default: no cap)")
    pace.add_argument("--lookahead", type=bounded_int(0, MAX_LOOKAHEAD), default=None, metavar="N",
                      help=f"steps sampled ahead (default {DEFAULT_LOOKAHEAD}, as a run against a served model)")
    plan.add_argument("--json", action="store_true", help="print the rows as a JSON list")


def plan(args: argparse.Namespace) -> int:
    """Print the paper's table recomputed, or one model's plan."""
    disks = args.disks if args.disks is not None else 20
    steps = args.steps if args.steps is not None else total_steps(disks)
    calibrations = [Calibration.load(path) for path in args.calibration or []]
    template = prompt_template(args, disks)
    pace = pace_of(args)
    if args.p is None:
        if args.steps is not None:
            raise UsageError("--steps needs --p (the paper's table is for a number of disks)")
        rows = paper_plan(disks, args.target, template, pace)
        if args.model is not None:
            rows = [row for row in rows if row.model == args.model or row.model.startswith(f"{args.model} (")]
            if not rows:
                raise UsageError(f"{args.model!r} is not in the paper's table: give its --p")
        rows += [calibration_row(c, disks, args.target, pace) for c in calibrations]
        for path, calibration in zip(args.calibration or [], calibrations, strict=True):
            if not calibration.made_with(template):
                note(f"{path} was made with {calibration.prompt_label}, not with {template.label}: its row "
                     "keeps its own p and tokens")
    else:
        if calibrations:
            raise UsageError("--calibration plans measured models; --p plans one given p: use one or the other")
        pricing = None
        if args.model is not None or args.price_in is not None or args.price_out is not None:
            pricing = prices(args, args.model or "")
        rows = [
            plan_row(
                args.model or "model",
                args.p,
                steps=steps,
                target=args.target,
                pricing=pricing,
                tokens_in=args.tokens_in if args.tokens_in is not None else prompt_tokens(disks, template),
                tokens_out=args.tokens_out if args.tokens_out is not None else DEFAULT_TOKENS_OUT,
                valid_rate=args.valid_rate,
                pace=pace,
            )
        ]
    if args.json:
        print(json.dumps([row.model_dump() for row in rows]))
    else:
        print_plan(rows, Console(), paper=args.p is None, prompt=template.label, pace=pace)
    return EXIT_OK


def pace_of(args: argparse.Namespace) -> Pace | None:
    """The wall-clock options, when --latency asks for a projection."""
    if args.latency is None:
        given = given_options(args, ("concurrency", "rpm", "lookahead"))
        if given:
            raise UsageError(f"{', '.join(given)}: give --latency too (these shape the wall-clock projection)")
        return None
    return Pace(
        latency_s=args.latency,
        concurrency=args.concurrency if args.concurrency is not None else ServerOptions().concurrency,
        rpm=args.rpm,
        lookahead=args.lookahead if args.lookahead is not None else DEFAULT_LOOKAHEAD,
    )


def calibration_row(calibration: Calibration, disks: int, target: float, pace: Pace | None = None) -> PlanRow:
    """A measured model as a plan row: its p_vote (the pessimistic end of its interval, as
    ``--k auto`` takes it), valid rate, tokens and prices."""
    return plan_row(
        f"{calibration.model} (calibrated)",
        calibration.p_advised,
        steps=total_steps(disks),
        target=target,
        pricing=calibration.pricing,
        tokens_in=round(calibration.mean_tokens_in),
        tokens_out=max(1, round(calibration.mean_tokens_out)),
        valid_rate=max(calibration.v, 1e-9),
        pace=pace,
    )


def print_plan(rows: Sequence[PlanRow], console: Console, paper: bool, prompt: str, pace: Pace | None = None) -> None:
    """Plan rows as a table; for the paper's table, with the paper's own k_min and cost beside ours."""
    first = rows[0]
    title = f"{first.steps:,} steps, target {first.target:g}, {first.tokens_in} input tokens per call"
    table = Table(
        title=title, box=box.SIMPLE_HEAD, pad_edge=False,
        caption=f"votes: expected valid votes per step; out: output tokens per call; prompt {prompt}",
    )
    table.add_column("model", no_wrap=True)
    for name in ("1-p", "out", "k_min", "votes", "cost"):
        table.add_column(name, justify="right", no_wrap=True)
    if paper:
        table.add_column("paper", justify="right", no_wrap=True)
    for row in rows:
        cells = [
            row.model,
            f"{1 - row.p:.4f}",
            str(row.tokens_out),
            "none" if row.k_min is None else str(row.k_min),
            "-" if row.expected_samples_per_step is None else f"{row.expected_samples_per_step:.2f}",
            usd(row.cost_usd),
        ]
        if paper:
            cells.append(
                "" if row.model.endswith("(calibrated)")
                else f"{'none' if row.paper_k_min is None else row.paper_k_min} {usd(row.paper_cost_usd)}"
            )
        table.add_row(*cells)
    console.print(table)
    if any(row.k_min is None for row in rows):
        console.print("k_min none: p <= 0.5, so voting converges on a wrong answer at any k.", style="dim")
    if any(row.cost_usd is None and row.k_min is not None for row in rows):
        console.print("projected -: the model has no price (give --model, or --price-in and --price-out).", style="dim")
    if pace is not None:
        print_pace(pace, rows, console)


def print_pace(pace: Pace, rows: Sequence[PlanRow], console: Console) -> None:
    """The projected wall clock of each row, one step at a time and with lookahead, and what
    the projection assumes."""
    rpm = f", {pace.rpm:,} a minute" if pace.rpm else ""
    table = Table(title=f"wall clock at {pace.latency_s:g} s a request, {pace.concurrency:,} in flight{rpm}",
                  box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("model", no_wrap=True)
    table.add_column("k", justify="right")
    table.add_column("one step at a time", justify="right", no_wrap=True)
    if pace.lookahead:
        table.add_column(f"lookahead {pace.lookahead}", justify="right", no_wrap=True)
    for row in rows:
        cells = [row.model, "none" if row.k_min is None else str(row.k_min),
                 "-" if row.wall_s is None else duration_text(row.wall_s)]
        if pace.lookahead:
            cells.append("-" if row.wall_lookahead_s is None else duration_text(row.wall_lookahead_s))
        table.add_row(*cells)
    console.print(table)
    how = "One step at a time: a round trip per round of votes."
    if pace.lookahead:
        how += (" With lookahead: min(concurrency, (lookahead + 1) x k) requests in flight all the time; the "
                "model's votes still decide every step.")
    console.print(how + " Bounds for a server that keeps up.", style="dim", highlight=False)
    k = min((row.k_min for row in rows if row.k_min is not None), default=None)
    if pace.lookahead and k is not None and (pace.lookahead + 1) * k < pace.concurrency:
        fill = min(-(-pace.concurrency // k) - 1, MAX_LOOKAHEAD)
        console.print(f"--lookahead {fill} would keep all {pace.concurrency:,} requests in flight at k = {k}.",
                      style="dim", highlight=False)
