"""Recordings: every sample of a run in a crash-safe SQLite file, for resume, replay and analysis.

Layout (schema version 1; ``PRAGMA application_id`` marks the file as maker's):

- ``meta``: the run's configuration and history as JSON (never an API key).
- ``blocks``: runs of consecutive decided steps. A block holds the state before its first step and
  the move before it, its own totals, and its steps' records back to back (see :func:`encode_step`).
  Seeking reads one block; resuming reads the last one.
- ``texts``: raw replies, zlib-compressed: red-flagged and minority samples, or all with keep_text.
- ``undecided``: the samples of steps that hit their cap, which a resumed run samples again.

A step's record packs its samples in arrival order: for each, the candidate it voted for (0 is the
winner) or its red flag, its temperature, whether it was cancelled or cut at the token limit, its
output tokens and latency; plus the winner's move, its state only when the move does not explain
it, the losing candidates, the audit verdict and the step's input tokens. A unanimous step whose
replies are one text (the common case) is 13 bytes.

The writer encodes steps in the engine's thread, seals a block every 256 steps and commits at least
twice a second; a guard thread commits for it while a slow step keeps it busy. A step is durable
once its block commits. Readers open the file read-only and never change it.
"""

from __future__ import annotations

import os
import sqlite3
import struct
import threading
import time
import zlib
from array import array
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engine.events import Event, RunFinished, StepDecided, StepSample, StepUndecided
from engine.hanoi import IllegalMove, Move, State, apply_move, start_state, total_steps
from engine.parser import Answer, RedFlag
from engine.runner import Checkpoint, RunConfig, RunStats
from engine.voting import VoteTally

APPLICATION_ID = 0x4D414B52  # "MAKR"
SCHEMA_VERSION = 1
BLOCK_STEPS = 256
FLUSH_INTERVAL_S = 0.5
SUFFIX = ".maker"

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE blocks (
    first_step INTEGER PRIMARY KEY,
    last_step INTEGER NOT NULL,
    state BLOB NOT NULL,
    previous_move INTEGER,
    totals TEXT NOT NULL,
    steps BLOB NOT NULL
);
CREATE TABLE texts (
    step INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    sample INTEGER NOT NULL,
    text BLOB NOT NULL,
    PRIMARY KEY (step, attempt, sample)
) WITHOUT ROWID;
CREATE TABLE undecided (
    attempt INTEGER PRIMARY KEY,
    step INTEGER NOT NULL,
    state BLOB NOT NULL,
    previous_move INTEGER,
    record BLOB NOT NULL
);
"""

# A sample's code: the candidate's index (0 is the step's winner) or the red flag's, and flags.
_INDEX_MASK = 0x3FF
_RED_FLAG = 1 << 10
_FIRST_TEMPERATURE = 1 << 11
_CANCELLED = 1 << 12
_CUT = 1 << 13
_TEXT = 1 << 14
_ARRIVED = 1 << 15  # a reply came back (and was paid for); unset for samples cancelled in flight
_REASONS = list(RedFlag)
_REASON_CODE = {reason: code for code, reason in enumerate(_REASONS)}

# A step record's flags.
_CORRECT = 1
_WITH_STATE = 2  # the winner's state is stored: its move does not explain it
_WITH_OTHERS = 4
_WITH_LATENCY = 8
_PLAIN = 16  # every sample a vote for the winner, none cut or with kept text: no codes stored
_UNIFORM_OUT = 32  # every sample the same output tokens: one count stored
_HEADER = struct.Struct("<BHHII")  # flags, samples, winner move, input tokens, uniform output tokens
_PEG_END = 0xFF
_PLAIN_HEADER = partial(_HEADER.pack, _CORRECT | _PLAIN | _UNIFORM_OUT)


class RecordingError(Exception):
    """A recording that cannot be used: missing, not maker's, newer, damaged or inconsistent."""


class RecordingMeta(BaseModel):
    """What a recording says about its run."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA_VERSION
    created_at: str
    run: RunConfig
    model: str
    base_url_host: str | None = None
    """Only the host of the server: a URL may carry credentials, a host does not."""
    sampler: dict[str, Any] = Field(default_factory=dict)
    """The simulated model's settings (seed included), or a real model's request options."""
    price_in: float | None = None
    price_out: float | None = None
    keep_text: bool = False
    k_segments: list[tuple[int, int]] = Field(default_factory=list)
    """(first step, k) for each stretch of the run; ``maker resume --k`` starts a new one."""
    last_stop: str | None = None
    last_message: str | None = None

    def k_at(self, step: int) -> int:
        """The k in force when ``step`` was decided."""
        k = self.run.k
        for first, segment_k in self.k_segments:
            if first <= step:
                k = segment_k
        return k


class SampleRecord(NamedTuple):
    """One recorded sample, in the order it arrived."""

    index: int
    temperature: float
    answer: Answer | None
    """The candidate it voted for; None when red-flagged or cancelled."""
    red_flag: RedFlag | None
    tokens_in: int
    tokens_out: int
    latency_s: float
    cancelled: bool
    cut: bool
    """The reply was cut at the token limit (finish reason ``length``)."""
    text: str | None


class StepRecord(NamedTuple):
    """One recorded step: what the agent was shown, its samples, and what was decided."""

    step: int
    state: State
    """The state before the step: the previous step's voted next_state."""
    previous_move: Move | None
    answer: Answer | None
    """The winner; for an undecided attempt, the candidate that led (None if nothing was valid)."""
    correct: bool
    k: int
    samples: tuple[SampleRecord, ...]


class Totals(BaseModel):
    """Counts over recorded steps."""

    steps: int = 0
    errors: int = 0
    first_error_step: int | None = None
    samples: int = 0
    """Valid votes of decided steps."""
    red_flags: dict[str, int] = Field(default_factory=lambda: {reason.value: 0 for reason in RedFlag})
    cancelled: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    steps_over_k: int = 0
    votes_histogram: dict[int, int] = Field(default_factory=dict)
    winner_votes: int = 0

    def add(self, other: Totals) -> None:
        """Add another stretch's counts (a later one) to these."""
        self.steps += other.steps
        self.errors += other.errors
        if self.first_error_step is None:
            self.first_error_step = other.first_error_step
        self.samples += other.samples
        for reason, count in other.red_flags.items():
            self.red_flags[reason] = self.red_flags.get(reason, 0) + count
        self.cancelled += other.cancelled
        self.tokens_in += other.tokens_in
        self.tokens_out += other.tokens_out
        self.steps_over_k += other.steps_over_k
        self.winner_votes += other.winner_votes
        for votes, count in other.votes_histogram.items():
            self.votes_histogram[votes] = self.votes_histogram.get(votes, 0) + count

    def add_step(self, step: int, correct: bool, k: int, samples: tuple[SampleRecord, ...]) -> None:
        """Count a decided step's samples in."""
        votes = self.add_samples(samples)
        self.steps += 1
        self.samples += votes
        winners = [sample.answer for sample in samples if sample.answer is not None]
        if winners:
            self.winner_votes += max(winners.count(answer) for answer in set(winners))
        self.votes_histogram[votes] = self.votes_histogram.get(votes, 0) + 1
        if votes > k:
            self.steps_over_k += 1
        if not correct:
            self.errors += 1
            if self.first_error_step is None:
                self.first_error_step = step

    def add_samples(self, samples: tuple[SampleRecord, ...]) -> int:
        """Count samples' tokens, red flags and cancellations in; returns their valid votes."""
        votes = 0
        for sample in samples:
            self.tokens_in += sample.tokens_in
            self.tokens_out += sample.tokens_out
            if sample.cancelled:
                self.cancelled += 1
            elif sample.red_flag is not None:
                self.red_flags[sample.red_flag.value] += 1
            else:
                votes += 1
        return votes

    def run_stats(self) -> RunStats:
        """These totals as the runner's counters, for a resumed run to go on from."""
        stats = RunStats()
        stats.steps, stats.errors, stats.first_error_step = self.steps, self.errors, self.first_error_step
        stats.samples, stats.cancelled = self.samples, self.cancelled
        stats.tokens_in, stats.tokens_out, stats.steps_over_k = self.tokens_in, self.tokens_out, self.steps_over_k
        stats.winner_votes = self.winner_votes
        for reason in RedFlag:
            stats.red_flags[reason] = self.red_flags.get(reason.value, 0)
        stats.votes_histogram.update(self.votes_histogram)
        return stats


# -- packing --------------------------------------------------------------------------------------


def pack_move(move: Move | None) -> int | None:
    return None if move is None else (move[0] << 4) | (move[1] << 2) | move[2]


def unpack_move(packed: int | None) -> Move | None:
    return None if packed is None else (packed >> 4, (packed >> 2) & 3, packed & 3)


def pack_state(state: State) -> bytes:
    return bytes([*state[0], _PEG_END, *state[1], _PEG_END, *state[2]])


def unpack_state(packed: bytes) -> State:
    first, second, third = packed.split(bytes([_PEG_END]))
    return (tuple(first), tuple(second), tuple(third))


def _follows(shown: State, answer: Answer) -> bool:
    """True when the answer's state is what its move makes of the shown state."""
    try:
        return apply_move(shown, answer.move) == answer.state
    except IllegalMove:
        return False


def _pack_answers(shown: State, answers: list[Answer]) -> bytes:
    """Candidates: move, then the state only when the move does not explain it."""
    out = bytearray()
    for answer in answers:
        if _follows(shown, answer):
            out += struct.pack("<HB", pack_move(answer.move), 0)
        else:
            packed = pack_state(answer.state)
            out += struct.pack("<HB", pack_move(answer.move), len(packed)) + packed
    return bytes(out)


def _unpack_answers(shown: State, packed: bytes) -> list[Answer]:
    answers: list[Answer] = []
    at = 0
    while at < len(packed):
        move_code, size = struct.unpack_from("<HB", packed, at)
        at += 3
        move = unpack_move(move_code)
        assert move is not None
        if size:
            state = unpack_state(packed[at : at + size])
            at += size
        else:
            state = apply_move(shown, move)
        answers.append(Answer(move, state))
    return answers


def encode_step(
    shown: State,
    winner: Answer | None,
    correct: bool,
    samples: tuple[StepSample, ...],
    keep_text: bool,
    texts: list[tuple[int, bytes]],
) -> tuple[bytes, int, int, int]:
    """Pack a step's samples (arrival order) into a record; appends (position, text) pairs to keep.

    Returns the record, the valid votes, and the input and output tokens.

    Layout: header ``<BHHII`` (flags, samples, winner move, input tokens, uniform output tokens),
    then unless ``_PLAIN`` a u16 code per sample, unless ``_UNIFORM_OUT`` a u32 output count per
    sample, with ``_WITH_LATENCY`` an f32 latency per sample, with ``_WITH_STATE`` the winner's
    state (u8 length, bytes), with ``_WITH_OTHERS`` the losing candidates (u16 length, bytes).
    """
    n = len(samples)
    move = pack_move(winner.move) if winner is not None else 0
    flags = _CORRECT if correct else 0
    # A correct winner's state is by definition what its move makes of the shown state.
    if winner is not None and not correct and not _follows(shown, winner):
        flags |= _WITH_STATE
    if n and not keep_text and samples[0][0] == 0:
        # The common step: every sample a vote for the winner, all one reply (one text).
        first = samples[0][3]
        plain = first is not None and not first.latency_s
        if plain:
            for _, _, outcome, completion in samples:
                if completion is not first or not (outcome is winner or outcome == winner):
                    plain = False
                    break
        if plain:
            tokens_in, tokens_out = first.tokens_in * n, first.tokens_out  # type: ignore[union-attr]
            record = _HEADER.pack(flags | _PLAIN | _UNIFORM_OUT, n, move, tokens_in, tokens_out)
            if flags & _WITH_STATE:
                packed = pack_state(winner.state)  # type: ignore[union-attr]
                record += bytes([len(packed)]) + packed
            return record, n, tokens_in, tokens_out * n
    codes = array("H")
    outs = array("I")
    latencies = array("f")
    others: dict[Answer, int] = {}
    tokens_in = votes = 0
    for position, (index, _, outcome, completion) in enumerate(samples):
        code = _FIRST_TEMPERATURE if index == 0 else 0
        keep = keep_text
        if outcome is None:
            code |= _CANCELLED
        elif outcome.__class__ is Answer:
            votes += 1
            if outcome is winner or outcome == winner:
                candidate = 0
            else:
                candidate = others.setdefault(outcome, len(others) + 1)  # type: ignore[arg-type]
                keep = True
            if candidate > _INDEX_MASK:
                raise RecordingError(f"more than {_INDEX_MASK} candidates in a step cannot be recorded")
            code |= candidate
        else:
            code |= _RED_FLAG | _REASON_CODE[outcome]  # type: ignore[index]
            keep = True
        if completion is None:
            outs.append(0)
            latencies.append(0.0)
        else:
            code |= _ARRIVED
            tokens_in += completion.tokens_in
            outs.append(completion.tokens_out)
            latencies.append(completion.latency_s)
            if completion.finish_reason == "length":
                code |= _CUT
            if keep:
                code |= _TEXT
                texts.append((position, zlib.compress(completion.text.encode())))
        codes.append(code)
    uniform = len(set(outs)) <= 1
    if uniform:
        flags |= _UNIFORM_OUT
    if any(latencies):
        flags |= _WITH_LATENCY
    if others:
        flags |= _WITH_OTHERS
    parts = [_HEADER.pack(flags, n, move, tokens_in, outs[0] if uniform and n else 0), codes.tobytes()]
    if not uniform:
        parts.append(outs.tobytes())
    if flags & _WITH_LATENCY:
        parts.append(latencies.tobytes())
    if flags & _WITH_STATE:
        packed = pack_state(winner.state)  # type: ignore[union-attr]
        parts.append(bytes([len(packed)]) + packed)
    if others:
        packed = _pack_answers(shown, list(others))
        parts.append(struct.pack("<H", len(packed)) + packed)
    return b"".join(parts), votes, tokens_in, sum(outs)


class _RawStep(NamedTuple):
    flags: int
    move: Move
    tokens_in: int
    codes: list[int]
    outs: list[int]
    latencies: list[float] | None
    state: State | None
    others: bytes


def _decode_record(data: bytes, at: int) -> tuple[_RawStep, int]:
    """One step record at ``at``: its fields and where the next record starts."""
    flags, n, move_code, tokens_in, uniform_out = _HEADER.unpack_from(data, at)
    at += _HEADER.size
    if flags & _PLAIN:
        codes = [_ARRIVED | (_FIRST_TEMPERATURE if i == 0 else 0) for i in range(n)]
    else:
        codes = array("H", data[at : at + 2 * n]).tolist()
        at += 2 * n
    if flags & _UNIFORM_OUT:
        outs = [uniform_out] * n
    else:
        outs = array("I", data[at : at + 4 * n]).tolist()
        at += 4 * n
    latencies = None
    if flags & _WITH_LATENCY:
        latencies = array("f", data[at : at + 4 * n]).tolist()
        at += 4 * n
    state = None
    if flags & _WITH_STATE:
        size = data[at]
        state = unpack_state(data[at + 1 : at + 1 + size])
        at += 1 + size
    others = b""
    if flags & _WITH_OTHERS:
        (size,) = struct.unpack_from("<H", data, at)
        others = data[at + 2 : at + 2 + size]
        at += 2 + size
    if len(codes) != n or len(outs) != n or at > len(data):
        raise ValueError("a step record runs past its block")
    move = unpack_move(move_code)
    assert move is not None
    return _RawStep(flags, move, tokens_in, codes, outs, latencies, state, others), at


# -- writing ----------------------------------------------------------------------------------------


class _Block:
    """The steps recorded since the last sealed block, with their own counts."""

    __slots__ = (
        "first_step", "state", "previous_move", "after", "records", "texts", "opened",
        "votes", "tokens_in", "tokens_out", "cancelled", "steps_over_k", "errors", "first_error_step",
        "red_flags", "histogram", "winner_votes",
    )

    def __init__(self, first_step: int, state: State, previous_move: Move | None) -> None:
        self.first_step, self.state, self.previous_move = first_step, state, previous_move
        self.after: Answer | None = None
        """The last recorded step's winner: the state and move the next block starts from."""
        self.records: list[bytes] = []
        self.texts: list[tuple[int, int, int, bytes]] = []
        self.opened = time.monotonic()
        self.votes = self.tokens_in = self.tokens_out = self.cancelled = self.steps_over_k = self.errors = 0
        self.winner_votes = 0
        self.first_error_step: int | None = None
        self.red_flags: dict[str, int] = {}
        self.histogram: dict[int, int] = {}

    def totals(self) -> Totals:
        red_flags = {reason.value: self.red_flags.get(reason.value, 0) for reason in RedFlag}
        return Totals(
            steps=len(self.records), errors=self.errors, first_error_step=self.first_error_step, samples=self.votes,
            red_flags=red_flags, cancelled=self.cancelled, tokens_in=self.tokens_in, tokens_out=self.tokens_out,
            steps_over_k=self.steps_over_k, votes_histogram=self.histogram, winner_votes=self.winner_votes,
        )

    def row(self) -> tuple[Any, ...]:
        return (
            self.first_step,
            self.first_step + len(self.records) - 1,
            pack_state(self.state),
            pack_move(self.previous_move),
            self.totals().model_dump_json(),
            b"".join(self.records),
        )


class Recorder:
    """Writes a run's events into a recording; :meth:`attach` it to a runner before the run.

    The engine's thread encodes each decided step, seals a block every 256 steps, and writes and
    commits sealed blocks at least every :data:`FLUSH_INTERVAL_S`. When a step takes longer than
    that (a slow model), a guard thread seals and commits what was decided meanwhile, so decided
    steps never wait more than about a second to become durable.
    """

    def __init__(self, path: Path, meta: RecordingMeta, start: Checkpoint, *, append: bool = False) -> None:
        self.path = Path(path)
        self.meta = meta
        self._keep_text = meta.keep_text
        self._connection = _open_for_writing(self.path, create=not append)
        self._lock_file = _lock(self.path)
        self._write_meta()
        (self._attempts,) = self._connection.execute("SELECT COALESCE(MAX(attempt), 0) FROM undecided").fetchone()
        self._k = meta.k_at(start.step)
        self._texts: list[tuple[int, bytes]] = []
        self._lock = threading.Lock()
        self._acquire, self._release = self._lock.acquire, self._lock.release
        self._block = _Block(start.step, start.state, start.previous_move)
        self._sealed: list[_Block] = []
        self._undecided: list[tuple[Any, ...]] = []
        self._undecided_texts: list[tuple[int, int, int, bytes]] = []
        self._committed = time.monotonic()
        self._closed = threading.Event()
        self._error: BaseException | None = None
        self._guard = threading.Thread(target=self._guard_loop, name="maker-recorder", daemon=True)
        self._guard.start()

    def attach(self, runner: Any) -> None:
        """Subscribe to a runner's decisions (each with its samples)."""
        runner.subscribe_decisions(self.on_decision)

    # -- the listeners (engine thread) ----------------------------------------------------------

    def on_decision(self, event: Event) -> None:
        """The listener for decided and undecided steps and the end of the run."""
        kind = event.__class__
        if kind is StepDecided:
            if self._error is not None:
                raise RecordingError(f"cannot write {self.path}: {self._error}") from self._error
            (_, answer, winner_votes, votes, red_flags, cancelled, candidates, _, correct, _, _, samples) = event  # type: ignore[misc]
            record = rare = None
            # Most steps of a simulated run are one correct reply drawn votes times, with no red flag
            # and nothing cancelled: record them here as encode_step would, at a fraction of its cost.
            if correct and candidates == 1 and not (red_flags or cancelled or self._keep_text):
                first = samples[0][3]
                if samples[0][0] == 0 and first is not None and not first.latency_s:
                    for sample in samples:
                        if sample[3] is not first:
                            break
                    else:
                        move = answer.move
                        tokens_in, tokens_out = first.tokens_in * votes, first.tokens_out
                        record = _PLAIN_HEADER(votes, (move[0] << 4) | (move[1] << 2) | move[2], tokens_in, tokens_out)
                        tokens_out *= votes
            if record is None:
                record, votes, tokens_in, tokens_out = encode_step(
                    event.state, answer, correct, samples, self._keep_text, self._texts  # type: ignore[union-attr]
                )
                if cancelled or red_flags or not correct or self._texts:
                    rare = event
            self._acquire()  # cheaper than `with`; the guard thread may be sealing
            try:
                block = self._block
                block.records.append(record)
                block.after = answer
                block.votes += votes
                block.winner_votes += winner_votes
                block.tokens_in += tokens_in
                block.tokens_out += tokens_out
                histogram = block.histogram
                histogram[votes] = histogram.get(votes, 0) + 1
                if votes > self._k:
                    block.steps_over_k += 1
                if rare is not None:
                    self._rare(block, rare, self._texts)  # type: ignore[arg-type]
                if len(block.records) >= BLOCK_STEPS:
                    self._seal()
                    if time.monotonic() - self._committed >= FLUSH_INTERVAL_S:
                        self._write()
            finally:
                self._release()
        elif kind is StepUndecided:
            self._undecided_step(event)  # type: ignore[arg-type]
        elif kind is RunFinished:
            summary = event.summary  # type: ignore[union-attr]
            self.meta.last_stop, self.meta.last_message = summary.stopped, summary.message

    def _rare(self, block: _Block, event: StepDecided, texts: list[tuple[int, bytes]]) -> None:
        """Count what most steps lack: cancellations, red flags, an audit error, kept texts."""
        block.cancelled += event.cancelled
        for _, _, outcome, _ in event.samples:
            if outcome is not None and outcome.__class__ is not Answer:
                reason = outcome.value  # type: ignore[union-attr]
                block.red_flags[reason] = block.red_flags.get(reason, 0) + 1
        if not event.correct:
            block.errors += 1
            if block.first_error_step is None:
                block.first_error_step = event.step
        block.texts.extend((event.step, 0, position, text) for position, text in texts)
        texts.clear()

    def _seal(self) -> None:
        """Close the current block, if it holds steps, and open the next one. Hold the lock."""
        block = self._block
        if block.after is not None:
            self._sealed.append(block)
            self._block = _Block(block.first_step + len(block.records), block.after.state, block.after.move)

    def _undecided_step(self, event: StepUndecided) -> None:
        leader = event.ranked[0][0] if event.ranked else None
        texts: list[tuple[int, bytes]] = []
        record, *_ = encode_step(event.state, leader, False, event.samples, self._keep_text, texts)
        with self._lock:
            self._attempts += 1
            self._undecided.append(
                (self._attempts, event.step, pack_state(event.state), pack_move(event.previous_move), record)
            )
            self._undecided_texts.extend((event.step, self._attempts, index, text) for index, text in texts)

    # -- writing --------------------------------------------------------------------------------

    def _guard_loop(self) -> None:
        """Commit what a slow step left waiting; idle while the engine commits on its own."""
        while not self._closed.wait(FLUSH_INTERVAL_S / 2):
            if time.monotonic() - self._committed < FLUSH_INTERVAL_S:
                continue
            with self._lock:
                self._seal()
                self._write()

    def _write(self) -> None:
        """Insert the sealed blocks and undecided attempts in one transaction. Hold the lock."""
        sealed, self._sealed = self._sealed, []
        undecided, self._undecided = self._undecided, []
        texts = [text for block in sealed for text in block.texts] + self._undecided_texts
        self._undecided_texts = []
        self._committed = time.monotonic()
        if not (sealed or undecided or texts):
            return
        try:
            with self._connection:
                self._connection.executemany("INSERT INTO blocks VALUES (?, ?, ?, ?, ?, ?)", [b.row() for b in sealed])
                self._connection.executemany("INSERT OR REPLACE INTO texts VALUES (?, ?, ?, ?)", texts)
                self._connection.executemany("INSERT INTO undecided VALUES (?, ?, ?, ?, ?)", undecided)
        except sqlite3.Error as exc:  # the engine thread raises it at the next step
            self._error = exc

    def _write_meta(self) -> None:
        with self._connection:
            self._connection.execute("INSERT OR REPLACE INTO meta VALUES ('recording', ?)", (self.meta.model_dump_json(),))

    def close(self) -> None:
        """Write everything pending and the metadata; leave the file as a plain (non-WAL) database."""
        self._closed.set()
        self._guard.join()
        try:
            with self._lock:
                self._seal()
                self._write()
            self._write_meta()
        except sqlite3.Error as exc:
            self._error = self._error or exc
        try:
            # Readers of a finished recording then need no WAL files (and leave none behind).
            self._connection.execute("PRAGMA journal_mode = DELETE")
        except sqlite3.Error:
            pass  # another connection still reads it: the WAL stays, the data is the same
        finally:
            self._connection.close()
            self._lock_file.close()
        if self._error is not None:
            raise RecordingError(f"cannot write {self.path}: {self._error}") from self._error


def _open_for_writing(path: Path, create: bool) -> sqlite3.Connection:
    """A connection in WAL mode; a new file gets its schema and maker's marks first, written
    straight into the main file so that even a crashed recording's header says what it is."""
    if create:
        if path.exists():
            raise RecordingError(f"{path} already exists: resume it with 'maker resume {path}' or choose another name")
        if not path.parent.is_dir():
            raise RecordingError(f"cannot create {path}: no directory {path.parent}")
    else:
        check_file(path)
    try:
        connection = sqlite3.connect(path, check_same_thread=False)
        if create:
            connection.executescript(_SCHEMA)
            connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            connection.commit()
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")
        return connection
    except sqlite3.Error as exc:
        raise RecordingError(f"cannot open {path} for writing: {exc}") from None


def _lock(path: Path) -> Any:
    """An exclusive advisory lock on the recording: one writer at a time."""
    import fcntl

    handle = open(path, "rb")  # noqa: SIM115 - held for the recorder's lifetime
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise RecordingError(f"{path} is being written by another maker process") from None
    return handle


# -- reading ----------------------------------------------------------------------------------------


def check_file(path: Path) -> None:
    """Reject, from its header alone, a file that is not a usable maker recording."""
    path = Path(path)
    if not path.exists():
        raise RecordingError(f"{path}: no such file")
    if not path.is_file():
        raise RecordingError(f"{path}: not a file")
    with open(path, "rb") as handle:
        header = handle.read(100)
    if len(header) < 100 or not header.startswith(b"SQLite format 3\x00"):
        raise RecordingError(f"{path}: not a maker recording (not an SQLite database)")
    (application_id,) = struct.unpack(">I", header[68:72])
    (user_version,) = struct.unpack(">I", header[60:64])
    if application_id != APPLICATION_ID:
        raise RecordingError(f"{path}: an SQLite database of another program, not a maker recording")
    if user_version > SCHEMA_VERSION:
        raise RecordingError(
            f"{path}: recording schema version {user_version} is newer than this maker's ({SCHEMA_VERSION}); upgrade maker"
        )
    (page_size,) = struct.unpack(">H", header[16:18])
    page_size = 65536 if page_size == 1 else page_size
    size = path.stat().st_size
    pages, change_counter, valid_for = (struct.unpack(">I", header[at : at + 4])[0] for at in (28, 24, 92))
    if size % page_size or (change_counter == valid_for and size < pages * page_size):
        raise RecordingError(f"{path}: truncated ({size:,} bytes, the header promises {pages * page_size:,})")


class Recording:
    """A recording opened read-only: metadata, length, seek and iteration.

    Memory does not grow with the run: a block of steps is read at a time.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        check_file(self.path)
        self._connection = _open_read_only(self.path)
        try:
            row = self._connection.execute("SELECT value FROM meta WHERE key = 'recording'").fetchone()
            if row is None:
                raise RecordingError(f"{self.path}: no run metadata (a damaged recording)")
            self.meta = RecordingMeta.model_validate_json(row[0])
            count, steps, last = self._connection.execute(
                "SELECT COUNT(*), COALESCE(SUM(last_step - first_step + 1), 0), COALESCE(MAX(last_step), 0) FROM blocks"
            ).fetchone()
        except sqlite3.DatabaseError as exc:
            self._connection.close()
            raise RecordingError(f"{self.path}: damaged recording ({exc})") from None
        except ValidationError as exc:
            self._connection.close()
            raise RecordingError(f"{self.path}: invalid run metadata ({exc.errors()[0]['msg']})") from None
        if steps != last:
            self._connection.close()
            raise RecordingError(f"{self.path}: steps are missing ({steps:,} recorded, the last is {last:,})")
        self._length = last
        self._blocks = count
        self.disks = self.meta.run.disks

    @classmethod
    def open(cls, path: Path | str) -> Recording:
        return cls(Path(path))

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> Recording:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __len__(self) -> int:
        """Decided steps recorded."""
        return self._length

    @property
    def total_steps(self) -> int:
        return total_steps(self.disks)

    @property
    def complete(self) -> bool:
        return self._length == self.total_steps

    def _query(self, sql: str, parameters: tuple[Any, ...] = ()) -> list[Any]:
        try:
            return self._connection.execute(sql, parameters).fetchall()
        except sqlite3.DatabaseError as exc:
            raise RecordingError(f"{self.path}: damaged recording ({exc})") from None

    def position_before(self, step: int) -> Checkpoint:
        """The state before ``step`` (up to one past the last) and the move before it."""
        if not 1 <= step <= self._length + 1:
            raise RecordingError(f"step {step} is outside the recording (1 to {self._length + 1:,})")
        if step == self._length + 1:
            rows = self._query("SELECT first_step, last_step, state, previous_move, steps FROM blocks "
                               "ORDER BY first_step DESC LIMIT 1")
            if not rows:
                return Checkpoint(1, start_state(self.disks), None)
            first, _, state_blob, previous_code, data = rows[0]
            shown, previous = unpack_state(state_blob), unpack_move(previous_code)
            at = 0
            for at_step in range(first, step):
                try:
                    raw, at = _decode_record(data, at)
                except (ValueError, struct.error, AssertionError, IndexError) as exc:
                    raise RecordingError(f"{self.path}: step {at_step} is damaged ({exc})") from None
                winner = self._winner(at_step, shown, raw)
                shown, previous = winner.state, winner.move
            return Checkpoint(step, shown, previous)
        record = self.seek(step)
        return Checkpoint(step, record.state, record.previous_move)

    def seek(self, step: int) -> StepRecord:
        """Step ``step`` (1-based): the state before it and its samples in arrival order."""
        if not 1 <= step <= self._length:
            raise RecordingError(f"step {step} is not recorded (the recording holds steps 1 to {self._length:,})")
        rows = self._query(
            "SELECT first_step, last_step, state, previous_move, steps FROM blocks WHERE first_step <= ? "
            "ORDER BY first_step DESC LIMIT 1",
            (step,),
        )
        for record in self._block_steps(rows[0], step, only=step):
            return record
        raise RecordingError(f"{self.path}: step {step} is missing from its block")

    def __iter__(self) -> Iterator[StepRecord]:
        return self.iter_from(1)

    def iter_from(self, step: int) -> Iterator[StepRecord]:
        """Steps from ``step`` to the last, a block at a time."""
        if step > self._length:
            return
        first_block = self._query("SELECT MAX(first_step) FROM blocks WHERE first_step <= ?", (step,))[0][0]
        at = first_block
        while at <= self._length:
            rows = self._query(
                "SELECT first_step, last_step, state, previous_move, steps FROM blocks WHERE first_step >= ? "
                "ORDER BY first_step LIMIT 16",
                (at,),
            )
            if not rows:
                break
            for row in rows:
                for record in self._block_steps(row, None):
                    if record.step >= step:
                        yield record
                at = row[1] + 1

    def _block_steps(self, row: tuple[Any, ...], until: int | None, only: int | None = None) -> Iterator[StepRecord]:
        first, last, state_blob, previous_code, data = row
        try:
            shown = unpack_state(state_blob)
        except ValueError:
            raise RecordingError(f"{self.path}: block at step {first} is damaged") from None
        previous = unpack_move(previous_code)
        texts = self._texts(first, last)
        at = 0
        for step in range(first, last + 1):
            try:
                raw, at = _decode_record(data, at)
            except (ValueError, struct.error, AssertionError, IndexError) as exc:
                raise RecordingError(f"{self.path}: step {step} is damaged ({exc})") from None
            answer = self._winner(step, shown, raw)
            if only is None or step == only:
                record = self._record(step, shown, previous, raw, texts, answer)
                self._check_decision(record)
                yield record
            shown, previous = answer.state, answer.move
            if until is not None and step >= until:
                return
        if at != len(data):
            raise RecordingError(f"{self.path}: block at step {first} is damaged (trailing bytes)")

    def _winner(self, step: int, shown: State, raw: _RawStep) -> Answer:
        try:
            return Answer(raw.move, raw.state if raw.state is not None else apply_move(shown, raw.move))
        except IllegalMove:
            raise RecordingError(f"{self.path}: step {step} is damaged (its move is illegal and no state is stored)") from None

    def _texts(self, first: int, last: int, attempt: int = 0) -> dict[tuple[int, int], str]:
        rows = self._query(
            "SELECT step, sample, text FROM texts WHERE step >= ? AND step <= ? AND attempt = ?", (first, last, attempt)
        )
        try:
            return {(step, sample): zlib.decompress(text).decode() for step, sample, text in rows}
        except (zlib.error, UnicodeDecodeError) as exc:
            raise RecordingError(f"{self.path}: a kept reply text is damaged ({exc})") from None

    def _record(
        self,
        step: int,
        shown: State,
        previous: Move | None,
        raw: _RawStep,
        texts: dict[tuple[int, int], str],
        winner: Answer | None,
    ) -> StepRecord:
        try:
            candidates = ([winner] if winner is not None else []) + _unpack_answers(shown, raw.others)
        except (ValueError, IllegalMove, AssertionError, struct.error) as exc:
            raise RecordingError(f"{self.path}: step {step} is damaged ({exc})") from None
        run = self.meta.run
        arrived = sum(1 for code in raw.codes if code & _ARRIVED)
        base_in, extra_in = divmod(raw.tokens_in, arrived) if arrived else (0, 0)
        samples = []
        seen = 0
        for index, code in enumerate(raw.codes):
            answer = red_flag = None
            if code & _CANCELLED:
                pass
            elif code & _RED_FLAG:
                if (code & _INDEX_MASK) >= len(_REASONS):
                    raise RecordingError(f"{self.path}: step {step} is damaged (an unknown red flag)")
                red_flag = _REASONS[code & _INDEX_MASK]
            else:
                candidate = code & _INDEX_MASK
                if candidate >= len(candidates):
                    raise RecordingError(f"{self.path}: step {step} is damaged (a vote for candidate {candidate})")
                answer = candidates[candidate]
            # Input tokens are stored per step; every reply of a step answered the same prompt.
            sample_in = 0
            if code & _ARRIVED:
                sample_in = base_in + (1 if seen < extra_in else 0)
                seen += 1
            samples.append(
                SampleRecord(
                    index=index,
                    temperature=run.first_temperature if code & _FIRST_TEMPERATURE else run.temperature,
                    answer=answer,
                    red_flag=red_flag,
                    tokens_in=sample_in,
                    tokens_out=raw.outs[index],
                    latency_s=raw.latencies[index] if raw.latencies is not None else 0.0,
                    cancelled=bool(code & _CANCELLED),
                    cut=bool(code & _CUT),
                    text=texts.get((step, index)) if code & _TEXT else None,
                )
            )
        return StepRecord(step, shown, previous, winner, bool(raw.flags & _CORRECT), self.meta.k_at(step), tuple(samples))

    def _check_decision(self, record: StepRecord) -> None:
        """The recorded votes must decide the recorded winner, at the last of them, under k."""
        tally: VoteTally[Answer] = VoteTally(record.k)
        votes = [sample.answer for sample in record.samples if sample.answer is not None]
        for position, answer in enumerate(votes):
            if tally.add(answer):
                if position != len(votes) - 1 or tally.leader != record.answer:
                    raise RecordingError(
                        f"{self.path}: step {record.step}: its samples contradict its decision (they decide at vote "
                        f"{position + 1} of {len(votes)}, for "
                        f"{'the recorded winner' if tally.leader == record.answer else 'another answer'})"
                    )
                return
        raise RecordingError(
            f"{self.path}: step {record.step}: its samples contradict its decision (no answer ahead by {record.k})"
        )

    def totals(self) -> Totals:
        """Totals of the whole run: every block's, plus the undecided attempts (paid for too)."""
        totals = Totals()
        try:
            for (block_totals,) in self._query("SELECT totals FROM blocks ORDER BY first_step"):
                totals.add(Totals.model_validate_json(block_totals))
        except ValidationError:
            raise RecordingError(f"{self.path}: damaged block totals") from None
        for attempt in self.undecided():
            totals.add_samples(attempt.samples)
        return totals

    def block_series(self) -> list[tuple[int, int, int]]:
        """(last step, cumulative input tokens, cumulative output tokens) at the end of each block."""
        series = []
        tokens_in = tokens_out = 0
        for last_step, block_totals in self._query("SELECT last_step, totals FROM blocks ORDER BY first_step"):
            try:
                totals = Totals.model_validate_json(block_totals)
            except ValidationError:
                raise RecordingError(f"{self.path}: damaged block totals") from None
            tokens_in += totals.tokens_in
            tokens_out += totals.tokens_out
            series.append((last_step, tokens_in, tokens_out))
        return series

    def totals_before(self, step: int) -> Totals:
        """Totals of the steps before ``step`` and of the undecided attempts before it."""
        totals = Totals()
        rows = self._query("SELECT first_step, totals FROM blocks WHERE last_step < ? ORDER BY first_step", (step,))
        try:
            for _, block_totals in rows:
                totals.add(Totals.model_validate_json(block_totals))
        except ValidationError:
            raise RecordingError(f"{self.path}: damaged block totals") from None
        first = rows[-1][0] if rows else 1
        if rows:
            first = self._query("SELECT last_step FROM blocks WHERE first_step = ?", (first,))[0][0] + 1
        if first < step:
            for record in self.iter_from(first):
                if record.step >= step:
                    break
                totals.add_step(record.step, record.correct, record.k, record.samples)
        for attempt in self.undecided():
            if attempt.step < step:
                totals.add_samples(attempt.samples)
        return totals

    def undecided(self) -> list[StepRecord]:
        """The attempts at steps that hit their cap; ``answer`` is the candidate that led."""
        attempts = []
        for attempt, step, state_blob, previous_code, data in self._query("SELECT * FROM undecided ORDER BY attempt"):
            try:
                shown = unpack_state(state_blob)
                raw, _ = _decode_record(data, 0)
            except (ValueError, struct.error, AssertionError, IndexError) as exc:
                raise RecordingError(f"{self.path}: undecided attempt at step {step} is damaged ({exc})") from None
            texts = self._texts(step, step, attempt)
            leader = self._winner(step, shown, raw) if raw.move != (0, 0, 0) else None
            attempts.append(self._record(step, shown, unpack_move(previous_code), raw, texts, leader))
        return attempts


def _open_read_only(path: Path) -> sqlite3.Connection:
    """Open with ``mode=ro``: no write can happen through this connection."""
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
        connection.execute("PRAGMA query_only = ON")
        connection.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        return connection
    except sqlite3.DatabaseError as exc:
        raise RecordingError(f"{path}: damaged recording ({exc})") from None


def default_recording_dir() -> Path:
    """Where the TUI keeps recordings it makes on its own: ``$XDG_DATA_HOME/maker/runs``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "maker" / "runs"


def recording_meta(
    config: RunConfig,
    model: str,
    sampler: dict[str, Any],
    *,
    price_in: float | None,
    price_out: float | None,
    keep_text: bool,
    base_url_host: str | None = None,
) -> RecordingMeta:
    """The metadata of a new recording."""
    return RecordingMeta(
        created_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        run=config,
        model=model,
        base_url_host=base_url_host,
        sampler=sampler,
        price_in=price_in,
        price_out=price_out,
        keep_text=keep_text,
        k_segments=[(1, config.k)],
    )


def describe(recording: Recording) -> dict[str, Any]:
    """What ``maker info --json`` prints."""
    totals = recording.totals()
    meta = recording.meta
    cost = None
    if meta.price_in is not None and meta.price_out is not None:
        cost = (totals.tokens_in * meta.price_in + totals.tokens_out * meta.price_out) / 1e6
    return {
        "path": str(recording.path),
        "disks": meta.run.disks,
        "k": meta.k_at(len(recording) + 1),
        "k_segments": meta.k_segments,
        "model": meta.model,
        "base_url_host": meta.base_url_host,
        "steps_recorded": len(recording),
        "total_steps": recording.total_steps,
        "complete": recording.complete,
        "errors": totals.errors,
        "first_error_step": totals.first_error_step,
        "samples": totals.samples,
        "red_flags": totals.red_flags,
        "cancelled": totals.cancelled,
        "tokens_in": totals.tokens_in,
        "tokens_out": totals.tokens_out,
        "cost_usd": cost,
        "undecided_attempts": len(recording.undecided()),
        "last_stop": meta.last_stop,
        "last_message": meta.last_message,
        "created_at": meta.created_at,
        "keep_text": meta.keep_text,
        "sampler": meta.sampler,
    }


