"""Writing a recording: the recorder listens to a run's decisions and keeps every sample.

The engine's thread encodes each decided step, seals a block every 256 steps, and writes and
commits sealed blocks at least every ``flush_interval_s``. When a step takes longer than that (a
slow model), a guard thread commits what was decided meanwhile, so decided steps never wait more
than about a second to become durable: the open block as it is so far, which later writes replace
until it is sealed (a slow run's blocks are as long as a fast one's, and its texts as compressed
together). A write that fails (a full disk) stops the run
with the reason ``recording_error``; every step committed before it stays, ready to resume.

Kept texts cost a step a dictionary look-up; a block's texts are joined and compressed together
(:mod:`engine.recording.texts`) as it is written, in the same transaction as its steps. (Doing that
on a thread of its own, as zlib lets go of the GIL, made a 19-disk simulated run slower, not faster,
on a two-CPU virtual machine: the engine's thread ran slower beside it.)
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from engine.models.sampler import Sampler, WireReport
from engine.models.sim import SIM_MODEL
from engine.recording.block import Block
from engine.recording.codec import (
    MAX_U32,
    PLAIN_HEADER,
    PLAIN_TEXT_HEADER,
    CodecError,
    encode_step,
    pack_move,
    pack_state,
)
from engine.recording.connection import open_for_writing
from engine.recording.files import check_writable, is_stub, lock, remove_empty
from engine.recording.format import (
    BLOCK_STEPS,
    FLUSH_INTERVAL_S,
    SCHEMA_VERSION,
    RecordingError,
    RecordingMeta,
    check_file,
)
from engine.recording.texts import BLOCK_TEXTS_TABLE, FAST_LEVEL, LEVEL, compress_one
from engine.run.config import Checkpoint
from engine.run.events import (
    Event,
    Listener,
    RunFinished,
    SamplesDiscarded,
    StepDecided,
    StepSample,
    StepUndecided,
)
from engine.run.failures import StopRun
from engine.run.totals import Totals
from engine.task.parser import Answer


def first_sample_right(samples: tuple[StepSample, ...], expected: Answer | None) -> bool | None:
    """Whether a step's first sample (launch index 0) was the audit's answer; None when it never
    came back (cancelled in flight)."""
    for index, _, outcome, _ in samples:
        if index == 0:
            return None if outcome is None else outcome == expected
    return None


class DecisionSource(Protocol):
    """What a recorder listens to: a runner, and its sampler's wire."""

    sampler: Sampler

    def subscribe_decisions(self, listener: Listener) -> None: ...


class RecordingWriteError(RecordingError, StopRun):
    """The recording could not be written: the run stops, keeping what is durable."""

    reason = "recording_error"


class Recorder:
    """Writes a run's events into a recording; :meth:`attach` it to a runner before the run."""

    def __init__(
        self, path: Path, meta: RecordingMeta, start: Checkpoint, *, append: bool = False,
        flush_interval_s: float = FLUSH_INTERVAL_S,
    ) -> None:
        self.path = Path(path)
        self.meta = meta
        self._flush_interval_s = flush_interval_s
        self._keep_text = meta.keep_text
        # This session has not stopped yet: should it die without a word, the file says interrupted.
        meta.last_stop = meta.last_message = None
        if append:  # one writer at a time: take the lock before anything is written
            schema = check_file(self.path)
            self._exact_tokens_in = schema >= 2
            self._legacy_texts = schema < 2
            """A schema-1 file stays one: its texts go on one a row in ``texts``, as it kept them."""
            check_writable(self.path)
            self._lock_file = lock(self.path)
            self._connection = open_for_writing(self.path, create=False, on_failure=self._lock_file.close)
        else:
            schema = SCHEMA_VERSION
            self._exact_tokens_in = True
            self._legacy_texts = False
            if is_stub(self.path):  # what a run that could not write its metadata left: no step in it
                remove_empty(self.path)
            self._connection = open_for_writing(self.path, create=True)
            try:
                self._lock_file = lock(self.path)
            except RecordingError:
                self._connection.close()
                raise
        self._wire: Callable[[], WireReport | None] | None = None
        self._wire_before = meta.wire
        """The wire of the sessions recorded before this one (a resumed run)."""
        try:
            if append and 2 <= schema < SCHEMA_VERSION:  # what this session writes is the newer schema's
                self._connection.execute(BLOCK_TEXTS_TABLE)
                self._connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            self._write_meta()
            (self._attempts,) = self._connection.execute("SELECT COALESCE(MAX(attempt), 0) FROM undecided").fetchone()
        except sqlite3.Error as exc:  # a full disk, say: a new file is left as nothing at all
            self._connection.close()
            self._lock_file.close()
            if not append:
                remove_empty(self.path)
            raise RecordingError(f"cannot write {self.path}: {exc}") from None
        self._k = meta.k_at(start.step)
        self._shortcut = not (self._keep_text and self._legacy_texts)  # but for texts of a schema-1 file
        self._plain_header = PLAIN_TEXT_HEADER if self._keep_text else PLAIN_HEADER
        self._text_level = FAST_LEVEL if meta.model == SIM_MODEL else LEVEL  # (a fast run, short replies)
        self._texts: list[tuple[int, str]] = []
        self._lock = threading.Lock()
        self._acquire, self._release = self._lock.acquire, self._lock.release
        self._block = Block(start.step, start.state, start.previous_move)
        self._durable = start.step - 1
        """The last step committed to the file."""
        self._sealed: list[Block] = []
        self._last_sealed: Block | None = None
        self._rewrite: list[Block] = []
        """Blocks already written whose totals changed (see :meth:`_fold_leftover`)."""
        self._undecided: list[tuple[Any, ...]] = []
        self._undecided_texts: list[tuple[int, int, int, bytes]] = []
        self._committed = time.monotonic()
        self._closed = threading.Event()
        self._error: BaseException | None = None
        self._guard = threading.Thread(target=self._guard_loop, name="maker-recorder", daemon=True)
        self._guard.start()

    def attach(self, runner: DecisionSource) -> None:
        """Subscribe to a runner's decisions (each with its samples), and keep its wire's report
        in the metadata as the run goes on."""
        runner.subscribe_decisions(self.on_decision)
        if runner.sampler.wire_report() is not None:
            self._wire = runner.sampler.wire_report

    def whole_run(self, report: WireReport | None) -> WireReport | None:
        """``report`` (this session's wire) with the recorded sessions' before it."""
        if report is None or self._wire_before is None:
            return report
        return self._wire_before.merged(report)

    def _wire_now(self, report: WireReport | None = None) -> None:
        """The run's wire so far in the metadata: the recorded sessions' and this one's."""
        report = report if report is not None else self._wire() if self._wire is not None else None
        if report is not None:
            self.meta.wire = self.whole_run(report.at_rest())

    # -- the listener (engine thread) -----------------------------------------------------------

    def on_decision(self, event: Event) -> None:
        """The listener for decided and undecided steps and the end of the run."""
        kind = event.__class__
        if kind is StepDecided:
            if self._error is not None:
                raise self._failure()
            (step, answer, winner_votes, votes, red_flags, cancelled, candidates, _, correct, _, _, samples) = event  # type: ignore[misc]
            record = text = None
            rare = False
            single_right: bool | None = True
            # Most steps of a simulated run are one correct reply drawn votes times, with no red flag
            # and nothing cancelled: record them here as encode_step would, at a fraction of its cost.
            if correct and candidates == 1 and self._shortcut and not (red_flags or cancelled):
                first = samples[0][3]
                if samples[0][0] == 0 and first is not None and not first.latency_s and first.finish_reason != "length":
                    for sample in samples:
                        if sample[3] is not first:
                            break
                    else:
                        move = answer.move
                        tokens_in, tokens_out = first.tokens_in * votes, first.tokens_out
                        if tokens_in <= MAX_U32:
                            record = self._plain_header(votes, (move[0] << 4) | (move[1] << 2) | move[2], tokens_in,
                                                        tokens_out)
                            tokens_out *= votes
                            if self._keep_text:
                                text = first.text
            if record is None:
                try:
                    record, votes, tokens_in, tokens_out = encode_step(
                        event.state, answer, correct, samples, self._keep_text, self._texts,  # type: ignore[union-attr]
                        exact_tokens_in=self._exact_tokens_in, all_text=not self._legacy_texts,
                    )
                except CodecError as exc:
                    raise RecordingWriteError(f"cannot record step {step} in {self.path}: {exc}") from None
                rare = bool(cancelled or red_flags or self._texts)
                single_right = first_sample_right(samples, event.expected)  # type: ignore[union-attr]
            self._acquire()  # cheaper than `with`; the guard thread may be sealing
            try:
                block = self._block
                if text is not None:
                    block.texts.add_plain(len(block.records), votes, text)
                block.records.append(record)
                block.after = answer
                totals = block.totals
                totals.tokens_in += tokens_in
                totals.tokens_out += tokens_out
                totals.count_decision(step, votes, winner_votes, correct, self._k, single_right)
                if rare:
                    self._rare(block, event)  # type: ignore[arg-type]
                if len(block.records) >= BLOCK_STEPS:
                    self._seal()
                    if time.monotonic() - self._committed >= self._flush_interval_s:
                        self._write()
            finally:
                self._release()
        elif kind is StepUndecided:
            self._undecided_step(event)  # type: ignore[arg-type]
        elif kind is SamplesDiscarded:
            with self._lock:
                self._block.totals.count_discarded(event.samples, event.tokens_in,  # type: ignore[union-attr]
                                                   event.tokens_out, event.wasted)  # type: ignore[union-attr]
        elif kind is RunFinished:
            summary = event.summary  # type: ignore[union-attr]
            self.meta.last_stop, self.meta.last_message = summary.stopped, summary.message
            self._wire_now(summary.wire)

    def _rare(self, block: Block, event: StepDecided) -> None:
        """Count what most steps lack: cancellations, red flags, kept texts (of the block's last
        step). Hold the lock."""
        block.totals.cancelled += event.cancelled
        red_flags = block.totals.red_flags
        for _, _, outcome, _ in event.samples:
            if outcome is not None and outcome.__class__ is not Answer:
                red_flags[outcome] += 1  # type: ignore[index]
        if self._texts:
            block.texts.add(len(block.records) - 1, self._texts)
            self._texts.clear()

    def _seal(self) -> None:
        """Close the current block, if it holds steps, and open the next one. Hold the lock."""
        block = self._block
        if block.after is not None:
            block.totals.steps = len(block.records)
            self._sealed.append(block)
            self._last_sealed = block
            self._block = Block(block.first_step + len(block.records), block.after.state, block.after.move)

    def _fold_leftover(self) -> None:
        """Counts that came after the last recorded step (what a run ending with steps sampled
        ahead cancelled) go into the last block, so the file's totals miss nothing. Hold the lock."""
        block, last = self._block, self._last_sealed
        if block.after is not None or last is None or block.totals == Totals():
            return
        last.totals.add(block.totals)
        block.totals = Totals()
        if last not in self._sealed:
            self._rewrite.append(last)

    def _undecided_step(self, event: StepUndecided) -> None:
        leader = event.ranked[0][0] if event.ranked else None
        texts: list[tuple[int, str]] = []
        try:
            record, *_ = encode_step(event.state, leader, False, event.samples, self._keep_text, texts,
                                     exact_tokens_in=self._exact_tokens_in, all_text=not self._legacy_texts)
        except CodecError as exc:
            raise RecordingWriteError(f"cannot record step {event.step} in {self.path}: {exc}") from None
        with self._lock:
            self._attempts += 1
            self._undecided.append(
                (self._attempts, event.step, pack_state(event.state), pack_move(event.previous_move), record)
            )
            self._undecided_texts.extend((event.step, self._attempts, index, compress_one(text))
                                         for index, text in texts)

    def _failure(self) -> RecordingWriteError:
        saved = f"steps 1 to {self._durable:,} are saved" if self._durable else "no step was saved"
        return RecordingWriteError(f"cannot write {self.path}: {self._error}; {saved} (resume with: maker resume {self.path})")

    # -- writing --------------------------------------------------------------------------------

    def _guard_loop(self) -> None:
        """Commit what a slow step left waiting; idle while the engine commits on its own."""
        while not self._closed.wait(max(self._flush_interval_s / 2, 0.01)):
            if time.monotonic() - self._committed < self._flush_interval_s:
                continue
            with self._lock:
                self._write(growing=True)

    def _write(self, growing: bool = False) -> None:
        """Insert the sealed blocks and undecided attempts in one transaction; ``growing`` (a slow
        run), the open block's steps so far too, as a row its next write replaces. Hold the lock."""
        if self._error is not None:
            return  # the run stops at its next step; nothing more is written
        block = self._block
        growing = growing and block.after is not None and block.written != len(block.records)
        meta = None
        if self._wire is not None:  # a served model's run: its wire so far, with the steps
            self._wire_now()
            meta = self.meta.model_dump_json()
        sealed, self._sealed = self._sealed, []
        undecided, self._undecided = self._undecided, []
        texts, self._undecided_texts = self._undecided_texts, []
        block_texts = []
        try:
            for done in sealed + ([block] if growing else []):
                done.texts_for_file(self._legacy_texts, self._text_level, texts, block_texts)
        except (ValueError, MemoryError) as exc:  # (a text that cannot be encoded): the run stops at its next step
            self._error = exc
            return
        self._committed = time.monotonic()
        rewrite, self._rewrite = self._rewrite, []
        rewrite += [done for done in sealed if done.written] + ([block] if growing else [])  # rows that grew
        sealed = [done for done in sealed if not done.written]
        if not (sealed or undecided or texts or rewrite):
            return  # (the wire's figures wait for the next steps: a write for them alone is not worth it)
        try:
            with self._connection:
                if meta is not None:
                    self._connection.execute("INSERT OR REPLACE INTO meta VALUES ('recording', ?)", (meta,))
                self._connection.executemany("INSERT INTO blocks VALUES (?, ?, ?, ?, ?, ?)", [b.row() for b in sealed])
                self._connection.executemany("INSERT OR REPLACE INTO blocks VALUES (?, ?, ?, ?, ?, ?)",
                                             [b.row() for b in rewrite])
                if block_texts:  # (a schema-1 file has no such table)
                    self._connection.executemany("INSERT OR REPLACE INTO block_texts VALUES (?, ?)", block_texts)
                self._connection.executemany("INSERT OR REPLACE INTO texts VALUES (?, ?, ?, ?)", texts)
                self._connection.executemany("INSERT INTO undecided VALUES (?, ?, ?, ?, ?)", undecided)
        except sqlite3.Error as exc:  # the engine thread raises it at the next step
            self._error = exc
            return
        if growing:
            block.written = len(block.records)
        last = max(sealed + rewrite, key=lambda done: done.first_step, default=None)
        if last is not None:
            self._durable = max(self._durable, last.first_step + len(last.records) - 1)

    def _write_meta(self) -> None:
        with self._connection:
            self._connection.execute("INSERT OR REPLACE INTO meta VALUES ('recording', ?)", (self.meta.model_dump_json(),))

    def close(self) -> None:
        """Write everything pending and the metadata; leave the file as a plain (non-WAL) database,
        unless a write failed (then the log keeps what was committed, beside the file)."""
        self._closed.set()
        self._guard.join()
        try:
            with self._lock:
                self._seal()
                self._fold_leftover()
                self._write()
            if self._error is not None:  # what the file holds did not end the way the run did
                self.meta.last_stop, self.meta.last_message = "recording_error", str(self._failure())
            self._write_meta()
        except sqlite3.Error as exc:
            self._error = self._error or exc
        try:
            # Readers of a finished recording then need no WAL files (and leave none behind). Not
            # after a failed write: on a full disk the log stays (SQLite may still try to fold it in
            # as the connection closes, which is safe: the log is only dropped once the file has it).
            if self._error is None:
                self._connection.execute("PRAGMA journal_mode = DELETE")
        except sqlite3.Error:
            pass  # another connection still reads it, or the disk is full: the WAL stays, the data is the same
        finally:
            self._connection.close()
            self._lock_file.close()
        if self._error is not None:
            raise self._failure()

