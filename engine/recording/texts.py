"""Kept reply texts, a block at a time: the block's distinct texts compressed together as one
stream, with an index from each (step, sample position) to its text.

Replies repeat: the samples of a step are often one text (a model at temperature 0, the simulated
model's right reply), and a step's reply differs from the next one's in a few numbers. So a block
keeps each distinct text once and compresses them all in one zlib stream, whose 32 KB window
finds what neighbouring steps share: a 20-disk simulated run's texts take about 15 bytes a step of
the file (pages and all), against some 600 kept one by one.

A block's blob is ``zlib(payload)`` (zlib's checksum catches damage), the payload little-endian:
``<II`` entries E and texts T; E u16 step offsets in the block, E u16 first sample positions, E u16
sample counts, E i32 text numbers (an entry gives samples first..first+count-1 of a step one text);
T u32 text lengths in code points; then the texts back to back in UTF-8. Offsets and text numbers
are stored as differences from the entry before (from 0 and -1 for the first), which compress to
almost nothing: an index costs well under a byte a step.

Schemas 1 to 3 kept one row per sample in the ``texts`` table, each text compressed alone; that
table still holds undecided attempts' texts, and a schema-1 file resumed goes on writing there.
"""

from __future__ import annotations

import struct
import zlib
from array import array
from itertools import accumulate
from operator import sub
from typing import Any

BLOCK_TEXTS_TABLE = "CREATE TABLE IF NOT EXISTS block_texts (first_step INTEGER PRIMARY KEY, texts BLOB NOT NULL)"
LEVEL = 6
"""zlib's default, for a served model's replies: replies of real length (some 260 tokens) cost about
70 bytes a step, against 120 at level 3 and 65 at level 9 (twice level 6's time); lzma and bz2 save
15-30% more at ten times the time."""
FAST_LEVEL = 3
"""For the simulated model's run, a million steps in half a minute: its short replies cost 13.5
bytes a step in half level 6's time (0.2 ms a block), and a block's blob fills one page either way."""
COUNTS = struct.Struct("<II")


class TextsError(ValueError):
    """A block's kept texts that cannot be read back."""


class BlockTexts:
    """The texts a block keeps, gathered as its steps are recorded (see the module docstring)."""

    __slots__ = ("ids", "refs")

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        """Each distinct text and its number, in the order they came."""
        self.refs: list[tuple[int, int, int, int]] = []
        """(step offset, first sample position, samples, text number)."""

    def __bool__(self) -> bool:
        return bool(self.refs)

    def add_plain(self, offset: int, samples: int, text: str) -> None:
        """Keep a step's one text for all its samples (the recorder's shortcut: keep it cheap)."""
        ids = self.ids
        number = ids.get(text)
        if number is None:
            number = ids[text] = len(ids)
        self.refs.append((offset, 0, samples, number))

    def add(self, offset: int, texts: list[tuple[int, str]]) -> None:
        """Keep a step's texts, (sample position, text) in position order; runs of one text at
        consecutive positions make one entry."""
        ids, refs = self.ids, self.refs
        last = None
        for position, text in texts:
            number = ids.get(text)
            if number is None:
                number = ids[text] = len(ids)
            if last is not None and last[3] == number and last[1] + last[2] == position:
                last = (offset, last[1], last[2] + 1, number)
                refs[-1] = last
            else:
                last = (offset, position, 1, number)
                refs.append(last)

    def pack(self, level: int = LEVEL) -> bytes:
        """The block's blob, compressed at zlib's ``level``."""
        refs = self.refs
        offsets, firsts, counts, numbers = zip(*refs, strict=True) if refs else ((), (), (), ())
        texts = list(self.ids)
        payload = b"".join((
            COUNTS.pack(len(refs), len(texts)),
            array("H", map(sub, offsets, (0, *offsets))).tobytes(),
            array("H", firsts).tobytes(),
            array("H", counts).tobytes(),
            array("i", map(sub, numbers, (-1, *numbers))).tobytes(),
            array("I", map(len, texts)).tobytes(),
            "".join(texts).encode("utf-8", "surrogatepass"),
        ))
        return zlib.compress(payload, level)

    def legacy_rows(self, first_step: int) -> list[tuple[int, int, int, bytes]]:
        """The same texts as rows of the ``texts`` table (a schema-1 file): one a sample."""
        texts = list(self.ids)
        compressed: dict[int, bytes] = {}
        rows = []
        for offset, first, count, number in self.refs:
            blob = compressed.get(number)
            if blob is None:
                blob = compressed[number] = compress_one(texts[number])
            rows.extend((first_step + offset, 0, position, blob) for position in range(first, first + count))
        return rows


def compress_one(text: str) -> bytes:
    """One text as a row of the ``texts`` table keeps it (half a surrogate pair, which a server's
    JSON may send, passes through as it does in a block's texts)."""
    return zlib.compress(text.encode("utf-8", "surrogatepass"))


def decompress_one(blob: bytes) -> str:
    return zlib.decompress(blob).decode("utf-8", "surrogatepass")


def unpack(blob: Any, first_step: int, last_step: int) -> dict[int, dict[int, str]]:
    """A block's kept texts by step and sample position; raises :class:`TextsError` if damaged."""
    if type(blob) is not bytes:
        raise TextsError("not a blob")
    try:
        payload = zlib.decompress(blob)
        entries, count = COUNTS.unpack_from(payload)
    except (zlib.error, struct.error) as exc:
        raise TextsError(str(exc)) from None
    at = COUNTS.size
    columns = []
    for kind, n in (("H", entries), ("H", entries), ("H", entries), ("i", entries), ("I", count)):
        size = array(kind).itemsize * n
        if at + size > len(payload):
            raise TextsError("its index runs past its end")
        columns.append(array(kind, payload[at : at + size]))
        at += size
    offset_steps, firsts, counts, number_steps, lengths = columns
    offsets = accumulate(offset_steps)
    numbers = accumulate(number_steps, initial=-1)
    next(numbers)
    try:
        whole = payload[at:].decode("utf-8", "surrogatepass")
    except UnicodeDecodeError as exc:
        raise TextsError(str(exc)) from None
    if sum(lengths) != len(whole):
        raise TextsError("its texts are not the lengths its index gives")
    texts = []
    start = 0
    for length in lengths:
        texts.append(whole[start : start + length])
        start += length
    by_step: dict[int, dict[int, str]] = {}
    for offset, first, n, number in zip(offsets, firsts, counts, numbers, strict=True):
        step = first_step + offset
        if step > last_step or not 0 <= number < len(texts):
            raise TextsError(f"an entry for step {step}, text {number} of {len(texts)}")
        text = texts[number]
        kept = by_step.setdefault(step, {})
        for position in range(first, first + n):
            kept[position] = text
    return by_step
