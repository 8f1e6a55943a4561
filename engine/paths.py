"""Where maker keeps files of its own, by the XDG base directory conventions, and where the
recording it ships is."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

DEMO_NAME = "demo-10.maker"


def _xdg(variable: str, default: str) -> Path:
    return Path(os.environ.get(variable) or str(Path.home() / default)) / "maker"


def recordings_dir() -> Path:
    """Recordings the TUI makes on its own: ``$XDG_DATA_HOME/maker/runs`` (``~/.local/share/maker/runs``)."""
    return _xdg("XDG_DATA_HOME", ".local/share") / "runs"


def logs_dir() -> Path:
    """Logs (crashes, local servers): ``$XDG_STATE_HOME/maker/logs`` (``~/.local/state/maker/logs``)."""
    return _xdg("XDG_STATE_HOME", ".local/state") / "logs"


def demo_recording() -> Path:
    """The shipped 10-disk recording that ``maker demo`` loops: package data of ``recordings``, in
    a checkout as in an installed wheel. It is only ever read (read-only places are fine)."""
    return Path(str(resources.files("recordings").joinpath(DEMO_NAME)))
