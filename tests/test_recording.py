"""Recordings: every sample kept, crash-safe resume, replay, re-vote, export, and bad files."""

import asyncio
import contextlib
import hashlib
import io
import json
import os
import random
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.models.sim import SimConfig, SimulatedLLM
from engine.recording.codec import encode_step
from engine.recording.export import write_jsonl
from engine.recording.format import RecordingError
from engine.recording.reader import Recording
from engine.recording.revote import revote
from engine.run.config import RunConfig
from engine.run.events import SampleCancelled, SampleReceived, SampleRedFlagged, StepDecided, StepStarted
from engine.run.session import new_session, resume_session
from engine.task.hanoi import total_steps

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "recordings" / "demo-10.maker"


def maker(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "engine.cli", *args], capture_output=True, text=True, cwd=ROOT, **kwargs)


def record_run(path, disks=7, k=3, events=None, keep_text=False, run_options=None, **sim_options):
    sim_options.setdefault("seed", 3)
    session = new_session(
        RunConfig(disks=disks, k=k, **(run_options or {})), SimulatedLLM(SimConfig(**sim_options)), None,
        record=path, keep_text=keep_text,
    )
    if events is not None:
        session.runner.subscribe(events.append, samples=True)
    return asyncio.run(session.run())


def test_a_recording_holds_every_sample_in_arrival_order(tmp_path):
    events = []
    path = tmp_path / "run.maker"
    summary = record_run(path, disks=7, events=events, error_rate=0.15, keep_text=True)
    with Recording.open(path) as recording:
        assert len(recording) == summary.steps == 127 and recording.complete
        steps = list(recording)
    assert [record.step for record in steps] == list(range(1, 128))
    started = {e.step: e for e in events if isinstance(e, StepStarted)}
    decided = {e.step: e for e in events if isinstance(e, StepDecided)}
    samples_by_step = {}
    for e in events:
        if isinstance(e, (SampleReceived, SampleRedFlagged, SampleCancelled)):
            samples_by_step.setdefault(e.step, []).append(e)
    for record in steps:
        assert record.state == started[record.step].state
        assert record.previous_move == started[record.step].previous_move
        assert record.answer == decided[record.step].answer and record.correct
        live = samples_by_step[record.step]
        assert len(record.samples) == len(live)
        for kept, event in zip(record.samples, live, strict=True):
            assert kept.temperature == event.temperature
            assert kept.tokens_out == event.completion.tokens_out
            assert kept.tokens_in == event.completion.tokens_in
            assert kept.text == event.completion.text
            if isinstance(event, SampleReceived):
                assert kept.answer == event.answer and kept.red_flag is None
            else:
                assert kept.answer is None and kept.red_flag == event.reason
                assert kept.cut == (event.completion.finish_reason == "length")


def test_the_recorders_shortcut_for_plain_steps_writes_what_encode_step_writes(tmp_path):
    # The recorder packs unanimous, flag-free steps itself; every byte must match the general path.
    path = tmp_path / "run.maker"
    decided = []
    session = new_session(RunConfig(disks=9, k=3), SimulatedLLM(SimConfig(seed=5, error_rate=0.05)), None, record=path)
    session.runner.subscribe_decisions(lambda event: decided.append(event) if isinstance(event, StepDecided) else None)
    asyncio.run(session.run())
    expected = b"".join(
        encode_step(event.state, event.answer, event.correct, event.samples, False, [])[0] for event in decided
    )
    plain = sum(1 for event in decided if event.winner_votes == event.votes and not event.red_flags)
    assert 0 < plain < len(decided) == 511  # both paths ran
    with sqlite3.connect(path) as connection:
        written = b"".join(row[0] for row in connection.execute("SELECT steps FROM blocks ORDER BY first_step"))
    assert written == expected


def test_totals_of_a_recording_match_the_run(tmp_path):
    path = tmp_path / "run.maker"
    summary = record_run(path, disks=9, error_rate=0.1)
    result = maker("info", str(path), "--json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    for key in ("disks", "k", "errors", "samples", "red_flags", "cancelled", "tokens_in", "tokens_out"):
        assert info[key] == getattr(summary, key), key
    assert info["steps_recorded"] == info["total_steps"] == 511 and info["complete"] is True
    assert info["model"] == "sim" and info["cost_usd"] is None


def test_seek_matches_iteration_and_is_bounded_by_the_recording():
    with Recording.open(DEMO) as recording:
        everything = list(recording)
        rng = random.Random(5)
        for step in rng.sample(range(1, len(recording) + 1), 40) + [1, len(recording)]:
            assert recording.seek(step) == everything[step - 1]
        with pytest.raises(RecordingError):
            recording.seek(len(recording) + 1)
        assert recording.position_before(len(recording) + 1).state == ((), (), tuple(range(10, 0, -1)))


def _tables(path):
    """Every row a recording holds, but for the time it was made."""
    with sqlite3.connect(path) as connection:
        tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        rows = {table: connection.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
                for table in ("blocks", "texts", "block_texts", "undecided") if table in tables}
        meta = json.loads(connection.execute("SELECT value FROM meta").fetchone()[0])
        rows["version"] = connection.execute("PRAGMA user_version").fetchone()
    connection.close()
    meta.pop("created_at")
    return rows, meta


def test_the_shipped_recording_is_what_the_engine_makes_from_its_seed(tmp_path):
    fresh = tmp_path / "demo.maker"
    result = maker(
        "solve", "--headless", "--disks", "10", "--seed", "10", "--error-rate", "0.02", "--hard-steps", "100,300,700",
        "--hard-error-rate", "0.5", "--keep-text", "--record", str(fresh), "--json",
    )
    assert result.returncode == 0, result.stderr
    # Byte for byte, block totals included: a replay's forecast reads them.
    assert _tables(DEMO) == _tables(fresh)
    shipped, made = io.StringIO(), io.StringIO()
    with Recording.open(DEMO) as recording:
        write_jsonl(recording, shipped)
        assert recording.meta.keep_text
    with Recording.open(fresh) as recording:
        write_jsonl(recording, made)
    assert shipped.getvalue() == made.getvalue()
    assert DEMO.stat().st_size <= 2 * 1024 * 1024
    assert max(len(json.loads(line)["samples"]) for line in shipped.getvalue().splitlines()) >= 10


def test_revote_at_the_recorded_k_reproduces_the_run_and_other_ks_differ():
    with Recording.open(DEMO) as recording:
        totals = recording.totals()
        same = revote(recording, 3)
        assert same.decided_same == len(recording) and same.needs_undrawn_samples == 0
        assert same.votes == totals.samples and same.decided_differently == 0
        one = revote(recording, 1)
        assert one.votes == len(recording) and one.needs_undrawn_samples == 0
        assert one.decided_same + one.decided_differently == len(recording)
        more = revote(recording, 4)
        assert more.needs_undrawn_samples == len(recording)


def test_revote_with_a_lower_token_limit_flags_long_replies():
    with Recording.open(DEMO) as recording:
        strict = revote(recording, 3, max_tokens=40)
        assert strict.red_flags > revote(recording, 3).red_flags
        assert strict.needs_undrawn_samples > 0


def test_export_writes_one_line_per_step(tmp_path):
    out = tmp_path / "demo.jsonl"
    result = maker("export", str(DEMO), "--jsonl", "--out", str(out))
    assert result.returncode == 0, result.stderr
    lines = out.read_text().splitlines()
    assert len(lines) == 1023
    first = json.loads(lines[0])
    assert first["step"] == 1 and first["previous_move"] is None and first["state"][0] == list(range(10, 0, -1))
    assert {"move", "next_state", "correct", "samples"} <= first.keys()
    assert maker("export", str(DEMO), "--jsonl", "--out", str(out)).returncode == 2  # never overwrites


def _step_lines(path):
    buffer = io.StringIO()
    with Recording.open(path) as recording:
        write_jsonl(recording, buffer)
    return buffer.getvalue().splitlines()


def durable_steps(path):
    """The last step committed to a recording being written (0 before the first commit)."""
    try:
        with contextlib.closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as connection:
            return connection.execute("SELECT COALESCE(MAX(last_step), 0) FROM blocks").fetchone()[0]
    except sqlite3.Error:
        return 0


def kill_once_durable(command, path, steps):
    """Start ``command`` (a recorded solve into ``path``) and SIGKILL it once ``steps`` steps are
    durable (or it ended, or two minutes went by)."""
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while durable_steps(path) < steps and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()


def test_kill_9_then_resume_keeps_every_step_exactly_once(tmp_path):
    """A 16-disk recorded run is killed with SIGKILL once 8,000 steps are durable, then resumed."""
    path = tmp_path / "crash.maker"
    kill_once_durable([sys.executable, "-m", "engine.cli", "solve", "--headless", "--disks", "16", "--seed", "4",
                       "--error-rate", "0.01", "--record", str(path), "--json"], path, 8_000)
    with Recording.open(path) as recording:
        decided_before = len(recording)
        assert 0 < decided_before < total_steps(16)
    before = _step_lines(path)
    result = maker("resume", str(path), "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["solved"] and summary["errors"] == 0 and summary["steps"] == total_steps(16)
    after = _step_lines(path)
    assert [json.loads(line)["step"] for line in after] == list(range(1, total_steps(16) + 1))
    assert after[:decided_before] == before
    info = json.loads(maker("info", str(path), "--json").stdout)
    assert info["complete"] and info["errors"] == 0 and info["steps_recorded"] == 65535


def test_resume_with_another_k_records_where_k_changed(tmp_path):
    path = tmp_path / "stop.maker"
    session = new_session(RunConfig(disks=8, k=3), SimulatedLLM(SimConfig(seed=2, error_rate=0.05)), None, record=path)
    session.runner.subscribe(
        lambda event: session.control.stop() if isinstance(event, StepDecided) and event.step == 60 else None
    )
    stopped = asyncio.run(session.run())
    assert stopped.stopped == "stopped" and stopped.steps == 60
    with Recording.open(path) as recording:
        assert len(recording) == 60 and recording.meta.last_stop == "stopped"
    summary = asyncio.run(resume_session(path, k=4).run())
    assert summary.steps == 255 and summary.solved and summary.k == 4
    with Recording.open(path) as recording:
        assert recording.meta.k_segments == [(1, 3), (61, 4)]
        assert recording.seek(61).k == 4 and recording.seek(60).k == 3
        assert len(list(recording)) == 255  # every step's votes still decide it under its own k


def test_an_undecided_step_keeps_its_samples_and_resume_samples_it_again(tmp_path):
    path = tmp_path / "undecided.maker"
    summary = record_run(path, disks=6, k=5, error_rate=0.0, hard_steps=(20,), hard_error_rate=0.9,
                         error_kinds={"wrong_state": 1.0}, seed=0)
    assert summary.stopped == "undecided"
    with Recording.open(path) as recording:
        assert len(recording) == 19
        (attempt,) = recording.undecided()
        assert attempt.step == 20 and len(attempt.samples) == 50
        assert recording.totals().tokens_in == summary.tokens_in
    result = maker("resume", str(path), "--k", "1", "--json")
    assert result.returncode in (0, 1), result.stderr
    with Recording.open(path) as recording:
        assert len(recording) == total_steps(6) and len(recording.undecided()) == 1


def test_recording_to_an_existing_file_is_refused_and_the_file_untouched(tmp_path):
    path = tmp_path / "keep.maker"
    shutil.copy(DEMO, path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    result = maker("solve", "--headless", "--disks", "3", "--record", str(path))
    assert result.returncode == 2 and "already exists" in result.stderr
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest


def test_a_second_writer_is_refused(tmp_path):
    path = tmp_path / "busy.maker"
    session = new_session(RunConfig(disks=4), SimulatedLLM(), None, record=path)
    try:
        with pytest.raises(RecordingError, match="another maker process"):
            resume_session(path)
    finally:
        session.close()


def _bad_files(tmp_path):
    random_bytes = tmp_path / "random.maker"
    random_bytes.write_bytes(os.urandom(5000))
    other = tmp_path / "other.maker"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE notes (text TEXT)")
    newer = tmp_path / "newer.maker"
    shutil.copy(DEMO, newer)
    with sqlite3.connect(newer) as connection:
        connection.execute("PRAGMA user_version = 99")
    connection.close()
    cut = tmp_path / "cut.maker"
    data = DEMO.read_bytes()
    cut.write_bytes(data[: len(data) // 2 + 100])
    page_cut = tmp_path / "page-cut.maker"
    page_cut.write_bytes(data[: (len(data) // 2) // 4096 * 4096])
    contradicting = tmp_path / "contradicting.maker"
    shutil.copy(DEMO, contradicting)
    with sqlite3.connect(contradicting) as connection:
        first, blob = connection.execute("SELECT first_step, steps FROM blocks ORDER BY first_step LIMIT 1").fetchone()
        flags, n, move, tokens_in, tokens_out = struct.unpack_from("<BHHII", blob)
        forged = struct.pack("<BHHII", flags, n + 2, move, tokens_in, tokens_out) + blob[13:]
        connection.execute("UPDATE blocks SET steps = ? WHERE first_step = ?", (forged, first))
    connection.close()
    scrambled = tmp_path / "scrambled.maker"
    scrambled.write_bytes(_scrambled(_eight_disks(tmp_path), seed=0))
    return {
        "scrambled": (scrambled, "damaged"),
        "missing": (tmp_path / "missing.maker", "no such file"),
        "random": (random_bytes, "not an SQLite database"),
        "other": (other, "another program"),
        "newer": (newer, "newer"),
        "cut": (cut, "truncated"),
        "page-cut": (page_cut, "truncated"),
        "contradicting": (contradicting, "contradict"),
    }


def _eight_disks(tmp_path):
    """A valid, complete 8-disk recording's bytes (made once per test)."""
    path = tmp_path / "eight.maker"
    if not path.exists():
        record_run(path, disks=8, seed=1, error_rate=0.05)
    return path.read_bytes()


def _scrambled(data, seed):
    """``data`` with 200 random bytes overwritten somewhere after its first 100."""
    rng = random.Random(seed)
    damaged = bytearray(data)
    for _ in range(200):
        damaged[rng.randrange(100, len(damaged))] = rng.randrange(256)
    return bytes(damaged)


KINDS = ["scrambled", "missing", "random", "other", "newer", "cut", "page-cut", "contradicting"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("command", [["export", "--jsonl"], ["revote", "--k", "2"], ["resume"]])
def test_bad_files_get_one_line_exit_2_and_stay_unchanged(tmp_path, kind, command):
    path, reason = _bad_files(tmp_path)[kind]
    before = hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None
    siblings = sorted(p.name for p in tmp_path.iterdir())
    result = maker(command[0], str(path), *command[1:])
    assert result.returncode == 2, (result.stdout[-300:], result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("maker: error:") and reason in lines[0], result.stderr
    after = hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == siblings


@pytest.mark.parametrize("kind", ["scrambled", "missing", "random", "other", "newer", "cut", "page-cut"])
def test_info_on_bad_files_is_one_line_exit_2(tmp_path, kind):
    path, reason = _bad_files(tmp_path)[kind]
    result = maker("info", str(path))
    assert result.returncode == 2 and reason in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_any_scrambled_recording_gets_one_line_and_is_never_changed(tmp_path):
    """Wherever the damage lands: a clear line and exit 2, or (when it hit unused space) a normal
    answer; never a traceback, and a damaged file is never written to."""
    refused = 0
    for seed in range(1, 13):
        path = tmp_path / f"damaged-{seed}.maker"
        path.write_bytes(_scrambled(_eight_disks(tmp_path), seed))
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        for command in (["info"], ["export", "--jsonl"], ["revote", "--k", "1-3"], ["resume"]):
            result = maker(command[0], str(path), *command[1:])
            assert "Traceback" not in result.stderr, result.stderr
            if command == ["resume"] and result.returncode in (0, 1):
                break  # the damage spared everything: the file was a valid, unfinished recording
            assert result.returncode in (0, 2), (seed, command, result.stderr)
            if result.returncode == 2:
                lines = result.stderr.strip().splitlines()
                assert len(lines) == 1 and lines[0].startswith("maker: error:"), result.stderr
                refused += 1
            assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, (seed, command)
    assert refused >= 24  # most of the 48 answers met the damage: the loop above tested something


def test_a_recordings_side_files_are_never_committed(tmp_path):
    """SQLite writes FILE-wal and FILE-shm beside a recording while it is written (and FILE-journal
    without WAL); git must ignore them, and only them."""
    path = tmp_path / "side.maker"
    session = new_session(RunConfig(disks=3), SimulatedLLM(), None, record=path)
    side = sorted(p.name.removeprefix("side") for p in tmp_path.iterdir() if p.name != "side.maker")
    session.close()
    assert side == [".maker-shm", ".maker-wal"]
    names = ["recordings/run.maker-wal", "recordings/run.maker-shm", "recordings/run.maker-journal"]
    result = subprocess.run(["git", "check-ignore", "--no-index", *names], cwd=ROOT, capture_output=True, text=True)
    if result.returncode == 128:
        pytest.skip("not a git checkout")
    assert result.stdout.split() == names
    assert subprocess.run(["git", "check-ignore", "--no-index", "-q", "recordings/run.maker"], cwd=ROOT).returncode == 1
