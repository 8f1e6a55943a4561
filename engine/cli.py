"""The headless command line: ``maker solve --headless`` and ``maker plan``.

The TUI's entry point (``tui.cli``) extends this parser with the interactive commands; nothing
here imports Textual.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

from pydantic import ValidationError
from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from engine.calibrate import Calibration, CalibrationError, calibrate
from engine.control import RunControl
from engine.export import write_jsonl
from engine.hanoi import MAX_DISKS, total_steps
from engine.plan import PlanRow, paper_plan, plan_row, prompt_tokens
from engine.pricing import Pricing, pricing_for
from engine.recording import Recording, RecordingError, describe
from engine.revote import revote
from engine.runner import RunConfig, RunSummary
from engine.sampling import Sampler, host_of
from engine.session import Session, new_session, resume_session
from engine.sim import ErrorKind, SimConfig, SimulatedLLM

EXIT_OK, EXIT_UNSOLVED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
DEFAULT_DISKS = 10


class UsageError(Exception):
    """Bad input from the command line: reported in one line, exit status 2."""


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (``maker: error: ...``) and exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"maker: error: {message} (see maker {self._subcommand()}--help)\n")

    def _subcommand(self) -> str:
        words = self.prog.split()[1:]
        return " ".join(words) + " " if words else ""


# -- argument types: each rejects bad values with a message argparse prints in one line ----------


def _bounded_int(low: int, high: int | None = None) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low or (high is not None and value > high):
            bound = f"from {low} to {high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"{value} is out of range ({bound})")
        return value

    return parse


def _bounded_float(low: float, high: float, *, open_low: bool = False) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not (low < value if open_low else low <= value) or value > high or value != value:
            raise argparse.ArgumentTypeError(f"{text} is out of range ({'(' if open_low else '['}{low:g}, {high:g}])")
        return value

    return parse


def _k_or_auto(text: str) -> int | str:
    return "auto" if text == "auto" else _bounded_int(1)(text)


def _error_kinds(text: str) -> dict[ErrorKind, float]:
    kinds: dict[ErrorKind, float] = {}
    for part in text.split(","):
        name, _, weight = part.partition("=")
        try:
            kind = ErrorKind(name.strip())
        except ValueError:
            choices = ", ".join(k.value for k in ErrorKind)
            raise argparse.ArgumentTypeError(f"unknown error kind {name.strip()!r} (choose from {choices})") from None
        try:
            kinds[kind] = float(weight) if weight else 1.0
        except ValueError:
            raise argparse.ArgumentTypeError(f"weight {weight!r} of {kind.value} is not a number") from None
        if kinds[kind] < 0:
            raise argparse.ArgumentTypeError(f"weight of {kind.value} is negative")
    if sum(kinds.values()) <= 0:
        raise argparse.ArgumentTypeError("at least one error kind needs a positive weight")
    return kinds


def _step_list(text: str) -> tuple[int, ...]:
    try:
        steps = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of step numbers") from None
    if any(step < 1 for step in steps):
        raise argparse.ArgumentTypeError("step numbers start at 1")
    return steps


# -- the parser -----------------------------------------------------------------------------------


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """The options of a run, shared by the headless and the interactive ``solve``."""
    run = parser.add_argument_group("the run")
    run.add_argument("--disks", type=_bounded_int(1, MAX_DISKS), default=DEFAULT_DISKS, metavar="N",
                     help=f"disks in the tower; the task takes 2^N - 1 steps (default {DEFAULT_DISKS}; the paper ran 20)")
    run.add_argument("--k", type=_k_or_auto, default=3, metavar="K",
                     help="a candidate wins when it leads every other by K votes (default 3, the paper's); "
                          "'auto' takes k_min from --calibration")
    run.add_argument("--calibration", type=Path, default=None, metavar="FILE",
                     help="a file from 'maker calibrate --out', for --k auto")
    run.add_argument("--target", type=_bounded_float(0, 1, open_low=True), default=0.95, metavar="T",
                     help="with --k auto: the wanted chance of a zero-error run (default 0.95)")
    run.add_argument("--max-tokens", type=_bounded_int(1), default=750, metavar="T",
                     help="output-token limit; replies cut there or longer are red-flagged too_long (default 750)")
    run.add_argument("--first-temperature", type=_bounded_float(0, 2), default=0.0, metavar="T",
                     help="temperature of each step's first sample (default 0)")
    run.add_argument("--temperature", type=_bounded_float(0, 2), default=0.1, metavar="T",
                     help="temperature of the other samples (default 0.1)")
    run.add_argument("--max-votes", type=_bounded_int(1), default=50, metavar="V",
                     help="valid votes after which a step without a winner stops the run as undecided (default 50)")
    run.add_argument("--parallel", type=_bounded_int(1), default=None, metavar="P",
                     help="samples sent at the start of a step (default K); more cut latency but may be wasted")
    run.add_argument("--stop-on-error", action="store_true",
                     help="stop at the first step the audit finds wrong (default: count and go on)")
    model = parser.add_argument_group("the model")
    model.add_argument("--model", default="sim", metavar="NAME",
                       help="'sim' (default): the seeded simulated LLM, no key or network needed; any other "
                            "name is asked of an OpenAI-compatible server (OpenAI, vLLM, Ollama, llama.cpp)")
    model.add_argument("--price-in", type=_bounded_float(0, 1e6), default=None, metavar="USD",
                       help="USD per million input tokens (overrides the price table)")
    model.add_argument("--price-out", type=_bounded_float(0, 1e6), default=None, metavar="USD",
                       help="USD per million output tokens (overrides the price table)")
    model.add_argument("--budget-usd", type=_bounded_float(0, 1e9, open_low=True), default=None, metavar="USD",
                       help="stop before the run could spend more than this (resumable when recorded)")
    real = parser.add_argument_group("a real model (any --model but sim)")
    add_server_options(real)
    add_sim_options(parser)


def add_sim_options(parser: argparse.ArgumentParser) -> None:
    """The simulated model's options."""
    sim = parser.add_argument_group("the simulated model (--model sim)")
    sim.add_argument("--seed", type=int, default=0, metavar="S", help="seed of the simulated model (default 0)")
    sim.add_argument("--error-rate", type=_bounded_float(0, 1), default=None, metavar="P",
                     help="chance a sample is wrong in any way (default 0.0022, the paper's gpt-4.1-mini)")
    sim.add_argument("--error-kinds", type=_error_kinds, default=None, metavar="KIND=W,...",
                     help="weights of wrong_move, wrong_state, malformed, overlong "
                          "(default wrong_move=0.45,wrong_state=0.25,malformed=0.2,overlong=0.1)")
    sim.add_argument("--wrong-answers", choices=("spread", "same"), default=None,
                     help="'same': a step's wrong votes are all one answer (the gambler's-ruin case); "
                          "'spread' (default): they scatter over several")
    sim.add_argument("--hard-steps", type=_step_list, default=None, metavar="S1,S2,...",
                     help="steps on which the model errs at --hard-error-rate (correlated hard steps)")
    sim.add_argument("--hard-error-rate", type=_bounded_float(0, 1), default=None, metavar="P",
                     help="error rate on the hard steps (default 0.5)")
    sim.add_argument("--latency", type=_bounded_float(0, 600), default=None, metavar="SECONDS",
                     help="median reply time of the simulated model (default 0: instant)")
    sim.add_argument("--latency-spread", type=_bounded_float(0, 5), default=None, metavar="SIGMA",
                     help="log-normal spread of the reply time (default 0: fixed)")


def add_server_options(group: Any) -> None:
    """How to reach an OpenAI-compatible server; shared by solve and resume."""
    group.add_argument("--base-url", default=None, metavar="URL",
                       help="the server, e.g. http://127.0.0.1:8000/v1 (default: $OPENAI_BASE_URL, then OpenAI)")
    group.add_argument("--api-key-env", default="OPENAI_API_KEY", metavar="VAR",
                       help="environment variable holding the API key (default OPENAI_API_KEY); "
                            "the key itself is never a flag and never written anywhere")
    group.add_argument("--concurrency", type=_bounded_int(1, 1024), default=16, metavar="C",
                       help="requests in flight at most, across the run (default 16)")
    group.add_argument("--timeout", type=_bounded_float(0.1, 3600), default=60.0, metavar="SECONDS",
                       help="seconds a request may take before it is retried (default 60)")
    group.add_argument("--retries", type=_bounded_int(0, 100), default=8, metavar="N",
                       help="retries of a failed request: 429, 5xx, timeouts, bad bodies (default 8)")
    group.add_argument("--no-temperature", action="store_true",
                       help="send no temperature (reasoning models reject one)")
    group.add_argument("--token-param", choices=("max_tokens", "max_completion_tokens"), default="max_tokens",
                       help="the name the token limit is sent under (reasoning models want max_completion_tokens)")


def add_record_options(parser: argparse.ArgumentParser) -> None:
    """Recording options of ``solve``."""
    group = parser.add_argument_group("recording")
    group.add_argument("--record", type=Path, default=None, metavar="FILE",
                       help="record every sample to FILE (SQLite; must not exist) for resume and replay")
    group.add_argument("--keep-text", action="store_true",
                       help="keep every reply's text (default: red-flagged and minority replies only)")


def _k_list(text: str) -> list[int]:
    ks: list[int] = []
    for part in text.split(","):
        low, dash, high = part.partition("-")
        try:
            first, last = int(low), int(high) if dash else int(low)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a k, a list like 1,2,3 or a range like 1-5") from None
        if first < 1 or last < first:
            raise argparse.ArgumentTypeError(f"{part!r}: k starts at 1")
        ks.extend(range(first, last + 1))
    return ks


def build_parser(extend: Callable[[Any, argparse.ArgumentParser], None] | None = None) -> OneLineParser:
    """The ``maker`` parser with its headless commands; ``extend(subparsers, solve)`` adds more."""
    parser = OneLineParser(
        prog="maker",
        description="MAKER: solve Towers of Hanoi step by step with voting LLM micro-agents.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    solve = commands.add_parser(
        "solve", help="solve a tower", description="Solve a tower with MAKER: one micro-agent per move, "
        "first-to-ahead-by-k voting, red flags, and an audit of every decided step.",
    )
    solve.add_argument("--headless", action="store_true", help="run without the TUI, with a progress bar on a terminal")
    solve.add_argument("--json", action="store_true", help="print one JSON summary on stdout at the end (headless)")
    add_run_options(solve)
    add_record_options(solve)

    resume = commands.add_parser(
        "resume", help="continue a recorded run after a crash, Ctrl-C or a budget stop",
        description="Continue a recording from its last durable step with its recorded configuration, "
        "appending to the same file.",
    )
    resume.add_argument("file", type=Path, metavar="FILE", help="the recording")
    resume.add_argument("--k", type=_bounded_int(1), default=None, metavar="K", help="go on with another k")
    resume.add_argument("--budget-usd", type=_bounded_float(0, 1e9, open_low=True), default=None, metavar="USD",
                        help="a new budget for the whole run (the recorded one otherwise)")
    resume.add_argument("--json", action="store_true", help="print one JSON summary on stdout at the end")
    real = resume.add_argument_group("a real model (the recorded one)")
    add_server_options(real)

    info = commands.add_parser("info", help="what a recording holds", description="Summarise a recording.")
    info.add_argument("file", type=Path, metavar="FILE", help="the recording")
    info.add_argument("--json", action="store_true", help="print a JSON object")

    export = commands.add_parser(
        "export", help="a recording as JSON lines", description="Write a recording as one JSON line per step."
    )
    export.add_argument("file", type=Path, metavar="FILE", help="the recording")
    export.add_argument("--jsonl", action="store_true", required=True, help="JSON lines (the only format)")
    export.add_argument("--out", type=Path, default=None, metavar="PATH", help="write here instead of stdout")

    revote = commands.add_parser(
        "revote", help="decide a recording's steps again under another k",
        description="Decide every recorded step again from its recorded samples, in recorded order, under "
        "another k (and token limit): how many steps decide differently, how many would need samples "
        "never drawn, and the samples and cost that k would have used.",
    )
    revote.add_argument("file", type=Path, metavar="FILE", help="the recording")
    revote.add_argument("--k", type=_k_list, required=True, metavar="K",
                        help="a margin, or several: 3, 1,2,3 or 1-5")
    revote.add_argument("--max-tokens", type=_bounded_int(1), default=None, metavar="T",
                        help="token limit for the too_long flag (default: the recording's)")
    revote.add_argument("--json", action="store_true", help="print a JSON list, one object per k")

    plan = commands.add_parser(
        "plan", help="k_min and projected cost before a run",
        description="Print the paper's model table recomputed from p, prices and tokens per call, or plan "
        "one model given its per-sample success p.",
    )
    plan.add_argument("--p", type=_bounded_float(0, 1, open_low=True), default=None, metavar="P",
                      help="per-sample success rate of the model to plan (omit for the paper's table)")
    size = plan.add_mutually_exclusive_group()
    size.add_argument("--steps", type=_bounded_int(1), default=None, metavar="S", help="number of steps")
    size.add_argument("--disks", type=_bounded_int(1, MAX_DISKS), default=None, metavar="N",
                      help="disks (steps = 2^N - 1; default 20)")
    plan.add_argument("--target", type=_bounded_float(0, 1, open_low=True), default=0.95, metavar="T",
                      help="wanted chance of a zero-error run (default 0.95)")
    plan.add_argument("--model", default=None, metavar="NAME", help="name of the model (for its price)")
    plan.add_argument("--price-in", type=_bounded_float(0, 1e6), default=None, metavar="USD")
    plan.add_argument("--price-out", type=_bounded_float(0, 1e6), default=None, metavar="USD")
    plan.add_argument("--tokens-in", type=_bounded_int(0), default=None, metavar="N",
                      help="input tokens per call (default: this project's prompt)")
    plan.add_argument("--tokens-out", type=_bounded_int(1), default=None, metavar="N",
                      help="output tokens per call (default 550)")
    plan.add_argument("--valid-rate", type=_bounded_float(0, 1, open_low=True), default=1.0, metavar="V",
                      help="share of samples not red-flagged (default 1)")
    plan.add_argument("--json", action="store_true", help="print the rows as a JSON list")
    calibrate = commands.add_parser(
        "calibrate", help="estimate a model's p on random steps, then k_min, cost and time",
        description="Sample the model once on each of N random steps of the optimal solution (seeded), "
        "without voting; report p with a 95%% Wilson interval, the valid rate v, red flags, tokens and cost "
        "per sample, and k_min with the projected cost and time of a full run at targets 0.90, 0.95, 0.99.",
    )
    calibrate.add_argument("--disks", type=_bounded_int(1, MAX_DISKS), default=20, metavar="N",
                           help="the tower the steps come from and the run is projected for (default 20)")
    calibrate.add_argument("--samples", type=_bounded_int(1, 1_000_000), default=200, metavar="S",
                           help="random steps to sample, one sample each (default 200)")
    calibrate.add_argument("--temperature", type=_bounded_float(0, 2), default=0.1, metavar="T",
                           help="temperature of the samples (default 0.1, the voting temperature)")
    calibrate.add_argument("--max-tokens", type=_bounded_int(1), default=750, metavar="T",
                           help="output-token limit (default 750)")
    calibrate.add_argument("--json", action="store_true", help="print the calibration as JSON")
    calibrate.add_argument("--out", type=Path, default=None, metavar="FILE",
                           help="save the calibration, for 'maker solve --k auto --calibration FILE' and 'maker plan'")
    model = calibrate.add_argument_group("the model")
    model.add_argument("--model", default="sim", metavar="NAME", help="'sim' (default) or a served model's name")
    model.add_argument("--price-in", type=_bounded_float(0, 1e6), default=None, metavar="USD")
    model.add_argument("--price-out", type=_bounded_float(0, 1e6), default=None, metavar="USD")
    add_server_options(calibrate.add_argument_group("a real model (any --model but sim)"))
    add_sim_options(calibrate)
    plan.add_argument("--calibration", type=Path, nargs="+", default=None, metavar="FILE",
                      help="calibration files to plan beside the paper's table")
    if extend is not None:
        extend(commands, solve)
    return parser


# -- solve ----------------------------------------------------------------------------------------


def run_config(args: argparse.Namespace) -> RunConfig:
    """The run's settings from the parsed options; ``--k auto`` is resolved here."""
    if args.k == "auto":
        if args.calibration is None:
            raise UsageError("--k auto needs --calibration FILE (made by 'maker calibrate --out FILE')")
        args.k = Calibration.load(args.calibration).k_for(args.disks, args.target)
    elif args.calibration is not None:
        raise UsageError("--calibration is for --k auto")
    if args.max_votes < args.k:
        raise UsageError(f"--max-votes ({args.max_votes}) must be at least --k ({args.k})")
    return RunConfig(
        disks=args.disks,
        k=args.k,
        max_tokens=args.max_tokens,
        first_temperature=args.first_temperature,
        temperature=args.temperature,
        max_votes_per_step=args.max_votes,
        parallel=args.parallel,
        stop_on_error=args.stop_on_error,
        budget_usd=args.budget_usd,
    )


_SIM_OPTIONS = ("error_rate", "error_kinds", "wrong_answers", "hard_steps", "hard_error_rate", "latency", "latency_spread")


def sim_config(args: argparse.Namespace) -> SimConfig:
    """The simulated model's settings from the parsed options (defaults where none were given)."""
    given: dict[str, Any] = {"seed": args.seed}
    names = {"latency": "latency_s"}
    for option in _SIM_OPTIONS:
        value = getattr(args, option)
        if value is not None:
            given[names.get(option, option)] = value
    try:
        return SimConfig(**given)
    except ValidationError as exc:
        raise UsageError(exc.errors()[0]["msg"]) from None


def make_sampler(args: argparse.Namespace) -> tuple[Sampler, Pricing | None]:
    """The sampler the options name, with its prices."""
    if args.model == "sim":
        sampler: Sampler = SimulatedLLM(sim_config(args))
    else:
        given = [f"--{option.replace('_', '-')}" for option in _SIM_OPTIONS if getattr(args, option) is not None]
        if given:
            raise UsageError(f"{', '.join(given)} only apply to the simulated model (--model sim)")
        sampler = openai_sampler(args.model, args)
    pricing = _pricing(args, args.model)
    if getattr(args, "budget_usd", None) is not None and pricing is None:
        raise UsageError(f"--budget-usd needs prices: {args.model!r} has none in the table; give --price-in and --price-out")
    return sampler, pricing


def openai_sampler(model: str, args: argparse.Namespace) -> Sampler:
    """An OpenAI-compatible sampler from the server options; the key comes from the environment."""
    base_url = args.base_url or os.environ.get("OPENAI_BASE_URL") or None
    if base_url is not None and not base_url.startswith(("http://", "https://")):
        raise UsageError(f"--base-url {base_url!r} is not an http(s) URL")
    api_key = os.environ.get(args.api_key_env)
    if not api_key:
        if base_url is None:
            raise UsageError(f"set ${args.api_key_env} to your OpenAI API key (or name another variable with --api-key-env)")
        api_key = "no-key"  # local servers (vLLM, Ollama, llama.cpp) usually ask for none
    from engine.openai_sampler import OpenAISampler  # the SDK loads only for real models

    return OpenAISampler(
        model,
        api_key=api_key,
        base_url=base_url,
        concurrency=args.concurrency,
        timeout_s=args.timeout,
        max_retries=args.retries,
        send_temperature=not args.no_temperature,
        token_parameter=args.token_param,
        key_source=args.api_key_env,
    )


def _pricing(args: argparse.Namespace, model: str) -> Pricing | None:
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


def solve_headless(args: argparse.Namespace) -> int:
    """Run a solve without the TUI; a progress bar on a terminal, a JSON summary with --json."""
    config = run_config(args)
    sampler, pricing = make_sampler(args)
    session = new_session(config, sampler, pricing, record=args.record, keep_text=args.keep_text)
    return run_session_headless(session, args.json, expected=_expected_votes(args), record=args.record)


def resume_headless(args: argparse.Namespace) -> int:
    """Continue a recording without the TUI."""
    session = resume_session(args.file, k=args.k, budget_usd=args.budget_usd, make_sampler=resumed_sampler(args))
    return run_session_headless(session, args.json, record=args.file)


def resumed_sampler(args: argparse.Namespace) -> Callable[[Any, int], Sampler]:
    """Rebuilds a recorded real model's sampler, with the server options given now."""

    def make(meta: Any, first_step: int) -> Sampler:
        settings = meta.sampler
        if args.base_url is None:
            args.base_url = settings.get("base_url")
        if args.api_key_env == "OPENAI_API_KEY" and settings.get("api_key_env"):
            args.api_key_env = settings["api_key_env"]
        args.no_temperature = args.no_temperature or not settings.get("send_temperature", True)
        if args.token_param == "max_tokens":
            args.token_param = settings.get("token_parameter", "max_tokens")
        return openai_sampler(settings.get("model", meta.model), args)

    return make


def run_session_headless(session: Session, as_json: bool, expected: float | None = None, record: Path | None = None) -> int:
    """Run a session to its end; Ctrl-C stops it cleanly, keeping every decided step."""
    err = Console(stderr=True)
    interrupted = _stop_on_ctrl_c(session.control)
    try:
        if err.is_terminal:
            summary = _run_with_progress(session, err)
        else:
            summary = asyncio.run(session.run())
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        session.close()
    failure = session.runner.failure
    if failure is not None and getattr(failure, "usage", False):
        if as_json:
            print(summary.model_dump_json())
        print(f"maker: error: {failure}", file=sys.stderr)
        return EXIT_USAGE
    if as_json:
        print(summary.model_dump_json())
    else:
        print_summary(summary, Console(), expected=expected)
        if record is not None:
            again = f"; continue with: maker resume {record}" if summary.steps < summary.total_steps else ""
            Console().print(f"recorded to {record}{again}", style="dim")
    if interrupted.is_set():
        return EXIT_INTERRUPTED
    return EXIT_OK if summary.solved else EXIT_UNSOLVED


def _stop_on_ctrl_c(control: RunControl) -> threading.Event:
    """First Ctrl-C stops the run cleanly after the current sample; a second one aborts."""
    interrupted = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        if interrupted.is_set():
            raise KeyboardInterrupt
        interrupted.set()
        control.stop()

    signal.signal(signal.SIGINT, handler)
    return interrupted


def _run_with_progress(session: Session, console: Console) -> RunSummary:
    """Run with a rich progress bar that a side thread refreshes from the runner's totals."""
    runner = session.runner
    stats = runner.stats
    first = runner.checkpoint.step - 1 - stats.steps
    total = total_steps(runner.config.disks)
    columns = (
        TextColumn("[bold]step"),
        MofNCompleteColumn(),
        BarColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("solve", total=total, completed=first, detail="")
        done = threading.Event()

        def refresh() -> None:
            while not done.wait(0.1):
                steps = stats.steps
                flags = sum(stats.red_flags.values())
                errors = f"[red]{stats.errors} audit errors[/]" if stats.errors else "0 audit errors"
                detail = (
                    f"{stats.samples / steps if steps else 0:.3f} votes/step  {flags:,} red flags  {errors}"
                )
                progress.update(task, completed=first + steps, detail=detail)

        thread = threading.Thread(target=refresh, name="maker-progress", daemon=True)
        thread.start()
        try:
            summary = asyncio.run(session.run())
        finally:
            done.set()
            thread.join()
        progress.update(task, completed=first + stats.steps)
    return summary


def _expected_votes(args: argparse.Namespace) -> float | None:
    """The gambler's-ruin votes per step for the simulated model's configured error rate."""
    return sim_config(args).expected_votes(args.k) if args.model == "sim" else None


def print_summary(summary: RunSummary, console: Console, expected: float | None = None) -> None:
    """A run's summary as a small table."""
    style = "green" if summary.solved else "red"
    console.print(f"[bold {style}]{summary.message}[/]")
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="dim")
    table.add_column()
    table.add_row("model", summary.model)
    table.add_row("disks, k", f"{summary.disks}, {summary.k}")
    table.add_row("steps decided", f"{summary.steps:,} of {summary.total_steps:,}")
    table.add_row("audit errors", f"[red]{summary.errors}[/]" if summary.errors else "0")
    votes = f"{summary.samples:,} ({summary.samples_per_step:.4f} per step"
    votes += f"; formula {expected:.4f})" if expected is not None else ")"
    table.add_row("valid votes", votes)
    flags = ", ".join(f"{name} {count:,}" for name, count in summary.red_flags.items() if count) or "none"
    table.add_row("red flags", flags)
    table.add_row("cancelled", f"{summary.cancelled:,}")
    table.add_row("steps over k votes", f"{summary.steps_over_k:,}")
    estimated = f" ({summary.usage_estimated:,} replies without usage: estimated)" if summary.usage_estimated else ""
    table.add_row("tokens in / out", f"{summary.tokens_in:,} / {summary.tokens_out:,}{estimated}")
    table.add_row("cost", "unknown (no price)" if summary.cost_usd is None else f"${summary.cost_usd:,.2f}")
    if summary.transport_errors:
        retried = ", ".join(f"{kind} {count:,}" for kind, count in sorted(summary.transport_errors.items()))
        table.add_row("retried", retried)
    table.add_row("wall time", f"{summary.wall_s:,.1f} s")
    console.print(table)


# -- plan -----------------------------------------------------------------------------------------

DEFAULT_TOKENS_OUT = 550


def plan(args: argparse.Namespace) -> int:
    """Print the paper's table recomputed, or one model's plan."""
    disks = args.disks if args.disks is not None else 20
    steps = args.steps if args.steps is not None else total_steps(disks)
    calibrations = [Calibration.load(path) for path in args.calibration or []]
    if args.p is None:
        if args.steps is not None:
            raise UsageError("--steps needs --p (the paper's table is for a number of disks)")
        rows = paper_plan(disks, args.target) + [calibration_row(c, disks, args.target) for c in calibrations]
    else:
        if calibrations:
            raise UsageError("--calibration plans measured models; --p plans one given p: use one or the other")
        pricing = None
        if args.model is not None or args.price_in is not None or args.price_out is not None:
            pricing = _pricing(args, args.model or "")
        rows = [
            plan_row(
                args.model or "model",
                args.p,
                steps=steps,
                target=args.target,
                pricing=pricing,
                tokens_in=args.tokens_in if args.tokens_in is not None else prompt_tokens(disks),
                tokens_out=args.tokens_out if args.tokens_out is not None else DEFAULT_TOKENS_OUT,
                valid_rate=args.valid_rate,
            )
        ]
    if args.json:
        print(json.dumps([row.model_dump() for row in rows]))
    else:
        print_plan(rows, Console(), paper=args.p is None)
    return EXIT_OK


def calibration_row(calibration: Calibration, disks: int, target: float) -> PlanRow:
    """A measured model as a plan row: its p_vote, valid rate, tokens and prices."""
    pricing = None
    if calibration.price_in is not None and calibration.price_out is not None:
        pricing = Pricing(calibration.price_in, calibration.price_out)
    return plan_row(
        f"{calibration.model} (calibrated)",
        calibration.p_vote,
        steps=total_steps(disks),
        target=target,
        pricing=pricing,
        tokens_in=round(calibration.mean_tokens_in),
        tokens_out=max(1, round(calibration.mean_tokens_out)),
        valid_rate=max(calibration.v, 1e-9),
    )


def print_plan(rows: Sequence[PlanRow], console: Console, paper: bool) -> None:
    """Plan rows as a table; for the paper's table, with the paper's own k_min and cost beside ours."""
    first = rows[0]
    title = f"{first.steps:,} steps, target {first.target:g}, {first.tokens_in} input tokens per call"
    table = Table(
        title=title, box=box.SIMPLE_HEAD, pad_edge=False,
        caption="votes: expected valid votes per step; out: output tokens per call",
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
            _usd(row.cost_usd),
        ]
        if paper:
            cells.append(
                "" if row.model.endswith("(calibrated)")
                else f"{'none' if row.paper_k_min is None else row.paper_k_min} {_usd(row.paper_cost_usd)}"
            )
        table.add_row(*cells)
    console.print(table)
    if any(row.k_min is None for row in rows):
        console.print("k_min none: p <= 0.5, so voting converges on a wrong answer at any k.", style="dim")
    if any(row.cost_usd is None and row.k_min is not None for row in rows):
        console.print("projected -: the model has no price (give --model, or --price-in and --price-out).", style="dim")


def _usd(value: float | None) -> str:
    if value is None:
        return "-"
    return f"${value / 1000:,.1f}K" if value >= 1000 else f"${value:,.2f}"


# -- calibrate ------------------------------------------------------------------------------------


def calibrate_command(args: argparse.Namespace) -> int:
    """Sample random steps once each; report p, v, tokens and the projections."""
    if args.out is not None and args.out.exists():
        raise UsageError(f"{args.out} already exists")
    sampler, pricing = make_sampler(args)
    result = asyncio.run(
        calibrate(
            sampler,
            disks=args.disks,
            samples=args.samples,
            seed=args.seed,
            temperature=args.temperature,
            max_tokens=args.max_tokens,
            pricing=pricing,
            base_url_host=host_of(getattr(sampler, "base_url", None)),
        )
    )
    if args.out is not None:
        args.out.write_text(result.model_dump_json(indent=2), encoding="utf-8")
    if args.json:
        print(result.model_dump_json())
        return EXIT_OK
    console = Console()
    low, high = result.p_interval
    vote_low, vote_high = result.p_vote_interval
    table = Table(show_header=False, box=None, pad_edge=False, title=f"{result.model}: {result.samples:,} random steps "
                  f"of the {result.disks}-disk solution, one sample each")
    table.add_column(style="dim")
    table.add_column()
    table.add_row("p (right)", f"{result.p:.4f}  (95% interval {low:.4f} to {high:.4f})")
    table.add_row("p_vote (right | valid)", f"{result.p_vote:.4f}  ({vote_low:.4f} to {vote_high:.4f})")
    table.add_row("v (valid)", f"{result.v:.4f}")
    flags = ", ".join(f"{name} {count}" for name, count in result.red_flags.items() if count) or "none"
    table.add_row("red flags", flags)
    table.add_row("tokens in / out", f"{result.mean_tokens_in:,.0f} / {result.mean_tokens_out:,.0f} a sample")
    table.add_row("cost a sample", "unknown (no price)" if result.cost_per_sample_usd is None
                  else f"${result.cost_per_sample_usd:.6f}")
    console.print(table)
    projection = Table(title=f"a full {result.disks}-disk run", box=box.SIMPLE_HEAD, pad_edge=False)
    for name in ("target", "k_min", "samples/step", "cost", "time"):
        projection.add_column(name, justify="right")
    for row in result.projections:
        projection.add_row(
            f"{row.target:g}",
            "none (p_vote <= 0.5)" if row.k_min is None else str(row.k_min),
            "-" if row.expected_samples_per_step is None else f"{row.expected_samples_per_step:.3f}",
            _usd(row.cost_usd),
            "-" if row.time_s is None else _long_duration(row.time_s),
        )
    console.print(projection)
    if args.out is not None:
        console.print(f"saved to {args.out}; use it with: maker solve --k auto --calibration {args.out}", style="dim")
    return EXIT_OK


def _long_duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


# -- recordings -----------------------------------------------------------------------------------


def info(args: argparse.Namespace) -> int:
    """Summarise a recording."""
    with Recording.open(args.file) as recording:
        facts = describe(recording)
    if args.json:
        print(json.dumps(facts))
        return EXIT_OK
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="dim")
    table.add_column()
    state = "complete" if facts["complete"] else f"resumable ({facts['last_stop'] or 'interrupted'})"
    table.add_row("recording", f"{facts['path']} ({state})")
    table.add_row("model", facts["model"] + (f" at {facts['base_url_host']}" if facts["base_url_host"] else ""))
    table.add_row("disks, k", f"{facts['disks']}, {facts['k']}")
    table.add_row("steps recorded", f"{facts['steps_recorded']:,} of {facts['total_steps']:,}")
    table.add_row("audit errors", str(facts["errors"]))
    table.add_row("valid votes", f"{facts['samples']:,}")
    flags = ", ".join(f"{name} {count:,}" for name, count in facts["red_flags"].items() if count) or "none"
    table.add_row("red flags", flags)
    table.add_row("cancelled", f"{facts['cancelled']:,}")
    table.add_row("undecided attempts", str(facts["undecided_attempts"]))
    table.add_row("tokens in / out", f"{facts['tokens_in']:,} / {facts['tokens_out']:,}")
    table.add_row("cost", "unknown (no price)" if facts["cost_usd"] is None else f"${facts['cost_usd']:,.2f}")
    if facts["last_message"]:
        table.add_row("last stop", facts["last_message"])
    Console().print(table)
    return EXIT_OK


def export(args: argparse.Namespace) -> int:
    """One JSON line per recorded step."""
    with Recording.open(args.file) as recording:
        if args.out is not None:
            if args.out.exists():
                raise UsageError(f"{args.out} already exists")
            with open(args.out, "w", encoding="utf-8") as handle:
                write_jsonl(recording, handle)
        else:
            write_jsonl(recording, sys.stdout)
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
    Console().print(table)
    Console().print("needs more: steps the recorded samples do not decide under that k (samples never drawn)",
                    style="dim")
    return EXIT_OK


# -- entry point ----------------------------------------------------------------------------------

HEADLESS_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "plan": plan,
    "calibrate": calibrate_command,
    "resume": resume_headless,
    "info": info,
    "export": export,
    "revote": revote_command,
}


def dispatch(args: argparse.Namespace) -> int:
    """Run a parsed headless command; usage errors become one line and exit 2."""
    try:
        if args.command == "solve":
            return solve_headless(args)
        return HEADLESS_COMMANDS[args.command](args)
    except (UsageError, RecordingError, CalibrationError) as exc:
        print(f"maker: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    """``maker`` without the TUI: every command runs headless."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    if args.command == "solve" and not args.headless:
        args.headless = True
    return run_guarded(dispatch, args)


def run_guarded(command: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run a command; a reader that closes the pipe early (``| head``) is not an error."""
    try:
        return command(args)
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
