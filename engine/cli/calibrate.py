"""``maker calibrate``: measure a model's p on random steps, then k_min, cost and time of a full run."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from engine.cli.args import (
    EXIT_OK,
    UsageError,
    add_model_option,
    add_price_options,
    add_prompt_options,
    add_server_options,
    add_sim_options,
    bounded_float,
    bounded_int,
)
from engine.cli.options import prompt_template, sampler_and_prices
from engine.cli.output import figures_table, flags_text, usd
from engine.durations import duration_text
from engine.models.sim import SIM_MODEL
from engine.task.hanoi import MAX_DISKS, total_steps
from engine.voting.calibrate import ADVICE_TARGET, Calibration, calibrate
from engine.voting.scaling import NoMargin, k_min


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "calibrate", help="estimate a model's p on random steps, then k_min, cost and time",
        description="Sample the model once on each of N random steps of the optimal solution (seeded), "
        "without voting; report p with a 95% Wilson interval, the valid rate v, red flags, tokens and cost "
        "per sample, and k_min with the projected cost and time of a full run at targets 0.90, 0.95, 0.99.",
    )
    parser.add_argument("--disks", type=bounded_int(1, MAX_DISKS), default=20, metavar="N",
                        help="the tower the steps come from and the run is projected for (default 20)")
    parser.add_argument("--samples", type=bounded_int(1, 1_000_000), default=200, metavar="S",
                        help="random steps to sample, one sample each (default 200)")
    parser.add_argument("--temperature", type=bounded_float(0, 2), default=0.1, metavar="T",
                        help="temperature of the samples (default 0.1, the voting temperature)")
    parser.add_argument("--max-tokens", type=bounded_int(1), default=750, metavar="T",
                        help="output-token limit (default 750)")
    parser.add_argument("--json", action="store_true", help="print the calibration as JSON")
    parser.add_argument("--out", type=Path, default=None, metavar="FILE",
                        help="save the calibration, for 'maker solve --k auto --calibration FILE' and 'maker plan'")
    add_prompt_options(parser.add_argument_group("the prompt"))
    model = parser.add_argument_group("the model")
    add_model_option(model)
    add_price_options(model)
    add_server_options(parser.add_argument_group(f"a served model (any --model but {SIM_MODEL})"))
    add_sim_options(parser)


def calibrate_command(args: argparse.Namespace) -> int:
    """Sample random steps once each; report p, v, tokens and the projections."""
    if args.out is not None and args.out.exists():
        raise UsageError(f"{args.out} already exists")
    template = prompt_template(args, args.disks)  # a bad template is refused before any connection opens
    sampler, pricing = sampler_and_prices(args)
    result = asyncio.run(
        calibrate(
            sampler,
            disks=args.disks,
            samples=args.samples,
            seed=args.seed,
            temperature=args.temperature,
            max_tokens=args.max_tokens,
            pricing=pricing,
            template=template,
        )
    )
    if args.out is not None:
        args.out.write_text(result.model_dump_json(indent=2), encoding="utf-8")
    if args.json:
        print(result.model_dump_json())
    else:
        print_calibration(result, Console(), args.out)
    return EXIT_OK


def _point_k(result: Calibration) -> int | None:
    """k_min at the advice's target from the point estimate alone (what trusting it would say)."""
    try:
        return k_min(result.p_vote, total_steps(result.disks), ADVICE_TARGET)
    except NoMargin:
        return None


def print_calibration(result: Calibration, console: Console, out: Path | None) -> None:
    low, high = result.p_interval
    vote_low, vote_high = result.p_vote_interval
    table = figures_table()
    table.title = (f"{result.model}: {result.samples:,} random steps of the {result.disks}-disk solution, "
                   "one sample each")
    table.add_row("prompt", result.prompt_label)
    table.add_row("p (right)", f"{result.p:.4f}  (95% interval {low:.4f} to {high:.4f})")
    table.add_row("p_vote (right | valid)", f"{result.p_vote:.4f}  ({vote_low:.4f} to {vote_high:.4f})")
    table.add_row("k_min uses", f"p_vote = {result.p_advised:.4f}: the lowest that these samples cannot rule out "
                  "(95% confidence)")
    table.add_row("v (valid)", f"{result.v:.4f}")
    table.add_row("red flags", flags_text(result.red_flags))
    table.add_row("tokens in / out", f"{result.mean_tokens_in:,.0f} / {result.mean_tokens_out:,.0f} a sample")
    table.add_row("cost a sample", "unknown (no price)" if result.cost_per_sample_usd is None
                  else f"${result.cost_per_sample_usd:.6f}")
    if result.wall_s is not None and result.samples:
        table.add_row("time", f"{result.wall_s / result.samples:.2f} s a sample on the wall clock "
                      f"({result.wall_s:.0f} s for {result.samples:,})")
    console.print(table)
    projection = Table(title=f"a full {result.disks}-disk run", box=box.SIMPLE_HEAD, pad_edge=False)
    for name in ("target", "k_min (votes ahead to win)", "samples/step", "cost", "time"):
        projection.add_column(name, justify="right")
    for row in result.projections:
        projection.add_row(
            f"{row.target:g}",
            ("none (too few samples)" if result.p_vote > 0.5 else "none (p_vote <= 0.5)") if row.k_min is None
            else str(row.k_min),
            "-" if row.expected_samples_per_step is None else f"{row.expected_samples_per_step:.3f}",
            usd(row.cost_usd),
            "-" if row.time_s is None else duration_text(row.time_s),
        )
    console.print(projection)
    note = console.print
    point = _point_k(result)
    advised = next((row.k_min for row in result.projections if row.target == ADVICE_TARGET), None)
    if advised is not None and point is not None and advised > point:
        more = (f"; with about {result.samples_for_less:,} valid samples right as often, it would be "
                f"k = {result.k_with_more}" if result.samples_for_less else "")
        note(f"The target's chance of a run without a single error holds only if the model is right as often "
             f"as assumed: these {result.valid:,} valid samples show p_vote = {result.p_vote:.4f}, but cannot "
             f"rule out {result.p_advised:.4f}, so k_min is taken from that (the rate they show would say "
             f"k = {point} at {ADVICE_TARGET:g}){more}.", highlight=False)
    hopeless = all(row.k_min is None for row in result.projections)
    if hopeless and result.p_vote > 0.5:
        more = (f" About {result.samples_for_less:,} valid samples right as often would allow one."
                if result.samples_for_less else "")
        note(f"No k can be trusted yet: these {result.valid:,} valid samples cannot rule out a p_vote as low as "
             f"{result.p_advised:.4f}, at or below 0.5, where no k helps. Calibrate with more samples.{more}",
             style="bold", highlight=False)
    elif hopeless:
        why = ("none of its samples was a valid answer" if result.valid == 0
               else f"only {result.p_vote:.1%} of its valid answers are right")
        console.print(f"No k can help {result.model}: {why}. Voting needs more than half of the valid answers "
                      "right (p_vote > 0.5); below that, more votes only agree on a wrong answer or never agree. "
                      "Try a stronger model or another prompt.", style="bold", highlight=False)
    if out is not None:
        use = "" if hopeless else f"; use it with: maker solve --k auto --calibration {out}"
        console.print(f"saved to {out}{use}", style="dim", highlight=False)
