"""``maker solve --headless`` and ``maker resume``: a run without the TUI, with a progress bar on a
terminal or one JSON summary; Ctrl-C stops it at once, keeping every decided step."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from engine.cli.args import (
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_UNSOLVED,
    EXIT_USAGE,
    add_lookahead_option,
    add_record_options,
    add_run_options,
    add_server_options,
    bounded_float,
    bounded_int,
)
from engine.cli.options import formula_votes, run_config, sampler_and_prices, server_options
from engine.cli.output import print_summary
from engine.models.sampler import ModelError
from engine.run.control import RunControl
from engine.run.session import Session, new_session, resume_session
from engine.run.summary import RunSummary
from engine.task.hanoi import total_steps


def add_parsers(commands: Any) -> argparse.ArgumentParser:
    """``solve`` and ``resume``; returns ``solve``, which the TUI extends."""
    solve = commands.add_parser(
        "solve", help="solve a tower", description="Solve a tower with MAKER: one micro-agent per move, "
        "first-to-ahead-by-k voting, red flags, and an audit of every decided step.",
    )
    solve.add_argument("--headless", action="store_true", help="run without the TUI, with a progress bar on a terminal")
    solve.add_argument("--json", action="store_true",
                       help="print one JSON summary on stdout at the end (implies --headless)")
    add_run_options(solve)
    add_record_options(solve)
    resume = commands.add_parser(
        "resume", help="continue a recorded run after a crash, Ctrl-C or a budget stop",
        description="Continue a recording from its last durable step with its recorded configuration, "
        "appending to the same file, on the live screen (or headless with --headless). The whole file is "
        "checked first; a damaged one is left as it is.",
    )
    resume.add_argument("file", type=Path, metavar="FILE", help="the recording")
    resume.add_argument("--headless", action="store_true",
                        help="run without the TUI, with a progress bar on a terminal (--json implies it)")
    resume.add_argument("--k", type=bounded_int(1), default=None, metavar="K", help="go on with another k")
    resume.add_argument("--budget-usd", type=bounded_float(0, 1e9, open_low=True), default=None, metavar="USD",
                        help="a new budget for the whole run (the recorded one otherwise)")
    resume.add_argument("--json", action="store_true",
                        help="print one JSON summary on stdout at the end (implies --headless)")
    add_lookahead_option(resume, resume=True)
    add_server_options(resume.add_argument_group("a served model (the recorded one; its recorded options by default)"))
    return solve


def solve_headless(args: argparse.Namespace) -> int:
    """Run a solve without the TUI."""
    config = run_config(args)
    sampler, pricing = sampler_and_prices(args)
    session = new_session(config, sampler, pricing, record=args.record, keep_text=args.keep_text)
    return run_session_headless(session, args.json, expected=formula_votes(args), record=args.record)


def resumed_session(args: argparse.Namespace) -> Session:
    """The session ``maker resume`` continues, headless or in the TUI."""
    return resume_session(args.file, k=args.k, budget_usd=args.budget_usd, server=server_options(args),
                          lookahead=args.lookahead, concurrency=args.concurrency)


def resume_headless(args: argparse.Namespace) -> int:
    """Continue a recording without the TUI."""
    return run_session_headless(resumed_session(args), args.json, record=args.file)


def run_session_headless(session: Session, as_json: bool, expected: float | None = None, record: Path | None = None) -> int:
    """Run a session to its end; Ctrl-C stops it at once, keeping every decided step."""
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
    if as_json:
        print(summary.model_dump_json())
    failure = session.runner.failure
    if isinstance(failure, ModelError) and failure.usage:
        print(f"maker: error: {failure}", file=sys.stderr)
        return EXIT_USAGE
    if not as_json:
        print_summary(summary, Console(), expected=expected)
        if record is not None:
            again = f"; continue with: maker resume {record}" if summary.steps < summary.total_steps else ""
            Console().print(f"recorded to {record}{again}", style="dim", highlight=False)
    return exit_status(summary, interrupted.is_set())


def exit_status(summary: RunSummary, interrupted: bool = False) -> int:
    """0 solved; 130 stopped by Ctrl-C; 3 a failure that is a bug; 1 anything else unsolved."""
    if interrupted:
        return EXIT_INTERRUPTED
    if summary.stopped in ("internal_error", "listener_error"):
        return EXIT_INTERNAL
    return EXIT_OK if summary.solved and summary.stopped == "solved" else EXIT_UNSOLVED


def _stop_on_ctrl_c(control: RunControl) -> threading.Event:
    """First Ctrl-C stops the run at once, cancelling requests in flight; a second one aborts."""
    interrupted = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        if interrupted.is_set():
            raise KeyboardInterrupt
        interrupted.set()
        control.stop()

    signal.signal(signal.SIGINT, handler)
    return interrupted


def _run_with_progress(session: Session, console: Console) -> RunSummary:
    """Run with a rich progress bar that a side thread refreshes from a copy of the run's totals."""
    runner = session.runner
    before, _ = runner.totals_now()
    first = runner.checkpoint.step - 1 - before.steps
    columns = (
        TextColumn("[bold]step"),
        MofNCompleteColumn(),
        BarColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("solve", total=total_steps(runner.config.disks), completed=first, detail="")
        done = threading.Event()

        def refresh() -> None:
            while not done.wait(0.1):
                totals, _ = runner.totals_now()
                errors = f"[red]{totals.errors} audit errors[/]" if totals.errors else "0 audit errors"
                per_step = totals.samples / totals.steps if totals.steps else 0
                detail = f"{per_step:.3f} votes/step  {totals.flagged:,} red flags  {errors}"
                wire = runner.sampler.wire_report()
                if wire is not None and wire.status:  # what a served model's wire waits for
                    detail += f"  [yellow]{escape(wire.status)}[/]"
                progress.update(task, completed=first + totals.steps, detail=detail)

        thread = threading.Thread(target=refresh, name="maker-progress", daemon=True)
        thread.start()
        try:
            summary = asyncio.run(session.run())
        finally:
            done.set()
            thread.join()
        progress.update(task, completed=first + summary.steps)
    return summary
