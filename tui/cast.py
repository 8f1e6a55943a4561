"""``maker export FILE --cast OUT``: a replay, recorded from a pseudo-terminal as an asciinema cast.

Nothing is drawn by hand: ``maker replay`` runs in a pseudo-terminal of the size asked for, in a
session of its own (nothing of the terminal ``maker export`` runs in reaches it), plays the steps
and quits two seconds after the last (``--until``). What it writes, timed, is the cast (version 2:
a JSON header line, then ``[seconds, "o", text]`` lines). Textual's questions to the terminal
(``CSI ? 2026 $ p``, ``CSI ? 2048 $ p``) go unanswered: it never waits for the answers.
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import fcntl
import json
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from engine.cli.args import EXIT_INTERNAL, EXIT_OK, EXIT_USAGE, UsageError
from engine.cli.terminal import SignalStop, say, signal_exit_status
from engine.recording.reader import Recording
from themes import theme_names

DEFAULT_STEPS = 100
"""Steps a cast holds unless ``--steps`` says otherwise (from the first)."""
TERMINAL = {"TERM": "xterm-256color", "COLORTERM": "truecolor"}
"""The terminal the replay is told it draws on: with 24-bit colour, the theme's own colours."""
COALESCE_S = 0.005
"""Reads closer than this to the start of the event before them join it: fewer events, the same text."""
QUIET_S = 60.0
"""The longest a replay may write nothing (or three samples' time at a slow pace) before it is
taken for stuck and ended: a long replay is fine, a silent one is not."""
HOST_TERMINAL = ("TEXTUAL_DRIVER", "NO_COLOR", "TERM_PROGRAM", "TERM_PROGRAM_VERSION", "TEXTUAL",
                 "TEXTUAL_COLOR_SYSTEM", "COLORTERM", "TERM")
"""What the host terminal's environment says about it, which would change what Textual writes."""
ESCAPE = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-Z\\-_])")
"""A terminal control sequence (CSI, OSC or a two-character escape), stripped to find a line of text."""

Event = tuple[float, str]


def cast_replay(file: Path, out: Path, *, steps: tuple[int, int] | None, speed: float | None,
                size: tuple[int, int], theme: str | None) -> int:
    """Record the replay of ``steps`` of ``file`` (default: the first 100) at ``speed`` samples a
    second (None: full speed) in a terminal of ``size`` (columns, rows), and write it to ``out``.
    A failed or stopped run leaves no file behind."""
    first, last = _check_steps(file, steps)
    _check_theme(theme)
    limit = max(QUIET_S, 3 / speed) if speed else QUIET_S
    scratch, stop = _scratch(out), SignalStop(None)
    try:
        with stop:
            events, status = _record(_command(file, first, last, speed, theme), size, limit, stop)
        if stop.signum is not None:
            raise KeyboardInterrupt
        if status != 0 or not events:
            return _failed(status, events)
        header = {"version": 2, "width": size[0], "height": size[1], "timestamp": int(time.time()),
                  "title": f"maker replay {file.name}, steps {first}-{last}", "env": TERMINAL}
        with open(scratch, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(json.dumps(header, ensure_ascii=False) + "\n")
            handle.writelines(json.dumps([round(t, 6), "o", text], ensure_ascii=False) + "\n" for t, text in events)
        os.replace(scratch, out)
    except (KeyboardInterrupt, TimeoutError) as exc:  # a signal (a second Ctrl-C raises), or too long a replay
        stopped = isinstance(exc, KeyboardInterrupt)
        say(f"maker: {'stopped' if stopped else f'error: {exc}'}; no cast written to {out}", stream=sys.stderr)
        return signal_exit_status(stop.signum or signal.SIGINT) if stopped else EXIT_INTERNAL
    finally:
        scratch.unlink(missing_ok=True)
    say(f"wrote {out}: steps {first}-{last}, {events[-1][0]:.1f} s at {size[0]}x{size[1]}, "
        f"{len(events):,} events, {out.stat().st_size:,} bytes")
    return EXIT_OK


def _check_theme(theme: str | None) -> None:
    """A theme the app does not know would be replaced by its default, in the cast for good."""
    if theme is not None and theme not in theme_names():
        raise UsageError(f"--theme {theme}: no such theme (there are {', '.join(theme_names())})")


def _check_steps(file: Path, steps: tuple[int, int] | None) -> tuple[int, int]:
    """The steps to replay, checked against the recording."""
    with Recording.open(file) as recording:
        held = len(recording)
        if not held:
            raise UsageError(f"{file} holds no decided step")
        first, last = steps or (1, min(DEFAULT_STEPS, held))
        if last > held:
            asked = f"{first}" if first == last else f"{first}-{last}"
            raise UsageError(f"--steps {asked}: {file} holds steps 1 to {held:,}")
    return first, last


def _scratch(out: Path) -> Path:
    """A new file beside ``out`` that the cast is written to, then renamed: proof that ``out`` can
    be written before the replay starts, and no half cast if it fails."""
    if out.exists():
        raise UsageError(f"{out} already exists")
    if not out.parent.is_dir():
        why = "is not a folder" if out.parent.exists() else "does not exist"
        raise UsageError(f"cannot write {out}: {out.parent} {why}")
    scratch = out.parent / f".{out.name}.{os.getpid()}.part"
    try:
        os.close(os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except OSError as exc:
        raise UsageError(f"cannot write {out} ({exc.strerror or exc})") from None
    return scratch


def _command(file: Path, first: int, last: int, speed: float | None, theme: str | None) -> list[str]:
    """``maker replay``, opening on the step before ``first`` decided and ending on ``last``."""
    at = ["--at", str(first - 1)] if first > 1 else []  # step 1 opens undecided: its race is shown too
    return [sys.executable, "-m", "tui", "replay", str(file), *at, "--until", str(last), "--playing",
            "--speed", "full" if speed is None else f"{speed:g}", "--theme", theme or "maker-dark"]


def _take_terminal() -> None:
    """In the child, in its new session: the pseudo-terminal becomes its controlling terminal."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _record(command: list[str], size: tuple[int, int], quiet: float, stop: SignalStop) -> tuple[list[Event], int]:
    """Run ``command`` in a pseudo-terminal of ``size``: what it wrote, as events timed from its
    first byte (reads a few milliseconds apart make one), and its exit status. Silent for ``quiet``
    seconds, or on a signal, it is ended."""
    columns, rows = size
    env = {name: value for name, value in os.environ.items() if name not in HOST_TERMINAL}
    env.update(TERMINAL, COLUMNS=str(columns), LINES=str(rows))
    master, slave = os.openpty()
    try:
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        child = subprocess.Popen(command, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True,
                                 preexec_fn=_take_terminal)  # noqa: PLW1509 (one ioctl, no lock taken)
    except BaseException:
        os.close(master)
        raise
    finally:
        os.close(slave)
    events: list[Event] = []
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")  # a character may span two reads
    start, heard = None, time.monotonic()
    try:
        while stop.signum is None:
            if time.monotonic() - heard > quiet:
                raise TimeoutError(f"the replay wrote nothing for {quiet:g} s")
            if not select.select([master], [], [], 0.2)[0]:
                continue
            heard = time.monotonic()
            try:
                data = os.read(master, 65536)
            except OSError as exc:
                if exc.errno != errno.EIO:  # EIO: the child and its terminal are gone
                    raise
                data = b""
            now = time.monotonic()
            start = start or now
            if text := decoder.decode(data, final=not data):
                if events and now - start - events[-1][0] < COALESCE_S:
                    events[-1] = (events[-1][0], events[-1][1] + text)
                else:
                    events.append((now - start, text))
            if not data:
                break
        if stop.signum is None:
            with contextlib.suppress(subprocess.TimeoutExpired):  # past it, the child is ended below
                child.wait(timeout=quiet)
    finally:
        _end(child)
        os.close(master)
    return events, child.returncode


def _end(child: subprocess.Popen[bytes]) -> None:
    """Stop the replay, if it still runs, and what it started: a hang-up as a closed terminal sends,
    then a kill."""
    for signum in (signal.SIGHUP, signal.SIGKILL):
        if child.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(child.pid, signum)
            child.wait(timeout=3)


def _failed(status: int, events: list[Event]) -> int:
    """One line for a replay that failed: its last line of text, if it wrote one."""
    lines = [line.strip() for line in ESCAPE.sub("", "".join(text for _, text in events)).splitlines()]
    said = next((line for line in reversed(lines) if line), "").removeprefix("maker: error: ")
    if status == EXIT_USAGE:
        raise UsageError(said or "maker replay refused the recording")
    how = "drew nothing" if status == 0 else f"exit status {status}" if status > 0 else f"signal {-status}"
    say(f"maker: error: the replay failed ({how}){': ' + said if said else ''}; no cast written", stream=sys.stderr)
    return EXIT_INTERNAL
