"""Opening a recording for writing: a new file gets its schema first, an old one its log mode."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from engine.recording.files import remove_empty
from engine.recording.format import APPLICATION_ID, SCHEMA, SCHEMA_VERSION, RecordingError, check_file


def open_for_writing(path: Path, create: bool, on_failure: Callable[[], object] | None = None) -> sqlite3.Connection:
    """A connection in WAL mode; a new file gets its schema and maker's marks first, written
    straight into the main file so that even a crashed recording's header says what it is."""
    if create:
        if path.exists():
            try:
                check_file(path)
            except RecordingError:
                raise RecordingError(f"{path} already exists and is not a maker recording: choose another name") from None
            raise RecordingError(f"{path} already exists: resume it with 'maker resume {path}' or choose another name")
        if not path.parent.is_dir():
            raise RecordingError(f"cannot create {path}: no directory {path.parent}")
    connection = None
    try:
        connection = sqlite3.connect(path, check_same_thread=False)
        if create:
            connection.executescript(SCHEMA)
            connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            connection.commit()
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")
        return connection
    except (sqlite3.Error, ValueError) as exc:
        if connection is not None:
            connection.close()
        if on_failure is not None:
            on_failure()
        if create:  # a file begun and not finished holds no step: leave nothing behind
            remove_empty(path)
        raise RecordingError(f"cannot open {path} for writing: {exc}") from None
