"""The ``maker`` command line without the TUI: the parser, the dispatch, and its error handling.

The TUI's entry point (``tui.cli``) extends this parser with the interactive commands; nothing
here imports Textual. Bad input (a flag, a file, a server's refusal) is one line and exit 2; a bug
is one line naming the log file that holds its traceback, and exit 3.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from importlib import metadata
from typing import Any

from engine.cli import calibrate, inspection, local_server, plan, recordings, solve
from engine.cli.args import EXIT_INTERNAL, EXIT_OK, EXIT_USAGE, OneLineParser, UsageError
from engine.models.sampler import ModelError
from engine.recording.format import RecordingError
from engine.run.failures import brief, write_crash_log
from engine.voting.calibrate import CalibrationError

Command = Callable[[argparse.Namespace], int]


def package_version() -> str:
    """The installed package's version (``unknown`` when run from a checkout never installed)."""
    try:
        return metadata.version("maker")
    except metadata.PackageNotFoundError:
        return "unknown"

COMMANDS: dict[str, Command] = {
    "plan": plan.plan,
    "calibrate": calibrate.calibrate_command,
    "resume": solve.resume_headless,
    "info": recordings.info,
    "export": recordings.export,
    "inspect": inspection.inspect_command,
    "revote": recordings.revote_command,
    "local-server": local_server.local_server,
}


def build_parser(extend: Callable[[Any, argparse.ArgumentParser], None] | None = None) -> OneLineParser:
    """The ``maker`` parser with its headless commands; ``extend(subparsers, solve)`` adds more."""
    parser = OneLineParser(
        prog="maker",
        description="MAKER: solve Towers of Hanoi step by step with voting LLM micro-agents.",
    )
    parser.add_argument("--version", action="version", version=f"maker {package_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    solve_parser = solve.add_parsers(commands)
    recordings.add_parsers(commands)
    inspection.add_parser(commands)
    plan.add_parser(commands)
    calibrate.add_parser(commands)
    local_server.add_parser(commands)
    if extend is not None:
        extend(commands, solve_parser)
    return parser


def dispatch(args: argparse.Namespace) -> int:
    """Run a parsed headless command."""
    if args.command == "solve":
        return solve.solve_headless(args)
    return COMMANDS[args.command](args)


def run_guarded(command: Command, args: argparse.Namespace) -> int:
    """Run a command: bad input is one line and exit 2; a reader that closes the pipe early
    (``| head``) is not an error; anything else is a bug, reported in one line with its log."""
    try:
        return command(args)
    except (UsageError, RecordingError, CalibrationError) as exc:
        print(f"maker: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ModelError as exc:
        print(f"maker: error: {exc}", file=sys.stderr)
        return EXIT_USAGE if exc.usage else EXIT_INTERNAL
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:
        log = write_crash_log(exc, f"maker {args.command} failed")
        where = f"; the traceback is in {log}" if log is not None else ""
        print(f"maker: error: internal error ({brief(exc)}){where}", file=sys.stderr)
        return EXIT_INTERNAL


def main(argv: Sequence[str] | None = None) -> int:
    """``maker`` without the TUI: every command runs headless."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    if args.command == "solve":
        args.headless = True
    return run_guarded(dispatch, args)
