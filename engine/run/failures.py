"""How a run fails: each cause stops it with its own reason and a message that says what happened.

A model's fault (:class:`SamplerFailed`) is the model's; a listener's exception
(:class:`ListenerFailed`) is a bug unless it is a :class:`StopRun`, by which a listener such as the
recorder stops the run with a reason of its own. A bug's traceback goes to a log file that the
message names (:func:`write_crash_log`), never to the screen.
"""

from __future__ import annotations

import os
import time
import traceback
from pathlib import Path

from engine.paths import logs_dir
from engine.run.config import StopReason


class StopRun(Exception):
    """Raised by a listener to end the run cleanly with ``reason`` (the recorder: disk full)."""

    reason: StopReason = "internal_error"


class SamplerFailed(Exception):
    """The model raised while the run asked it for a reply; ``__cause__`` is what it raised."""


class ListenerFailed(Exception):
    """A listener raised while handling an event; ``__cause__`` is what it raised."""


def write_crash_log(exc: BaseException, context: str) -> Path | None:
    """Write ``exc``'s traceback to a new file in :func:`~engine.paths.logs_dir`; None when even that fails."""
    folder = logs_dir()
    path = folder / f"crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(f"maker: {context}\n\n")
            handle.writelines(traceback.format_exception(exc))
    except OSError:
        return None
    return path


def brief(exc: BaseException) -> str:
    """An exception in a few words: its message, or its type when it has none."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
