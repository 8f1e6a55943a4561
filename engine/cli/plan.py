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

from engine.cli.args import EXIT_OK, UsageError, add_price_options, add_prompt_options, bounded_float, bounded_int
from engine.cli.options import note, prices, prompt_template
from engine.cli.output import usd
from engine.task.hanoi import MAX_DISKS, total_steps
from engine.voting.calibrate import Calibration
from engine.voting.plan import PlanRow, paper_plan, plan_row, prompt_tokens

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
    plan.add_argument("--model", default=None, metavar="NAME", help="name of the model (for its price)")
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
    plan.add_argument("--json", action="store_true", help="print the rows as a JSON list")


def plan(args: argparse.Namespace) -> int:
    """Print the paper's table recomputed, or one model's plan."""
    disks = args.disks if args.disks is not None else 20
    steps = args.steps if args.steps is not None else total_steps(disks)
    calibrations = [Calibration.load(path) for path in args.calibration or []]
    template = prompt_template(args, disks)
    if args.p is None:
        if args.steps is not None:
            raise UsageError("--steps needs --p (the paper's table is for a number of disks)")
        rows = paper_plan(disks, args.target, template) + [calibration_row(c, disks, args.target) for c in calibrations]
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
            )
        ]
    if args.json:
        print(json.dumps([row.model_dump() for row in rows]))
    else:
        print_plan(rows, Console(), paper=args.p is None, prompt=template.label)
    return EXIT_OK


def calibration_row(calibration: Calibration, disks: int, target: float) -> PlanRow:
    """A measured model as a plan row: its p_vote, valid rate, tokens and prices."""
    return plan_row(
        f"{calibration.model} (calibrated)",
        calibration.p_vote,
        steps=total_steps(disks),
        target=target,
        pricing=calibration.pricing,
        tokens_in=round(calibration.mean_tokens_in),
        tokens_out=max(1, round(calibration.mean_tokens_out)),
        valid_rate=max(calibration.v, 1e-9),
    )


def print_plan(rows: Sequence[PlanRow], console: Console, paper: bool, prompt: str) -> None:
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
