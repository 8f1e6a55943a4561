"""The file a recording lives in: its log, its writer's lock, whether it can be written here, and
the leftovers of a recording that never got going (which hold no step and may be replaced)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import sqlite3
import tempfile
from pathlib import Path
from typing import IO

from engine.recording.format import RecordingError, check_file


def has_wal(path: Path) -> bool:
    """Whether a recording has a write-ahead log beside it with something in it (a run that was
    cut short, or a close that ran out of space): it must stay with the file."""
    wal = Path(f"{path}-wal")
    return wal.is_file() and wal.stat().st_size > 0


def is_stub(path: Path) -> bool:
    """Whether ``path`` is what a recording left when it could not write its first page or its
    metadata (a full disk): an empty file, or one of maker's databases without its metadata.
    Such a file holds no step; a new recording may take its place."""
    path = Path(path)
    if not path.is_file() or has_wal(path):  # a log beside it may hold steps: never a stub
        return False
    if path.stat().st_size == 0:
        return True
    try:
        check_file(path)
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "meta" not in tables:
                return True
            return connection.execute("SELECT COUNT(*) FROM meta").fetchone()[0] == 0
        finally:
            connection.close()
    except (RecordingError, sqlite3.Error):
        return False


def remove_empty(path: Path) -> None:
    """Remove a recording that holds no step, with its log files."""
    for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        with contextlib.suppress(OSError):
            leftover.unlink()


def check_writable(path: Path) -> None:
    """Refuse in one line a recording that cannot be written where it is (a read-only mount, a
    file without write permission): it can be replayed, inspected and exported, not resumed."""
    if not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK | os.X_OK):
        raise RecordingError(f"{path} cannot be written where it is (a read-only place, or no permission): "
                             "it can be replayed, inspected and exported; to resume it, copy it somewhere writable")


def lock(path: Path) -> IO[bytes]:
    """An exclusive advisory lock on the recording: one writer at a time."""
    handle = open(path, "rb")  # noqa: SIM115 - held for the recorder's lifetime
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise RecordingError(f"{path} is being written by another maker process") from None
    return handle


def open_for_reading(path: Path) -> tuple[sqlite3.Connection, tempfile.TemporaryDirectory[str] | None]:
    """The file, read-only. Where nothing can be written (a read-only mount), SQLite cannot make
    the shared-memory file a log needs: a file without a log is read as it is (immutable); one
    with a log is read from a copy of both, made in a scratch folder."""
    try:
        return connect_read_only(path), None
    except RecordingError:
        if os.access(path.parent, os.W_OK):
            raise
    if not has_wal(path):
        return connect_read_only(path, immutable=True), None
    scratch = tempfile.TemporaryDirectory(prefix="maker-read-")
    copy = Path(scratch.name) / path.name
    try:
        shutil.copyfile(path, copy)
        shutil.copyfile(f"{path}-wal", f"{copy}-wal")
        connection = connect_read_only(copy)
    except (OSError, RecordingError) as exc:
        scratch.cleanup()
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise RecordingError(f"{path} is in a read-only place with its log ({path.name}-wal), so it is read "
                             f"from a copy, which could not be made in {tempfile.gettempdir()} ({why}); "
                             "set TMPDIR to a folder with room") from None
    return connection, scratch


def being_written(path: Path) -> bool:
    """Whether a maker process holds the file's writer lock now (a run under way)."""
    try:
        with open(path, "rb") as handle:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:  # a file system without locks (some network ones): nothing can be said
        return False
    return False


def connect_read_only(path: Path, immutable: bool = False) -> sqlite3.Connection:
    """Open with ``mode=ro``: no write can happen through this connection. Text comes back as
    bytes, so damaged text is reported by the decoders instead of failing inside sqlite3."""
    try:
        uri = f"{path.resolve().as_uri()}?mode=ro" + ("&immutable=1" if immutable else "")
        connection = sqlite3.connect(uri, uri=True, check_same_thread=False)
        connection.text_factory = bytes
        connection.execute("PRAGMA query_only = ON")
        connection.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        return connection
    except (sqlite3.Error, ValueError) as exc:  # ValueError: SQLite's own message about a damaged schema is not UTF-8
        raise RecordingError(f"{path}: damaged recording ({first_line(exc)})") from None


def missing_log(path: Path) -> str:
    """Why a recording has no metadata: a copy made without its log (a run that was cut short kept
    its steps there), or damage."""
    with open(path, "rb") as handle:
        header = handle.read(20)
    if header[18:20] == b"\x02\x02" and not has_wal(path):  # made in WAL mode, and no log beside it
        return f": its steps are in its log, {path.name}-wal, which is not beside it (copy the two together)"
    return " (a damaged recording)"


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
