"""The recording file: its SQLite schema, its metadata, the records a reader returns, and the
checks that reject a file that is not a usable recording from its header alone.

Layout (``PRAGMA application_id`` marks the file as maker's; ``user_version`` is the schema):

- ``meta``: the run's configuration and history as JSON (never an API key).
- ``blocks``: runs of consecutive decided steps. A block holds the state before its first step and
  the move before it, its own totals, and its steps' records back to back
  (:mod:`engine.recording.codec`). Seeking reads one block; resuming reads the last one.
- ``block_texts``: the raw replies kept of a block's steps, its distinct texts compressed together
  (:mod:`engine.recording.texts`): red-flagged and minority samples, or all with keep_text.
- ``texts``: raw replies one a row, each zlib-compressed: an undecided attempt's, and before schema 4
  every kept one.
- ``undecided``: the samples of steps that hit their cap, which a resumed run samples again.

Schema 2 records each sample's input tokens exactly; schema 1 (still read) kept a step's total,
which readers split evenly over its replies and mark as estimated. Schema 3 has schema 2's tables;
its metadata may hold a served model's wire and its samples the red flag ``empty``, which a
maker that knows only schema 2 would take for damage: the version tells it to upgrade instead.
Schema 4 keeps a block's texts in ``block_texts`` and marks a plain step whose every text is kept
(``ALL_TEXT``); a maker that knows only schema 3 would show such a step without its texts.
Resuming a schema-2 or schema-3 file makes it schema 4: its earlier steps keep their texts in
``texts``, where a reader still finds them, and the steps after the resume keep theirs in
``block_texts``. Resuming a schema-1 file leaves it schema 1 (its records lack each sample's input
tokens) and goes on writing the old way, one row a text.
"""

from __future__ import annotations

import struct
import time
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from engine.models.pricing import Pricing
from engine.models.sampler import WireReport
from engine.recording.texts import BLOCK_TEXTS_TABLE
from engine.run.config import RunConfig
from engine.task.hanoi import Move, State
from engine.task.parser import Answer, RedFlag
from engine.task.verdict import right_answer

APPLICATION_ID = 0x4D414B52  # "MAKR"
SCHEMA_VERSION = 4
OLDEST_SCHEMA = 1
BLOCK_STEPS = 256
FLUSH_INTERVAL_S = 0.5
SUFFIX = ".maker"

SCHEMA = f"""
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
{BLOCK_TEXTS_TABLE};
CREATE TABLE undecided (
    attempt INTEGER PRIMARY KEY,
    step INTEGER NOT NULL,
    state BLOB NOT NULL,
    previous_move INTEGER,
    record BLOB NOT NULL
);
"""


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
    """The sampler's own settings (the simulated model's seed, a served model's request options)."""
    price_in: float | None = None
    price_out: float | None = None
    keep_text: bool = False
    k_segments: list[tuple[int, int]] = Field(default_factory=list)
    """(first step, k) for each stretch of the run; ``maker resume --k`` starts a new one."""
    last_stop: str | None = None
    last_message: str | None = None
    wire: WireReport | None = None
    """What went over the wire to a served model, over every session of the run (requests,
    retries, faults, rates, servers); kept up to date while the run goes on."""

    @property
    def pricing(self) -> Pricing | None:
        return Pricing.known(self.price_in, self.price_out)

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
    """Its position among the step's samples in arrival order, from 0."""
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
    first: bool = False
    """It was the step's first sample (launch index 0, at the first temperature): what one agent
    alone would have answered."""


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

    def single_right(self) -> bool | None:
        """Whether the step's first sample was the audit's answer: what one agent alone would
        have got right; None when it never came back."""
        first = next((sample for sample in self.samples if sample.first), None)
        if first is None or first.cancelled:
            return None
        if first.answer is None:
            return False
        if self.correct and self.answer is not None:
            return first.answer == self.answer
        return first.answer == right_answer(self.state, self.previous_move)


def recording_meta(
    config: RunConfig,
    model: str,
    sampler: dict[str, Any],
    *,
    pricing: Pricing | None,
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
        price_in=pricing.input_usd_per_m if pricing else None,
        price_out=pricing.output_usd_per_m if pricing else None,
        keep_text=keep_text,
        k_segments=[(1, config.k)],
    )


def check_file(path: Path) -> int:
    """Reject, from its header (and whether a log lies beside it), a file that is not a usable
    maker recording; returns its schema version."""
    path = Path(path)
    if not path.exists():
        raise RecordingError(f"{path}: no such file")
    if not path.is_file():
        raise RecordingError(f"{path}: not a file")
    try:
        with open(path, "rb") as handle:
            header = handle.read(100)
    except OSError as exc:
        raise RecordingError(f"{path}: cannot read it ({exc.strerror})") from None
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
    if user_version < OLDEST_SCHEMA:
        raise RecordingError(f"{path}: damaged recording (schema version {user_version})")
    (page_size,) = struct.unpack(">H", header[16:18])
    page_size = 65536 if page_size == 1 else page_size
    size = path.stat().st_size
    pages, change_counter, valid_for = (struct.unpack(">I", header[at : at + 4])[0] for at in (28, 24, 92))
    if page_size < 512 or size % page_size:
        raise RecordingError(f"{path}: truncated ({size:,} bytes, not a whole number of {page_size:,}-byte pages)")
    # With a write-ahead log beside it, the pages that count may be in the log: a checkpoint that
    # ran out of disk space can leave a header promising pages the file never got. SQLite reads the
    # log; the whole-file check (Recording.verify) judges what it reads.
    wal = Path(f"{path}-wal")
    if change_counter == valid_for and size < pages * page_size and not (wal.is_file() and wal.stat().st_size):
        raise RecordingError(f"{path}: truncated ({size:,} bytes, the header promises {pages * page_size:,})")
    return user_version
