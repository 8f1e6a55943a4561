"""``maker``: the entry point. The TUI commands live here; the headless ones in :mod:`engine.cli`.

Textual is imported only when a command opens the app, so headless runs start fast.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from engine.cli.args import EXIT_OK, EXIT_USAGE, UsageError
from engine.cli.main import build_parser, dispatch, run_guarded
from engine.cli.options import formula_votes, run_config, sampler_and_prices
from engine.cli.output import recorded_text
from engine.cli.solve import exit_status, resumed_session
from engine.cli.terminal import SignalStop, say, signal_exit_status
from engine.models.factory import formula_votes_for, is_simulated
from engine.models.sampler import ModelError
from engine.paths import demo_recording, recordings_dir
from engine.recording.format import SUFFIX
from engine.recording.reader import Recording
from engine.run.session import Session, new_session
from tui import serve

SIM_PACE = 10.0
"""Samples a second the live screen starts at on the simulated model: slow enough to follow."""
REPLAY_PACE = 10.0
CAST_SIZE = (120, 40)
"""The terminal a cast is recorded in, unless ``--size`` says otherwise."""
DEMO_CALM_PACE = 10.0
"""Samples a second the demo goes through unanimous steps at (the others at a sixth of it)."""
FIRST_LOOK = ["solve", "--disks", "8", "--error-rate", "0.03"]
"""What ``maker`` alone runs: a tower small enough to watch to the end, on a model that errs
often enough (3%) for votes to disagree and red flags to show."""


FULL_SPEED = math.inf
"""``--speed full``: as fast as the engine goes (a pace of None)."""


def _speed(text: str) -> float:
    if text == "full":
        return FULL_SPEED
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of samples a second or 'full'") from None
    if not 0 < value <= 100_000:
        raise argparse.ArgumentTypeError(f"{text} is out of range (more than 0, at most 100000, or 'full')")
    return value


def pace(speed: float | None, default: float | None) -> float | None:
    """The pace ``--speed`` asks for (None: full speed); ``default`` when it was not given."""
    if speed is None:
        return default
    return None if speed == FULL_SPEED else speed


def starting_pace(speed: float | None, model: str) -> float | None:
    """The live screen's first pace: ``--speed`` when given; else full speed for a served model
    (its replies set the pace, and a pace would hold its requests back) and a pace a person can
    follow for the simulated one."""
    return pace(speed, SIM_PACE if is_simulated(model) else None)


def _add_view_options(parser: argparse.ArgumentParser, default: str, opens: str, live: bool = False,
                      theme: str = "maker-dark") -> None:
    """The options every screen takes: theme, pace, and whether it opens paused or playing
    (``opens``: which it does unless told)."""
    group = parser.add_argument_group("the screen")
    group.add_argument("--theme", default=None, metavar="NAME",
                       help=f"maker-dark, maker-light, stage (for projectors), or any Textual theme (default {theme})")
    throttles = (". A pace holds the requests back too: a served model is asked no faster than the screen "
                 "shows") if live else ""
    group.add_argument("--speed", type=_speed, default=None, metavar="S",
                       help=f"samples a second, or 'full' (default {default}; + and - change it){throttles}")
    start = group.add_mutually_exclusive_group()
    start.add_argument("--paused", dest="playing", action="store_false", default=None,
                       help=f"open paused (space plays){'' if opens == 'playing' else '; the default'}")
    start.add_argument("--playing", dest="playing", action="store_true",
                       help=f"open playing (space pauses){'' if opens == 'paused' else '; the default'}")
    start.add_argument("--play", dest="playing", action="store_true", help=argparse.SUPPRESS)  # the old spelling


def has_terminal() -> bool:
    """Whether the screen has a terminal to draw on and read keys from, or a driver that stands in
    for one (TEXTUAL_DRIVER: textual-serve's web driver, for ``maker serve``)."""
    # Textual reads keys from stdin and draws on stderr: stdout may go to a file or a pipe.
    return (sys.stdin.isatty() and sys.__stderr__.isatty()) or bool(os.environ.get("TEXTUAL_DRIVER"))


class Checked(Exception):
    """A screen command only checked (``args.only_check``) got as far as opening its screen."""


def check_screen_command(args: argparse.Namespace) -> None:
    """Check a screen command's flags, files and settings as running it would, up to opening its
    screen, and stop there (``maker serve`` checks what every visitor will run)."""
    args.only_check = True
    try:
        _dispatch(args)
    except Checked:
        return
    finally:
        args.only_check = False


def check_terminal(args: argparse.Namespace) -> None:
    """The screen needs a terminal: without one (a pipe, a cron job, nohup) it would wait forever
    for keys, so say so at once. A command that is only checked stops here."""
    if getattr(args, "only_check", False):
        raise Checked
    if not has_terminal():
        hint = " (or --headless)" if args.command in ("solve", "resume") else ""
        raise UsageError(f"maker {args.command} draws its screen on a terminal, and none is attached: run it in a "
                         f"terminal{hint}")


def extend(commands: Any, solve: argparse.ArgumentParser) -> None:
    """Add the TUI's options and commands to the headless parser."""
    for live in (solve, commands.choices["resume"]):
        _add_view_options(live, f"{SIM_PACE:g} on the simulated model; full for a served model, whose replies set "
                                "the pace", "playing", live=True)
    replay = commands.add_parser("replay", help="play a recording in the TUI",
                                 description="Play a recording back through the live panes, without any API call. "
                                 "T starts a guided tour of the moments that explain MAKER.")
    replay.add_argument("file", type=Path, metavar="FILE", help="the recording")
    replay.add_argument("--at", type=int, default=None, metavar="STEP",
                        help="open at this step, with all its votes shown (without it: step 1, before its votes)")
    replay.add_argument("--until", type=int, default=None, metavar="STEP",
                        help=argparse.SUPPRESS)  # quit two seconds after STEP is decided: what export --cast plays
    _add_view_options(replay, f"{REPLAY_PACE:g}", "paused")
    demo = commands.add_parser("demo", help="loop the shipped recording for an audience",
                               description="Loop a recording in the stage theme, at a pace an audience can "
                               "follow, with a title and a line explaining what is on screen. Steps with a "
                               "disagreement or a red flag go at a sixth of the pace, so an audience can follow them.")
    demo.add_argument("--recording", type=Path, default=None, metavar="FILE",
                      help="the recording to loop (default: the shipped 10-disk run)")
    demo.add_argument("--tour", action="store_true",
                      help="open on the guided tour: six moments that explain MAKER, one caption each (space "
                      "goes on, Esc leaves it for the loop)")
    _add_view_options(demo, f"{DEMO_CALM_PACE:g}", "playing", theme="stage")
    serve.add_parser(commands)
    cast = commands.choices["export"].add_argument_group("a replay as a terminal recording (asciinema)")
    cast.add_argument("--cast", type=Path, default=None, metavar="OUT.cast",
                      help="write the replay of --steps (default 1-100), exactly as the app draws it, as an "
                      "asciinema cast: play it with 'asciinema play', make a GIF with agg")
    cast.add_argument("--speed", type=_speed, default=None, metavar="S",
                      help=f"with --cast: samples a second (default {REPLAY_PACE:g}, or 'full')")
    cast.add_argument("--size", type=_size, default=None, metavar="COLSxROWS", help="with --cast: the terminal's "
                      f"size (default {CAST_SIZE[0]}x{CAST_SIZE[1]})")
    cast.add_argument("--theme", default=None, metavar="NAME", help="with --cast: the theme (default maker-dark)")


def solve_in_tui(args: argparse.Namespace) -> int:
    config = run_config(args)
    sampler, pricing = sampler_and_prices(args)
    if args.record is None and not is_simulated(args.model):
        # A real model's run costs money: keep every sample unless told where, so it can resume.
        folder = recordings_dir()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"cannot make the folder for this run's recording, {folder} ({exc.strerror or exc}): "
                             "give one with --record FILE") from None
        safe_model = "".join(c if c.isalnum() or c in "-." else "_" for c in args.model)
        # The process id too: runs started in the same second (maker serve's visitors) never share a file.
        args.record = folder / f"{time.strftime('%Y%m%d-%H%M%S')}-{safe_model}-{args.disks}d-{os.getpid()}{SUFFIX}"
    # The settings are checked (the runs folder too, which is all that may have been made): no
    # recording is started without a screen to show it on.
    check_terminal(args)
    session = new_session(config, sampler, pricing, record=args.record, keep_text=args.keep_text)
    return run_live(session, args, args.record, expected_votes=formula_votes(args))


def resume_in_tui(args: argparse.Namespace) -> int:
    """``maker resume FILE``: the recorded run goes on on the live screen, appending to its file."""
    check_terminal(args)  # before the file is checked: resuming may upgrade it in place
    session = resumed_session(args)
    runner = session.runner
    return run_live(session, args, args.file,
                    expected_votes=formula_votes_for(runner.sampler.settings(), runner.config.k))


def run_live(session: Session, args: argparse.Namespace, record: Path | None,
             expected_votes: float | None = None) -> int:
    """Open the live screen on ``session`` at the pace asked for; after it, say where the samples
    went and exit as a headless run of the same end would. SIGTERM and SIGHUP quit as ``q`` does,
    and exit as a headless run they stop."""
    from tui.app import live_app

    session.control.set_pace(starting_pace(args.speed, session.runner.sampler.name))
    if args.playing is False:
        session.control.pause()
    app = live_app(session, expected_votes=expected_votes, theme=args.theme)
    # Around the app (which handles the signals itself while it runs): a signal before it is up
    # stops the engine, and one after it (a closed terminal's second SIGHUP) does not cut the end short.
    with SignalStop(session.control, ctrl_c=False) as stop:
        app.outer = stop
        app.run()
        stop.closing()
        session.close()
        summary = session.summary
        if record is not None:
            unfinished = summary is None or summary.steps < summary.total_steps
            say(recorded_text(record, unfinished, replay=True))
    signalled = app.signalled or stop.signum
    failure = session.runner.failure
    if isinstance(failure, ModelError) and failure.usage:
        say(f"maker: error: {failure}", stream=sys.stderr)
        return EXIT_USAGE
    if signalled is not None:
        return signal_exit_status(signalled)
    if summary is None or summary.stopped == "stopped":
        return EXIT_OK
    if not summary.solved:
        say(summary.message, stream=sys.stderr)
    return exit_status(summary)


def replay_in_tui(args: argparse.Namespace, demo: bool = False) -> int:
    from engine.view.replay import ReplayCursor
    from tui.app import replay_app

    path = (args.recording or demo_recording()) if demo else args.file
    recording = Recording.open(path)
    try:
        cursor = ReplayCursor(recording)
        at = None if demo else args.at
        if at is not None and not 1 <= at <= cursor.last_step:
            raise UsageError(f"--at {at}: {path} holds steps 1 to {cursor.last_step:,}")
        if at is not None:
            cursor.seek(at, reveal_all=True)
        until = None if demo else args.until
        if until is not None and not (at or 1) <= until <= cursor.last_step:
            raise UsageError(f"--until {until}: a step from {at or 1:,} to {cursor.last_step:,}")
        check_terminal(args)
    except BaseException:
        recording.close()
        raise
    speed = pace(args.speed, DEMO_CALM_PACE if demo else REPLAY_PACE)
    app = replay_app(cursor, demo=demo, playing=args.playing, speed=speed, theme=args.theme, tour=demo and args.tour,
                     until=until)
    with SignalStop(None, ctrl_c=False) as stop:
        app.outer = stop
        app.run()
        recording.close()
    signalled = app.signalled or stop.signum
    return EXIT_OK if signalled is None else signal_exit_status(signalled)


def _size(text: str) -> tuple[int, int]:
    """``--size 120x40``: a terminal of 40 to 400 columns and 12 to 200 rows."""
    columns, _, rows = text.lower().partition("x")
    if not (columns.isdigit() and rows.isdigit()):
        raise argparse.ArgumentTypeError(f"{text!r} is not COLSxROWS, e.g. 120x40")
    if not (40 <= int(columns) <= 400 and 12 <= int(rows) <= 200):
        raise argparse.ArgumentTypeError(f"{text} is out of range (40 to 400 columns, 12 to 200 rows)")
    return int(columns), int(rows)


def export_cast(args: argparse.Namespace) -> int:
    """``maker export FILE --cast OUT``: the replay of some steps, recorded from a pseudo-terminal."""
    from tui.cast import cast_replay

    for flag, given in (("--out", args.out), ("--jsonl", args.jsonl)):
        if given:
            raise UsageError(f"{flag} writes JSON lines; --cast writes a cast: give one or the other")
    return cast_replay(args.file, args.cast, steps=args.steps, speed=pace(args.speed, REPLAY_PACE),
                       size=args.size or CAST_SIZE, theme=args.theme)


def _dispatch(args: argparse.Namespace) -> int:
    if args.command in ("solve", "resume") and not (args.headless or args.json):
        return solve_in_tui(args) if args.command == "solve" else resume_in_tui(args)
    if args.command == "replay":
        return replay_in_tui(args)
    if args.command == "demo":
        return replay_in_tui(args, demo=True)
    if args.command == "export" and args.cast is not None:
        return export_cast(args)
    if args.command == "serve":
        return serve.serve(args, build_parser(extend).parse_args, check_screen_command)
    for flag in ("speed", "size", "theme"):
        if args.command == "export" and getattr(args, flag) is not None:
            raise UsageError(f"--{flag} goes with --cast")
    return dispatch(args)


def main(argv: Sequence[str] | None = None) -> int:
    """``maker`` with no command opens the live screen on a small tower; see ``maker --help``."""
    parser = build_parser(extend)
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv or FIRST_LOOK)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    return run_guarded(_dispatch, args)


if __name__ == "__main__":
    sys.exit(main())
