"""Kept reply texts: a block's texts stored together, every sample's text back as it came, files of
the schemas before 4 still read and resumed, and damaged texts refused with a clear line."""

import asyncio
import contextlib
import hashlib
import shutil
import sqlite3
import struct
import time
import zlib

import pytest

from engine.cli.main import build_parser
from engine.models.sim import SIM_MODEL, SimConfig, SimulatedLLM
from engine.recording.codec import ALL_TEXT, ARRIVED, FIRST_TEMPERATURE, HEADER, PLAIN, TEXT, decode_record
from engine.recording.format import RecordingError, recording_meta
from engine.recording.reader import Recording
from engine.recording.texts import BlockTexts, TextsError, unpack
from engine.recording.writer import Recorder
from engine.run.config import Checkpoint, RunConfig
from engine.run.events import StepDecided, StepUndecided
from engine.run.session import new_session, resume_session
from engine.task.hanoi import total_steps
from engine.task.parser import Answer, RedFlag
from tests.test_recording import DEMO, maker

#: Red flags and minority votes, and plain steps between them.
PLAIN_AND_RARE = (SimConfig(seed=7, error_rate=0.15), {})
#: More samples launched than k: the ones not needed are cancelled, some after their reply came.
CANCELLING = (SimConfig(seed=7, error_rate=0.15, latency_s=0.0004, latency_spread=1.0), {"parallel": 5})


def run(path, sim, run_options=None, disks=9, keep_text=True, stop_at=None):
    """Record a run; the decided steps' events, by step."""
    decided = {}
    session = new_session(RunConfig(disks=disks, k=3, **(run_options or {})), SimulatedLLM(sim), None,
                          record=path, keep_text=keep_text)

    def listen(event):
        if isinstance(event, StepDecided):
            decided[event.step] = event
            if event.step == stop_at:
                session.control.stop()

    session.runner.subscribe_decisions(listen)
    asyncio.run(session.run())
    return decided


def expected_texts(event, keep_text):
    """What the recording must give back for each of a step's samples, in arrival order."""
    texts = []
    for _, _, outcome, reply in event.samples:
        rare = outcome.__class__ is RedFlag or (outcome.__class__ is Answer and outcome != event.answer)
        texts.append(reply.text if reply is not None and (keep_text or rare) else None)
    return texts


def recorded_texts(recording):
    return {record.step: [sample.text for sample in record.samples] for record in recording}


@pytest.mark.parametrize("keep_text", [True, False])
@pytest.mark.parametrize(("sim", "options"), [PLAIN_AND_RARE, CANCELLING], ids=["plain-and-rare", "cancelling"])
def test_every_samples_text_comes_back(tmp_path, sim, options, keep_text):
    path = tmp_path / "run.maker"
    decided = run(path, sim, options, keep_text=keep_text)
    samples = [sample for event in decided.values() for sample in event.samples]
    if options:  # the kinds of sample this run is here for
        assert sum(1 for _, _, outcome, reply in samples if outcome is None and reply is not None) > 20
    else:
        plain = [e for e in decided.values() if not e.red_flags and all(s[3] is e.samples[0][3] for s in e.samples)]
        assert len(plain) > 20 and sum(1 for e in decided.values() if e.red_flags) > 5
    with Recording.open(path) as recording:
        recording.verify()
        texts = recorded_texts(recording)
        assert texts == {step: expected_texts(event, keep_text) for step, event in decided.items()}
        for step in (1, 77, 256, 257, total_steps(9)):
            assert [sample.text for sample in recording.seek(step).samples] == texts[step]
        assert [sample.text for record in recording.iter_from(250) for sample in record.samples] == [
            text for step in range(250, total_steps(9) + 1) for text in texts[step]]
    with contextlib.closing(sqlite3.connect(path)) as connection:
        assert connection.execute("SELECT COUNT(*) FROM texts").fetchone() == (0,)  # all in block_texts
        assert connection.execute("PRAGMA user_version").fetchone() == (4,)


def test_a_blocks_texts_keep_each_distinct_text_once_and_come_back():
    texts = BlockTexts()
    texts.add_plain(0, 3, "right")
    texts.add(1, [(0, "right"), (1, "right"), (2, "wrong"), (4, "right")])
    texts.add_plain(2, 5, "next ✓ \ud800")  # any text, even one a JSON body's escape left half a pair
    assert list(texts.ids) == ["right", "wrong", "next ✓ \ud800"]
    assert texts.refs == [(0, 0, 3, 0), (1, 0, 2, 0), (1, 2, 1, 1), (1, 4, 1, 0), (2, 0, 5, 2)]
    assert unpack(texts.pack(), 10, 12) == {
        10: {0: "right", 1: "right", 2: "right"},
        11: {0: "right", 1: "right", 2: "wrong", 4: "right"},
        12: dict.fromkeys(range(5), "next ✓ \ud800"),
    }
    assert unpack(BlockTexts().pack(), 1, 1) == {}
    rows = texts.legacy_rows(10)[:4]
    assert [(step, attempt, sample, zlib.decompress(text).decode()) for step, attempt, sample, text in rows] == [
        (10, 0, 0, "right"), (10, 0, 1, "right"), (10, 0, 2, "right"), (11, 0, 0, "right")]


def test_a_run_of_one_text_a_step_costs_little():
    """The simulated model's replies at 20 disks: well under the 150 bytes a step the format allows."""
    one_a_step = BlockTexts()
    for offset in range(256):
        one_a_step.add_plain(offset, 3, f"The previous move did not move disk 1, so disk 1 moves one peg clockwise.\n"
                                        f"```move = [1, {offset % 3}, {(offset + 1) % 3}]```\n```next_state = "
                                        f"[[20, 19, 18, 17, 16, 15, 14, {offset}], [{offset * 7 % 13}], []]```")
    assert len(one_a_step.pack()) / 256 < 20


@pytest.mark.parametrize("damage", [b"", b"not zlib", zlib.compress(b"\x05\x00\x00\x00\x01\x00\x00\x00"),
                                    zlib.compress(struct.pack("<II", 1, 1) + bytes(10) + struct.pack("<I", 5)),
                                    zlib.compress(struct.pack("<II", 1, 1) + struct.pack("<HHHiI", 3, 0, 1, 0, 2)
                                                  + b"ab")])
def test_damaged_texts_raise_a_texts_error(damage):
    with pytest.raises(TextsError):
        unpack(damage, 1, 2)


def _damage_texts(path, first_step, how):
    with contextlib.closing(sqlite3.connect(path)) as connection, connection:
        (blob,) = connection.execute("SELECT texts FROM block_texts WHERE first_step = ?", (first_step,)).fetchone()
        if how == "flip":
            blob = blob[:40] + bytes([blob[40] ^ 0x55]) + blob[41:]
            connection.execute("UPDATE block_texts SET texts = ? WHERE first_step = ?", (blob, first_step))
        elif how == "drop":
            connection.execute("DELETE FROM block_texts WHERE first_step = ?", (first_step,))
        elif how == "stray":
            connection.execute("INSERT INTO block_texts VALUES (5, ?)", (blob,))


@pytest.mark.parametrize(("how", "message"), [
    ("flip", "the kept texts of the block at step 257 are damaged"),
    ("drop", "the kept texts of step 257 are damaged (sample 1's text is missing)"),
    ("stray", "kept texts for a block at step 5, which is not recorded"),
])
def test_damaged_texts_are_damage_with_a_clear_line_and_the_file_is_left_alone(tmp_path, how, message):
    path = tmp_path / "damaged.maker"
    run(path, *PLAIN_AND_RARE, stop_at=400)
    _damage_texts(path, 257, how)
    with Recording.open(path) as recording:
        with pytest.raises(RecordingError, match=message.replace("(", r"\(").replace(")", r"\)")):
            recording.verify()
        if how == "flip":
            with pytest.raises(RecordingError, match="the kept texts of the block at step 257 are damaged"):
                recording.seek(300)
            assert recording.seek(256).samples  # the blocks around it read as ever
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    for command in (["resume"], ["export", "--jsonl"]) if how == "flip" else (["resume"],):
        result = maker(command[0], str(path), *command[1:])
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2 and len(lines) == 1 and message in lines[0], result.stderr
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest


def as_old_schema(path, schema):
    """Make a schema-4 recording what a maker of ``schema`` (1 to 3) wrote: every kept text one row
    a sample in ``texts``, and each plain step whose texts are kept a step with a code a sample."""
    with contextlib.closing(sqlite3.connect(path)) as connection, connection:
        spans = dict(connection.execute("SELECT first_step, last_step FROM blocks"))
        for first, blob in connection.execute("SELECT first_step, texts FROM block_texts").fetchall():
            for step, kept in unpack(blob, first, spans[first]).items():
                connection.executemany("INSERT INTO texts VALUES (?, 0, ?, ?)",
                                       [(step, sample, zlib.compress(text.encode())) for sample, text in kept.items()])
        for first, data in connection.execute("SELECT first_step, steps FROM blocks").fetchall():
            old, at = [], 0
            while at < len(data):
                start = at
                raw, at = decode_record(data, at)
                record = data[start:at]
                if raw.flags & ALL_TEXT:
                    flags, *fields = HEADER.unpack_from(record)
                    codes = [ARRIVED | TEXT | (FIRST_TEMPERATURE if i == 0 else 0) for i in range(len(raw.codes))]
                    record = (HEADER.pack(flags & ~(PLAIN | ALL_TEXT), *fields) + struct.pack(f"<{len(codes)}H", *codes)
                              + record[HEADER.size:])
                old.append(record)
            connection.execute("UPDATE blocks SET steps = ? WHERE first_step = ?", (b"".join(old), first))
        connection.execute("DROP TABLE block_texts")
        connection.execute(f"PRAGMA user_version = {schema}")


@pytest.mark.parametrize("schema", [1, 3])
def test_an_older_files_texts_are_read_and_a_resume_keeps_them_and_its_own(tmp_path, schema):
    whole, path = tmp_path / "whole.maker", tmp_path / "old.maker"
    decided = run(whole, *PLAIN_AND_RARE)
    with Recording.open(whole) as recording:
        expected = recorded_texts(recording)
    assert expected == {step: expected_texts(event, True) for step, event in decided.items()}
    run(path, *PLAIN_AND_RARE, stop_at=300)
    as_old_schema(path, schema)
    with Recording.open(path) as recording:
        assert recording.schema_version == schema and len(recording) == 300
        recording.verify()
        assert recorded_texts(recording) == {step: expected[step] for step in range(1, 301)}
    summary = asyncio.run(resume_session(path).run())
    assert summary.solved and summary.stopped != "recording_error", summary.message
    with Recording.open(path) as recording:
        recording.verify()
        assert recording.schema_version == (1 if schema == 1 else 4)  # a schema-1 file stays one
        assert recorded_texts(recording) == expected
    with contextlib.closing(sqlite3.connect(path)) as connection:
        rows = connection.execute("SELECT COUNT(*), MAX(step) FROM texts").fetchone()
        tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        steps = b"".join(data for (data,) in connection.execute("SELECT steps FROM blocks ORDER BY first_step"))
    if schema == 1:  # the old way all along: a row a text, no step marked ALL_TEXT
        assert "block_texts" not in tables and rows[1] == total_steps(9)
        at = 0
        while at < len(steps):
            raw, at = decode_record(steps, at)
            assert not raw.flags & ALL_TEXT
    else:  # the steps before the resume in texts, the rest in block_texts
        assert "block_texts" in tables and rows[1] == 300


def test_a_keep_text_run_resumed_keeps_every_text(tmp_path):
    whole, path = tmp_path / "whole.maker", tmp_path / "resumed.maker"
    run(whole, *PLAIN_AND_RARE)
    run(path, *PLAIN_AND_RARE, stop_at=300)
    with Recording.open(path) as recording:
        assert len(recording) == 300 and recording.meta.keep_text
    summary = asyncio.run(resume_session(path).run())
    assert summary.solved and summary.stopped != "recording_error", summary.message
    with Recording.open(whole) as one, Recording.open(path) as two:
        two.verify()
        assert recorded_texts(two) == recorded_texts(one)
        assert all(sample.text is not None for record in two for sample in record.samples)


def test_an_undecided_attempts_texts_are_kept(tmp_path):
    path = tmp_path / "undecided.maker"
    undecided = []
    session = new_session(RunConfig(disks=6, k=5), SimulatedLLM(SimConfig(
        seed=0, error_rate=0.0, hard_steps=(20,), hard_error_rate=0.9, error_kinds={"wrong_state": 1.0})), None,
        record=path, keep_text=True)
    session.runner.subscribe_decisions(lambda event: undecided.append(event) if isinstance(event, StepUndecided)
                                       else None)
    assert asyncio.run(session.run()).stopped == "undecided"
    with Recording.open(path) as recording:
        recording.verify()
        (attempt,) = recording.undecided()
    assert [sample.text for sample in attempt.samples] == [reply.text for *_, reply in undecided[0].samples]


class Served(SimulatedLLM):
    """The simulated model under another name: what a run takes for a served model."""

    def __init__(self):
        super().__init__(SimConfig(seed=1))
        self.name = "some-served-model"


@pytest.mark.parametrize(("sampler", "keep_text", "kept"), [
    (Served, None, True), (Served, False, False), (Served, True, True),
    (SimulatedLLM, None, False), (SimulatedLLM, True, True), (SimulatedLLM, False, False),
])
def test_a_served_models_run_keeps_every_text_unless_told_not_to(tmp_path, sampler, keep_text, kept):
    path = tmp_path / "run.maker"
    session = new_session(RunConfig(disks=3), sampler(), None, record=path, keep_text=keep_text)
    session.close()
    with Recording.open(path) as recording:
        assert recording.meta.keep_text is kept


def test_the_keep_text_option_is_on_off_or_the_models_default():
    parser = build_parser()
    assert parser.parse_args(["solve"]).keep_text is None
    assert parser.parse_args(["solve", "--keep-text"]).keep_text is True
    assert parser.parse_args(["solve", "--no-keep-text"]).keep_text is False
    result = maker("solve", "--help")
    assert "--no-keep-text" in result.stdout and "served model" in result.stdout


def test_a_shipped_recording_of_an_older_schema_reads_its_texts(tmp_path):
    """Whatever schema the shipped demo has, its texts are the run's (a fresh run's with its seed)."""
    demo = tmp_path / "demo.maker"
    shutil.copy(DEMO, demo)
    with Recording.open(demo) as recording:
        texts = [sample.text for record in recording for sample in record.samples]
    assert all(text is not None for text in texts) and len(texts) > 3000


def test_a_slow_runs_open_block_is_committed_as_it_grows_and_stays_one_block(tmp_path):
    """A step slower than the flush interval: the guard commits the open block so far, and each later
    commit replaces that row, so the block, and its texts compressed together, end as long as ever."""
    decided = run(tmp_path / "source.maker", *PLAIN_AND_RARE, disks=6)
    path = tmp_path / "slow.maker"
    config = RunConfig(disks=6, k=3)
    recorder = Recorder(path, recording_meta(config, SIM_MODEL, {}, pricing=None, keep_text=True),
                        Checkpoint.start(6), flush_interval_s=0.05)
    spans = []
    for step, event in decided.items():
        recorder.on_decision(event)
        if step in (10, 30):
            deadline = time.monotonic() + 10
            while durable(path) < step and time.monotonic() < deadline:
                time.sleep(0.01)
            spans.append(durable(path))
    recorder.close()
    assert spans == [10, 30]
    with contextlib.closing(sqlite3.connect(path)) as connection:
        assert connection.execute("SELECT first_step, last_step FROM blocks").fetchall() == [(1, total_steps(6))]
        assert connection.execute("SELECT first_step FROM block_texts").fetchall() == [(1,)]
    with Recording.open(path) as recording:
        recording.verify()
        assert recorded_texts(recording) == {step: expected_texts(event, True) for step, event in decided.items()}


def durable(path):
    """The last step committed to a recording being written, and its texts there too."""
    with contextlib.closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as connection:
        (last,) = connection.execute("SELECT COALESCE(MAX(last_step), 0) FROM blocks").fetchone()
        (texts,) = connection.execute("SELECT COUNT(*) FROM block_texts").fetchone()
    return last if texts else 0
