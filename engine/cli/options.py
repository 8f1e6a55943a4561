"""Parsed options made into the engine's objects: the run's settings, the sampler and its prices."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from pydantic import ValidationError

from engine.cli.args import BIG_RUN_DISKS, DEFAULT_LOOKAHEAD, SIM_OPTIONS, UsageError
from engine.durations import duration_text
from engine.models.factory import ServerOptions, is_simulated, make_sampler
from engine.models.pricing import Pricing, pricing_for
from engine.models.sampler import Sampler
from engine.models.sim import SimConfig
from engine.run.config import InvalidConfig, RunConfig
from engine.task.hanoi import total_steps
from engine.task.prompt import DEFAULT_STYLE, PromptError, PromptTemplate, built_in, load_template
from engine.voting.calibrate import Calibration

SIM_STEP_S = 30e-6
"""Seconds a step takes on the simulated model, recorded (benchmarks/bench_solve.py: about 26 us
at 20 disks on a 2-core machine, 29 us with a recording)."""
RECORDED_STEP_BYTES = 18
"""Bytes a step takes in a recording, replies' text not kept (17.6 measured at 16 disks)."""
SAMPLES_PER_STEP = 3
"""Requests a step takes at the least with --k auto, before the calibration says (the paper's k)."""


def big_run(args: argparse.Namespace) -> None:
    """A run of more than BIG_RUN_DISKS disks starts only with --yes: say what it would take."""
    if args.disks <= BIG_RUN_DISKS or args.yes:
        return
    steps = total_steps(args.disks)
    if is_simulated(args.model):
        time = f"about {duration_text(steps * SIM_STEP_S)} on the simulated model"
    else:
        votes = args.k if isinstance(args.k, int) else SAMPLES_PER_STEP  # k votes a step at the least
        time = f"at least {steps * max(votes, 1):,.0f} requests to the model"
    size = steps * RECORDED_STEP_BYTES
    size_text = f"{size / 2**30:,.1f} GiB" if size >= 2**30 else f"{size / 2**20:,.0f} MiB"
    recorded = f"; a recording of about {size_text}" if vars(args).get("record") is not None else ""
    raise UsageError(f"--disks {args.disks} is {steps:,} steps: {time}{recorded}. Add --yes to start it")


def run_config(args: argparse.Namespace) -> RunConfig:
    """The run's settings from the parsed options; ``--k auto`` is resolved here."""
    big_run(args)
    template = prompt_template(args, args.disks)
    if args.k == "auto":
        if args.calibration is None:
            raise UsageError("--k auto needs --calibration FILE (made by 'maker calibrate --out FILE')")
        calibration = Calibration.load(args.calibration)
        args.k = calibration.k_for(args.disks, args.target)
        if not calibration.made_with(template):
            note(f"{args.calibration} was made with {calibration.prompt_label}; this run asks with "
                 f"{template.label}, so its p may not hold here (calibrate with this prompt to be sure)")
    elif args.calibration is not None:
        raise UsageError("--calibration is for --k auto")
    try:
        return RunConfig.checked(
            disks=args.disks,
            k=args.k,
            max_tokens=args.max_tokens,
            first_temperature=args.first_temperature,
            temperature=args.temperature,
            max_votes_per_step=args.max_votes or None,  # 0: no cap
            max_red_flags_per_step=args.max_red_flags or None,
            parallel=args.parallel,
            stop_on_error=args.stop_on_error,
            budget_usd=args.budget_usd,
            prompt=template,
            lookahead=lookahead(args),
            concurrency=args.concurrency or (None if is_simulated(args.model) else ServerOptions().concurrency),
        )
    except InvalidConfig as exc:
        raise UsageError(str(exc)) from None


def lookahead(args: argparse.Namespace) -> int:
    """--lookahead, or its default: on when the model keeps the run waiting for its replies."""
    if args.lookahead is not None:
        if args.lookahead and is_simulated(args.model) and not args.latency:
            note("--lookahead does nothing for the simulated model without --latency: its replies come at once")
        return args.lookahead
    waits = not is_simulated(args.model) or bool(args.latency)
    return DEFAULT_LOOKAHEAD if waits else 0


def prompt_template(args: argparse.Namespace, disks: int) -> PromptTemplate:
    """The prompt ``--prompt`` or ``--prompt-file`` names, for ``disks`` disks."""
    try:
        if args.prompt_file is not None:
            return load_template(args.prompt_file)
        return built_in(args.prompt or DEFAULT_STYLE, disks)
    except PromptError as exc:
        raise UsageError(str(exc)) from None


def note(text: str) -> None:
    """A line on standard error that the user should read but that does not stop anything."""
    print(f"maker: note: {text}", file=sys.stderr)


def sim_config(args: argparse.Namespace) -> SimConfig:
    """The simulated model's settings from the parsed options (defaults where none were given)."""
    given: dict[str, Any] = {"seed": args.seed}
    names = {"latency": "latency_s"}
    for option in SIM_OPTIONS:
        value = getattr(args, option)
        if value is not None:
            given[names.get(option, option)] = value
    try:
        return SimConfig(**given)
    except ValidationError as exc:
        raise UsageError(exc.errors()[0]["msg"]) from None


def server_options(args: argparse.Namespace) -> ServerOptions:
    """The server options given on the command line, and only those (the rest keep defaults)."""
    given = {
        "base_urls": tuple(url for urls in args.base_url for url in urls) if args.base_url else None,
        "api_key_env": args.api_key_env,
        "concurrency": args.concurrency,
        "rpm": args.rpm,
        "tpm": args.tpm,
        "timeout_s": args.timeout,
        "max_retries": args.retries,
        "patience_s": args.patience,
        "hedging": False if args.no_hedge else None,
        "proxy": args.proxy,
        "send_temperature": False if args.no_temperature else None,
        "token_parameter": args.token_param,
    }
    return ServerOptions(**{name: value for name, value in given.items() if value is not None})


SERVER_ONLY = ("base_url", "api_key_env", "rpm", "tpm", "timeout", "patience", "retries", "no_hedge", "proxy",
               "no_temperature", "token_param")
"""Server options that mean nothing to the simulated model (--concurrency bounds its lookahead)."""


def given_options(args: argparse.Namespace, names: tuple[str, ...]) -> list[str]:
    """The flags among ``names`` (argparse's attribute names) that the command line gave."""
    return [f"--{name.replace('_', '-')}" for name in names if vars(args).get(name) is not None]


def sampler_and_prices(args: argparse.Namespace) -> tuple[Sampler, Pricing | None]:
    """The sampler the options name, with its prices."""
    if is_simulated(args.model):
        served = given_options(args, SERVER_ONLY)
        if served:
            raise UsageError(f"{', '.join(served)}: for a served model only (this run uses --model {args.model})")
        sampler = make_sampler(args.model, sim=sim_config(args))
    else:
        given = given_options(args, SIM_OPTIONS)
        if given:
            raise UsageError(f"{', '.join(given)} only apply to the simulated model (--model sim)")
        sampler = make_sampler(args.model, server=server_options(args))
    pricing = prices(args, args.model)
    if vars(args).get("budget_usd") is not None and pricing is None:
        raise UsageError(f"--budget-usd needs prices: {args.model!r} has none in the table; give --price-in and --price-out")
    return sampler, pricing


def prices(args: argparse.Namespace, model: str) -> Pricing | None:
    """The price table's prices for ``model``, with --price-in and --price-out over them."""
    table = pricing_for(model)
    if args.price_in is None and args.price_out is None:
        return table
    if table is None and (args.price_in is None or args.price_out is None):
        raise UsageError(f"model {model!r} has no price in the table: give both --price-in and --price-out")
    base = table or Pricing(0.0, 0.0)
    return Pricing(
        args.price_in if args.price_in is not None else base.input_usd_per_m,
        args.price_out if args.price_out is not None else base.output_usd_per_m,
    )


def formula_votes(args: argparse.Namespace) -> float | None:
    """The gambler's-ruin votes per step for the simulated model's configured error rate."""
    return sim_config(args).expected_votes(args.k) if is_simulated(args.model) else None
