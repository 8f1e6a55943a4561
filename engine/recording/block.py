"""A block being recorded: its steps' records, kept texts and totals, and the rows they make."""

from __future__ import annotations

from typing import Any

from engine.recording.codec import pack_move, pack_state
from engine.recording.texts import BlockTexts
from engine.run.totals import Totals, totals_to_json
from engine.task.hanoi import Move, State
from engine.task.parser import Answer


class Block:
    """The steps recorded since the last sealed block, with their own totals."""

    __slots__ = ("first_step", "state", "previous_move", "after", "records", "texts", "totals", "written")

    def __init__(self, first_step: int, state: State, previous_move: Move | None) -> None:
        self.first_step, self.state, self.previous_move = first_step, state, previous_move
        self.after: Answer | None = None
        """The last recorded step's winner: the state and move the next block starts from."""
        self.records: list[bytes] = []
        self.texts = BlockTexts()
        self.totals = Totals()
        self.written = 0
        """Its steps written while it was open (a slow run's): its next write replaces that row."""

    def texts_for_file(self, legacy: bool, level: int, rows: list[Any], blobs: list[Any]) -> None:
        """Add the block's texts to what a write inserts: one blob (compressed at zlib's ``level``),
        or (``legacy``, a schema-1 file) rows of the ``texts`` table."""
        if not self.texts:
            return
        if legacy:
            rows += self.texts.legacy_rows(self.first_step)
        else:
            blobs.append((self.first_step, self.texts.pack(level)))

    def row(self) -> tuple[Any, ...]:
        return (
            self.first_step,
            self.first_step + len(self.records) - 1,
            pack_state(self.state),
            pack_move(self.previous_move),
            totals_to_json(self.totals),
            b"".join(self.records),
        )
