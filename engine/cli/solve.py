"""``maker solve --headless`` and ``maker resume``: a run without the TUI, with a progress bar on a
terminal or one JSON summary; Ctrl-C, SIGTERM and SIGHUP stop it at once, keeping every decided step."""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from engine.cli.args import (
    EXIT_INTERNAL,
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
from engine.cli.output import print_summary, recorded_text
from engine.cli.terminal import SignalStop, discard, say, signal_exit_status
from engine.models.sampler import ModelError
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
    """Run a session to its end; Ctrl-C, SIGTERM and SIGHUP stop it at once, keeping every decided
    step, and the summary is printed all the same (what a closed terminal cannot show is dropped)."""
    err = Console(stderr=True)
    with SignalStop(session.control) as stop:
        try:
            if err.is_terminal:
                summary = _run_with_progress(session, err)
            else:
                summary = asyncio.run(session.run())
        finally:
            stop.closing()
            session.close()
        if as_json:
            say(summary.model_dump_json(), fallback=False)
        failure = session.runner.failure
        if isinstance(failure, ModelError) and failure.usage:
            say(f"maker: error: {failure}", stream=sys.stderr)
            return EXIT_USAGE
        if not as_json:
            hint = None
            if record is not None:
                hint = recorded_text(record, unfinished=summary.steps < summary.total_steps)
            try:
                out = Console()
                print_summary(summary, out, expected=expected)
                if hint is not None:
                    out.print(hint, style="dim", highlight=False, soft_wrap=True)  # a path is never broken
            except OSError:  # the terminal is gone (a SIGHUP): the hint goes to stderr, if that is still there
                discard(sys.stdout)
                if hint is not None:
                    say(hint, stream=sys.stderr)
    return exit_status(summary, stop.signum)


def exit_status(summary: RunSummary, signalled: int | None = None) -> int:
    """0 solved; 128 + the signal's number when a signal stopped the run (130 Ctrl-C, 143 SIGTERM,
    129 SIGHUP: what a shell shows for a process the signal killed); 3 a failure that is a bug; 1
    anything else unsolved."""
    if signalled is not None:
        return signal_exit_status(signalled)
    if summary.stopped in ("internal_error", "listener_error"):
        return EXIT_INTERNAL
    return EXIT_OK if summary.solved and summary.stopped == "solved" else EXIT_UNSOLVED


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
    summary: RunSummary | None = None
    try:
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
    except OSError:
        if summary is None:
            raise
        discard(console.file)  # the terminal went away (a SIGHUP): the bar is lost, the run's end is not
    return summary
