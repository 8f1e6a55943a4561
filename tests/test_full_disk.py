"""A recording on a small disk, a full one, a read-only one: what a recording says is saved can
always be opened, a recording that never got going leaves nothing in the way, and a read-only
one can be inspected but not resumed. On a tmpfs of 2 MB mounted for the test (root only)."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from engine.recording.reader import Recording
from engine.view.replay import ReplayCursor
from tests.test_openai import maker


@pytest.fixture
def disk(tmp_path):
    """A 2 MB tmpfs, unmounted afterwards; skips where this user cannot mount one."""
    where = tmp_path / "disk"
    where.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(where)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({mounted.stderr.strip() or 'mount failed'}): needs root")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def fill(disk: Path, leave_kb: int) -> Path:
    """A file that leaves about ``leave_kb`` KiB free on ``disk``."""
    free = shutil.disk_usage(disk).free
    filler = disk / "filler"
    filler.write_bytes(b"\0" * max(0, free - leave_kb * 1024))
    return filler


def info(path: Path) -> dict:
    result = maker("info", str(path), "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_disk_that_fills_during_a_run_keeps_every_step_it_said_was_saved(disk):
    record = disk / "run.maker"
    filler = fill(disk, leave_kb=480)
    stopped = maker("solve", "--headless", "--disks", "16", "--record", str(record), "--json")
    assert stopped.returncode == 1, stopped.stderr
    summary = json.loads(stopped.stdout)
    assert summary["stopped"] == "recording_error" and "disk is full" in summary["message"]
    saved = int(summary["message"].split("steps 1 to ")[1].split(" are saved")[0].replace(",", ""))
    assert 0 < saved < summary["steps"]
    # Before: "truncated (20,480 bytes, the header promises ...)": the steps were in the log.
    facts = info(record)
    assert facts["steps_recorded"] == saved and facts["last_stop"] == "recording_error"
    filler.unlink()  # space again
    resumed = maker("resume", str(record), "--headless", "--json")
    assert resumed.returncode == 0, resumed.stderr
    final = json.loads(resumed.stdout)
    assert final["solved"] and final["errors"] == 0 and final["steps"] == 65_535
    assert info(record)["complete"]


@pytest.mark.parametrize("leave_kb", [0, 8])
def test_a_recording_that_cannot_get_going_leaves_nothing_in_the_way(disk, leave_kb):
    record = disk / "run.maker"
    filler = fill(disk, leave_kb=leave_kb)
    failed = maker("solve", "--headless", "--disks", "6", "--record", str(record), "--json")
    assert failed.returncode in (1, 2) and "internal error" not in failed.stderr, failed.stderr
    assert "Traceback" not in failed.stderr
    if failed.returncode == 2:
        assert failed.stderr.count("\n") == 1 and "cannot" in failed.stderr
        assert not record.exists()  # before: a stub that 'solve' said to resume and 'resume' refused
    filler.unlink()
    again = maker("solve", "--headless", "--disks", "6", "--record", str(record), "--json")
    if failed.returncode == 1:  # it got as far as its metadata: a recording to resume, then
        assert again.returncode == 2 and "resume it" in again.stderr
        again = maker("resume", str(record), "--headless", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["solved"] and info(record)["complete"]


def test_an_empty_file_where_a_recording_goes_is_taken_for_what_it_is(tmp_path):
    record = tmp_path / "run.maker"
    record.write_bytes(b"")  # what a disk with no room left once made of a new recording
    made = maker("solve", "--headless", "--disks", "4", "--record", str(record), "--json")
    assert made.returncode == 0, made.stderr
    assert info(record)["complete"]


def test_a_read_only_recording_is_inspected_and_exported_but_not_resumed(disk, tmp_path):
    record = disk / "run.maker"
    stopped = maker("solve", "--headless", "--disks", "8", "--record", str(record), "--budget-usd", "0.05", "--json")
    assert stopped.returncode == 1 and json.loads(stopped.stdout)["stopped"] == "budget"
    steps = json.loads(stopped.stdout)["steps"]
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
    assert info(record)["steps_recorded"] == steps
    exported = maker("export", str(record), "--jsonl")
    assert exported.returncode == 0 and len(exported.stdout.splitlines()) == steps
    with Recording.open(record) as recording:  # what a replay reads
        cursor = ReplayCursor(recording)
        cursor.seek(steps)
        assert cursor.record.step == steps
    resumed = maker("resume", str(record), "--headless")
    assert resumed.returncode == 2 and resumed.stderr.count("\n") == 1, resumed.stderr
    assert "cannot be written where it is" in resumed.stderr and "copy it somewhere writable" in resumed.stderr


def test_a_copy_with_its_log_and_without_its_shared_memory_opens_on_a_read_only_disk(disk, tmp_path):
    """A run cut short leaves its steps in the log (-wal) beside the file: a copy of the two opens
    where nothing can be written, though SQLite would want to make its -shm there."""
    full = tmp_path / "full"
    full.mkdir()
    record = disk / "run.maker"
    filler = fill(disk, leave_kb=480)
    stopped = maker("solve", "--headless", "--disks", "16", "--record", str(record), "--json")
    assert stopped.returncode == 1
    saved = info(record)["steps_recorded"]
    assert Path(f"{record}-wal").exists()
    filler.unlink()
    for leftover in disk.glob("run.maker-shm"):
        leftover.unlink()
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
    facts = info(record)  # before: "damaged"
    assert facts["steps_recorded"] == saved > 0 and not facts["being_written"]
