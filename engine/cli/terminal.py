"""A run stopped by a signal, and lines written to a terminal that may be gone.

Ctrl-C, SIGTERM (a kill) and SIGHUP (a closed terminal) stop a run as ``q`` does, headless and in
the TUI (:class:`SignalStop`); the command then exits with 128 + the signal's number. After a
SIGHUP the terminal is gone and every write to it fails: :func:`say` falls back to stderr, then to
nothing, and never lets a dead stream change how the command ends.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from types import FrameType
from typing import IO, Any, Self

from engine.run.control import STOP_SIGNALS, RunControl

SIGNAL_EXIT_BASE = 128
"""A run a signal stopped exits with 128 + the signal's number, as the shell reports a process the
signal killed: scripts and supervisors can tell a Ctrl-C (130) from a kill (143) or a hang-up (129)."""


def signal_exit_status(signum: int) -> int:
    """What a command exits with when a signal stopped it: 128 + the signal's number."""
    return SIGNAL_EXIT_BASE + signum


def left_to_nohup(signum: int) -> bool:
    """Whether ``signum`` is a hang-up that ``nohup`` told this process to ignore, so that a long
    run outlives its terminal: it stays ignored. (Only SIGHUP: a shell starts background jobs with
    Ctrl-C ignored too, and a deliberate SIGINT or SIGTERM must still stop them.)"""
    return signum == getattr(signal, "SIGHUP", None) and signal.getsignal(signum) is signal.SIG_IGN


class SignalStop:
    """From the main thread, while it is entered: the first Ctrl-C, SIGTERM (a kill) or SIGHUP (a
    closed terminal) stops the run at once, cancelling the requests in flight; a second Ctrl-C
    aborts, until the recording starts closing (:meth:`closing`). A repeated SIGTERM or SIGHUP does
    nothing more: a closed terminal often sends two SIGHUPs (the shell's and then the kernel's), and
    the stop is already under way. A hang-up that ``nohup`` ignores stays ignored."""

    def __init__(self, control: RunControl | None, ctrl_c: bool = True) -> None:
        self.control = control
        self.signum: int | None = None
        """The signal that stopped the run; None while none has."""
        self._signals = ((signal.SIGINT,) if ctrl_c else ()) + STOP_SIGNALS
        self._previous: dict[int, Any] = {}
        self._closing = False

    def __enter__(self) -> Self:
        for signum in self._signals:
            if left_to_nohup(signum):
                continue
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def closing(self) -> None:
        """The run has ended and its recording is closing: no signal may cut that short now (a
        second Ctrl-C would otherwise abort it halfway)."""
        self._closing = True

    def __exit__(self, *exc_info: object) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, signal.SIG_DFL if previous is None else previous)
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self._closing:
            return
        if self.signum is not None:
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            return
        self.signum = signum
        if self.control is not None:
            self.control.stop()


def say(text: str, stream: IO[str] | None = None, fallback: bool = True) -> None:
    """Print a line to ``stream`` (stdout by default). A terminal that a SIGHUP took away fails every
    write (EIO): the line then goes to stderr (unless ``fallback`` is off or it was stderr already),
    and when that fails too it is dropped. A dead stream is pointed at /dev/null, so that the
    interpreter's flush at exit does not fail and change the exit status."""
    streams = [stream or sys.stdout]
    if fallback and streams[0] is not sys.stderr:
        streams.append(sys.stderr)
    for target in streams:
        try:
            print(text, file=target, flush=True)
            return
        except OSError:
            discard(target)


def discard(stream: IO[str]) -> None:
    """Point a stream whose terminal is gone at /dev/null; what it still buffers goes there too."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, stream.fileno())
        finally:
            os.close(devnull)
