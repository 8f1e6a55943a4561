"""Reading a recording: metadata, length, seek, iteration, totals and a whole-file check.

A recording is opened read-only and never changed. Memory does not grow with the run: a block of
steps is read at a time. Anything damaged, from SQLite's pages to a step's bytes or a kept text,
raises :class:`RecordingError` with one line that says where.
"""

from __future__ import annotations

import contextlib
import sqlite3
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from engine.recording.codec import (
    ALL_TEXT,
    CORRECT,
    PLAIN,
    TEXT,
    RawStep,
    decode_record,
    decode_samples,
    unpack_answers,
    unpack_move,
    unpack_state,
)
from engine.recording.files import being_written, first_line, missing_log, open_for_reading
from engine.recording.format import RecordingError, RecordingMeta, StepRecord, check_file
from engine.recording.texts import TextsError, decompress_one
from engine.recording.texts import unpack as unpack_texts
from engine.run.config import Checkpoint
from engine.run.totals import Totals, totals_from_json
from engine.task.hanoi import IllegalMove, Move, State, apply_move, start_state, total_steps
from engine.task.parser import Answer
from engine.task.prompt import built_in
from engine.voting.tally import VoteTally

_BLOCK_COLUMNS = "first_step, last_step, state, previous_move, steps"


@contextlib.contextmanager
def _damage(path: Path, where: str) -> Iterator[None]:
    """Turn anything a damaged file makes the decoders raise into one :class:`RecordingError`."""
    try:
        yield
    except RecordingError:
        raise
    except sqlite3.Error as exc:
        raise RecordingError(f"{path}: damaged recording ({first_line(exc)})") from None
    except ValidationError as exc:
        raise RecordingError(f"{path}: {where} is damaged ({exc.errors()[0]['msg']})") from None
    except (ValueError, IllegalMove, zlib.error, IndexError, KeyError, TypeError, OverflowError) as exc:
        raise RecordingError(f"{path}: {where} is damaged ({first_line(exc)})") from None


class Recording:
    """A recording opened read-only; see the module docstring."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.schema_version = check_file(self.path)
        self.exact_tokens_in = self.schema_version >= 2
        """Whether each sample's input tokens were recorded (schema 2), not split from a step's total."""
        self._recounts: dict[tuple[int, bytes], Totals] = {}
        """Counts that blocks written before the totals carried them needed, by block and totals."""
        self._connection, self._scratch = open_for_reading(self.path)
        try:
            with _damage(self.path, "the run metadata"):
                row = self._connection.execute("SELECT value FROM meta WHERE key = 'recording'").fetchone()
                if row is None:
                    raise RecordingError(f"{self.path}: no run metadata{missing_log(self.path)}")
                self.meta = RecordingMeta.model_validate_json(row[0])
                if self.meta.run.prompt is None:  # made before recordings kept their prompt: it was this one
                    self.meta.run = self.meta.run.model_copy(update={"prompt": built_in("guided", self.meta.run.disks)})
                spans = self._connection.execute("SELECT first_step, last_step FROM blocks ORDER BY first_step").fetchall()
                self._length = _contiguous(self.path, spans, total_steps(self.meta.run.disks))
        except RecordingError:
            self.close()
            raise
        self.disks = self.meta.run.disks

    @classmethod
    def open(cls, path: Path | str) -> Recording:
        return cls(Path(path))

    def close(self) -> None:
        self._connection.close()
        if self._scratch is not None:
            self._scratch.cleanup()

    @property
    def being_written(self) -> bool:
        """Whether a maker process holds the file's writer lock now (a run under way)."""
        return being_written(self.path)

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
        with _damage(self.path, "the recording"):
            return self._connection.execute(sql, parameters).fetchall()

    # -- steps ------------------------------------------------------------------------------------

    def position_before(self, step: int) -> Checkpoint:
        """The state before ``step`` (up to one past the last) and the move before it."""
        if not 1 <= step <= self._length + 1:
            raise RecordingError(f"step {step} is outside the recording (1 to {self._length + 1:,})")
        if step <= self._length:
            record = self.seek(step)
            return Checkpoint(step, record.state, record.previous_move)
        rows = self._query(f"SELECT {_BLOCK_COLUMNS} FROM blocks ORDER BY first_step DESC LIMIT 1")
        if not rows:
            return Checkpoint(1, start_state(self.disks), None)
        shown, previous = self._walk_block(rows[0])
        return Checkpoint(step, shown, previous)

    def seek(self, step: int) -> StepRecord:
        """Step ``step`` (1-based): the state before it and its samples in arrival order."""
        if not 1 <= step <= self._length:
            raise RecordingError(f"step {step} is not recorded (the recording holds steps 1 to {self._length:,})")
        rows = self._query(
            f"SELECT {_BLOCK_COLUMNS} FROM blocks WHERE first_step <= ? ORDER BY first_step DESC LIMIT 1", (step,)
        )
        for record in self._block_steps(rows[0], only=step):
            return record
        raise RecordingError(f"{self.path}: step {step} is missing from its block")

    def __iter__(self) -> Iterator[StepRecord]:
        return self.iter_from(1)

    def iter_from(self, step: int) -> Iterator[StepRecord]:
        """Steps from ``step`` to the last, a block at a time."""
        step = max(step, 1)
        if step > self._length:
            return
        at = self._query("SELECT MAX(first_step) FROM blocks WHERE first_step <= ?", (step,))[0][0]
        while at <= self._length:
            rows = self._query(
                f"SELECT {_BLOCK_COLUMNS} FROM blocks WHERE first_step >= ? ORDER BY first_step LIMIT 16", (at,)
            )
            if not rows:
                break
            for row in rows:
                for record in self._block_steps(row):
                    if record.step >= step:
                        yield record
                at = row[1] + 1

    def _block_start(self, row: tuple[Any, ...]) -> tuple[int, int, State, Move | None, bytes]:
        first, last, state_blob, previous_code, data = row
        with _damage(self.path, f"the block at step {first}"):
            if not (type(first) is int and type(last) is int and type(data) is bytes):
                raise RecordingError(f"{self.path}: the block at step {first} is damaged (a column of the wrong type)")
            return first, last, unpack_state(state_blob), None if previous_code is None else unpack_move(previous_code), data

    def _walk_block(self, row: tuple[Any, ...], kept: dict[int, set[int]] | None = None) -> tuple[State, Move | None]:
        """Decode every record of a block; the state and move after its last step. ``kept`` gets
        the positions of each step's samples whose text the records say is kept."""
        first, last, shown, previous, data = self._block_start(row)
        at = 0
        for step in range(first, last + 1):
            with _damage(self.path, f"step {step}"):
                raw, at = decode_record(data, at)
            if kept is not None and (raw.flags & ALL_TEXT or not raw.flags & PLAIN):
                positions = {position for position, code in enumerate(raw.codes) if code & TEXT}
                if positions:
                    kept[step] = positions
            winner = self._winner(step, shown, raw)
            shown, previous = winner.state, winner.move
        if at != len(data):
            raise RecordingError(f"{self.path}: the block at step {first} is damaged (trailing bytes)")
        return shown, previous

    def _block_steps(self, row: tuple[Any, ...], only: int | None = None) -> Iterator[StepRecord]:
        first, last, shown, previous, data = self._block_start(row)
        texts = self._texts(first, last)
        at = 0
        for step in range(first, last + 1):
            with _damage(self.path, f"step {step}"):
                raw, at = decode_record(data, at)
            answer = self._winner(step, shown, raw)
            if only is None or step == only:
                record = self._record(step, shown, previous, raw, texts, answer)
                self._check_decision(record)
                yield record
                if only is not None:
                    return
            shown, previous = answer.state, answer.move
        if at != len(data):
            raise RecordingError(f"{self.path}: the block at step {first} is damaged (trailing bytes)")

    def _winner(self, step: int, shown: State, raw: RawStep) -> Answer:
        try:
            return Answer(raw.move, raw.state if raw.state is not None else apply_move(shown, raw.move))
        except IllegalMove:
            raise RecordingError(f"{self.path}: step {step} is damaged (its move is illegal and no state is stored)") from None

    def _texts(self, first: int, last: int, attempt: int = 0) -> dict[int, dict[int, str]]:
        """Kept reply texts of the block of steps ``first`` to ``last`` (or of an undecided
        attempt), by step and then by sample position: from the block's texts (schema 4) and from
        the ``texts`` table (undecided attempts, and every step recorded before schema 4)."""
        texts: dict[int, dict[int, str]] = {}
        if self.schema_version >= 4 and not attempt:
            rows = self._query("SELECT texts FROM block_texts WHERE first_step = ?", (first,))
            if rows:
                try:
                    texts = unpack_texts(rows[0][0], first, last)
                except TextsError as exc:
                    raise RecordingError(f"{self.path}: the kept texts of the block at step {first} are damaged "
                                         f"({exc})") from None
        rows = self._query(
            "SELECT step, sample, text FROM texts WHERE step >= ? AND step <= ? AND attempt = ?", (first, last, attempt)
        )
        with _damage(self.path, "a kept reply text"):
            for step, sample, text in rows:
                texts.setdefault(step, {})[sample] = decompress_one(text)
        return texts

    def _record(
        self, step: int, shown: State, previous: Move | None, raw: RawStep, texts: dict[int, dict[int, str]],
        winner: Answer | None,
    ) -> StepRecord:
        run = self.meta.run
        with _damage(self.path, f"step {step}"):
            candidates = ([winner] if winner is not None else []) + unpack_answers(shown, raw.others)
            samples = decode_samples(raw, candidates, texts.get(step, {}), run.first_temperature, run.temperature)
        return StepRecord(step, shown, previous, winner, bool(raw.flags & CORRECT), self.meta.k_at(step), samples)

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

    # -- totals -----------------------------------------------------------------------------------

    def _block_totals(self, first: int, text: bytes) -> Totals:
        with _damage(self.path, f"the totals of the block at step {first}"):
            totals = totals_from_json(text)
        if b'"single_steps"' not in text:  # written before the totals carried these: count them now
            recount = self._recounts.get((first, text))
            if recount is None:  # once a block: a replay asks for totals at every seek
                rows = self._query(f"SELECT {_BLOCK_COLUMNS} FROM blocks WHERE first_step = ?", (first,))
                recount = self._recounts[(first, text)] = Totals()
                for record in self._block_steps(rows[0]):
                    recount.add_step(record.step, record.correct, record.k, record.samples, record.single_right())
            totals.winner_votes = recount.winner_votes
            totals.single_steps, totals.single_wrong = recount.single_steps, recount.single_wrong
            totals.single_first_wrong = recount.single_first_wrong
        return totals

    def totals(self) -> Totals:
        """Totals of the whole run: every block's, plus the undecided attempts (paid for too)."""
        totals = Totals()
        for first, text in self._query("SELECT first_step, totals FROM blocks ORDER BY first_step"):
            totals.add(self._block_totals(first, text))
        for attempt in self.undecided():
            totals.add_samples(attempt.samples)
        return totals

    def block_series(self) -> list[tuple[int, int, int]]:
        """(last step, cumulative input tokens, cumulative output tokens) at the end of each block."""
        series = []
        tokens_in = tokens_out = 0
        for first, last_step, text in self._query("SELECT first_step, last_step, totals FROM blocks ORDER BY first_step"):
            totals = self._block_totals(first, text)
            tokens_in += totals.tokens_in
            tokens_out += totals.tokens_out
            series.append((last_step, tokens_in, tokens_out))
        return series

    def totals_before(self, step: int) -> Totals:
        """Totals of the steps before ``step`` and of the undecided attempts before it."""
        totals = Totals()
        rows = self._query("SELECT first_step, last_step, totals FROM blocks WHERE last_step < ? ORDER BY first_step",
                           (step,))
        for first, _, text in rows:
            totals.add(self._block_totals(first, text))
        after = rows[-1][1] + 1 if rows else 1
        if after < step:
            for record in self.iter_from(after):
                if record.step >= step:
                    break
                totals.add_step(record.step, record.correct, record.k, record.samples, record.single_right())
        for attempt in self.undecided():
            if attempt.step < step:
                totals.add_samples(attempt.samples)
        return totals

    def undecided(self) -> list[StepRecord]:
        """The attempts at steps that hit their cap; ``answer`` is the candidate that led."""
        attempts = []
        for attempt, step, state_blob, previous_code, data in self._query("SELECT * FROM undecided ORDER BY attempt"):
            where = f"the undecided attempt at step {step}"
            with _damage(self.path, where):
                shown = unpack_state(state_blob)
                raw, _ = decode_record(data, 0)
                previous = None if previous_code is None else unpack_move(previous_code)
            texts = self._texts(step, step, attempt)
            leader = self._winner(step, shown, raw) if raw.move != (0, 0, 0) else None
            attempts.append(self._record(step, shown, previous, raw, texts, leader))
        return attempts

    # -- the whole file -----------------------------------------------------------------------------

    def verify(self) -> None:
        """Check the whole file before it is written to: SQLite's pages, every block's bytes, totals
        and kept texts, that each block starts where the one before ends, and the undecided attempts."""
        (verdict,) = self._query("PRAGMA quick_check")[0]
        if verdict != b"ok":
            raise RecordingError(f"{self.path}: damaged recording ({verdict.decode(errors='replace')})")
        expected = Checkpoint.start(self.disks)
        for row in self._query(f"SELECT {_BLOCK_COLUMNS}, totals FROM blocks ORDER BY first_step"):
            first, last, shown, previous, _ = self._block_start(row[:5])
            if (first, shown, previous) != expected:
                raise RecordingError(f"{self.path}: the block at step {first} does not follow the one before it")
            kept: dict[int, set[int]] = {}
            state, move = self._walk_block(row[:5], kept)
            if self._block_totals(first, row[5]).steps != last - first + 1:
                raise RecordingError(f"{self.path}: the totals of the block at step {first} do not match its steps")
            self._check_texts(first, last, kept)
            expected = Checkpoint(last + 1, state, move)
        if self.schema_version >= 4:
            orphans = self._query("SELECT first_step FROM block_texts WHERE first_step NOT IN "
                                  "(SELECT first_step FROM blocks) LIMIT 1")
            if orphans:
                raise RecordingError(f"{self.path}: damaged recording (kept texts for a block at step {orphans[0][0]}, "
                                     "which is not recorded)")
        for (text,) in self._query("SELECT text FROM texts"):
            with _damage(self.path, "a kept reply text"):
                decompress_one(text)
        self.undecided()

    def _check_texts(self, first: int, last: int, kept: dict[int, set[int]]) -> None:
        """A block's kept texts must be those its records say are kept, no more, no fewer."""
        texts = self._texts(first, last)
        for step in sorted(kept.keys() | texts.keys()):
            missing = kept.get(step, set()) ^ texts.get(step, {}).keys()
            if missing:
                position = min(missing)
                what = "is missing" if position in kept.get(step, ()) else "is there, but its record keeps none"
                raise RecordingError(f"{self.path}: the kept texts of step {step} are damaged (sample {position + 1}'s "
                                     f"text {what})")


def _contiguous(path: Path, spans: list[tuple[Any, Any]], most: int) -> int:
    """The steps the blocks hold, checking that they follow one another from step 1 with no gap
    or overlap; raises :class:`RecordingError` otherwise."""
    expected = 1
    for first, last in spans:
        if type(first) is not int or type(last) is not int or first != expected or last < first:
            raise RecordingError(f"{path}: damaged recording (a block at step {first} where step {expected:,} "
                                 "should begin)")
        expected = last + 1
    if expected - 1 > most:
        raise RecordingError(f"{path}: damaged recording ({expected - 1:,} steps for a run of {most:,})")
    return expected - 1
