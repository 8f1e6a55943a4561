"""A step's record: its samples packed in arrival order, and back again.

For each sample the record keeps the candidate it voted for (0 is the winner) or its red flag, its
temperature (the step's first or the other), whether it was cancelled or cut at the token limit,
its output tokens and latency; plus the winner's move, its state only when the move does not
explain it, the losing candidates, the audit verdict and the input tokens (the step's total, and
each sample's when they differ). A unanimous step whose replies are one text is 13 bytes, whether
its text is kept (``ALL_TEXT``, schema 4) or not; the texts themselves are kept apart
(:mod:`engine.recording.texts`).

Layout: header ``<BHHII`` (flags, samples, winner move, input tokens, uniform output tokens), then
unless ``PLAIN`` a u16 code per sample, unless ``UNIFORM_OUT`` a u32 output count per sample, with
``PER_SAMPLE_IN`` a u32 input count per sample, with ``WITH_LATENCY`` an f32 latency per sample,
with ``WITH_STATE`` the winner's state (u8 length, bytes), with ``WITH_OTHERS`` the losing
candidates (u16 length, bytes). Token counts are u32: a step's input tokens must add up to less
than 2**32. Decoding damaged bytes raises :class:`CodecError`.
"""

from __future__ import annotations

import struct
from array import array
from functools import partial
from typing import NamedTuple

from engine.recording.format import SampleRecord
from engine.run.events import StepSample
from engine.task.hanoi import IllegalMove, Move, State, apply_move
from engine.task.parser import Answer, RedFlag
from engine.task.verdict import follows

# A sample's code: the candidate's index (0 is the step's winner) or the red flag's, and flags.
INDEX_MASK = 0x3FF
RED_FLAG = 1 << 10
FIRST_TEMPERATURE = 1 << 11
CANCELLED = 1 << 12
CUT = 1 << 13
TEXT = 1 << 14
ARRIVED = 1 << 15  # a reply came back (and was paid for); unset for samples cancelled in flight
REASONS = list(RedFlag)
REASON_CODE = {reason: code for code, reason in enumerate(REASONS)}

# A step record's flags.
CORRECT = 1
WITH_STATE = 2  # the winner's state is stored: its move does not explain it
WITH_OTHERS = 4
WITH_LATENCY = 8
PLAIN = 16  # every sample a vote for the winner, none cut or with kept text: no codes stored
UNIFORM_OUT = 32  # every sample the same output tokens: one count stored
PER_SAMPLE_IN = 64  # the replies' input tokens differ: one count per sample stored (schema 2)
ALL_TEXT = 128  # with PLAIN: every sample's text is kept (schema 4)
HEADER = struct.Struct("<BHHII")  # flags, samples, winner move, input tokens, uniform output tokens
PLAIN_HEADER = partial(HEADER.pack, CORRECT | PLAIN | UNIFORM_OUT)
PLAIN_TEXT_HEADER = partial(HEADER.pack, CORRECT | PLAIN | UNIFORM_OUT | ALL_TEXT)
PEG_END = 0xFF
MAX_U32 = 2**32 - 1


class CodecError(ValueError):
    """Bytes that are not a valid step record."""


def pack_move(move: Move | None) -> int | None:
    return None if move is None else (move[0] << 4) | (move[1] << 2) | move[2]


def unpack_move(packed: int) -> Move:
    return (packed >> 4, (packed >> 2) & 3, packed & 3)


def pack_state(state: State) -> bytes:
    return bytes([*state[0], PEG_END, *state[1], PEG_END, *state[2]])


def unpack_state(packed: bytes) -> State:
    pegs = packed.split(bytes([PEG_END]))
    if len(pegs) != 3:
        raise CodecError("a state without three pegs")
    return (tuple(pegs[0]), tuple(pegs[1]), tuple(pegs[2]))


def _pack_answers(shown: State, answers: list[Answer]) -> bytes:
    """Candidates: move, then the state only when the move does not explain it."""
    out = bytearray()
    for answer in answers:
        if follows(shown, answer):
            out += struct.pack("<HB", pack_move(answer.move), 0)
        else:
            packed = pack_state(answer.state)
            out += struct.pack("<HB", pack_move(answer.move), len(packed)) + packed
    return bytes(out)


def unpack_answers(shown: State, packed: bytes) -> list[Answer]:
    answers: list[Answer] = []
    at = 0
    try:
        while at < len(packed):
            move_code, size = struct.unpack_from("<HB", packed, at)
            at += 3
            move = unpack_move(move_code)
            if size:
                state = unpack_state(packed[at : at + size])
                at += size
            else:
                state = apply_move(shown, move)
            answers.append(Answer(move, state))
    except (struct.error, IllegalMove) as exc:
        raise CodecError(f"a losing candidate is damaged ({exc})") from None
    return answers


def encode_step(
    shown: State,
    winner: Answer | None,
    correct: bool,
    samples: tuple[StepSample, ...],
    keep_text: bool,
    texts: list[tuple[int, str]],
    *,
    exact_tokens_in: bool = True,
    all_text: bool = True,
) -> tuple[bytes, int, int, int]:
    """Pack a step's samples (arrival order) into a record; appends (position, text) pairs to keep,
    in position order.

    Returns the record, the valid votes, and the input and output tokens. Without
    ``exact_tokens_in`` (appending to a schema-1 file) only the step's input total is kept; without
    ``all_text`` (the same) a plain step whose texts are kept is not recorded as one.
    """
    n = len(samples)
    move = pack_move(winner.move) if winner is not None else 0
    flags = CORRECT if correct else 0
    # A correct winner's state is by definition what its move makes of the shown state.
    if winner is not None and not correct and not follows(shown, winner):
        flags |= WITH_STATE
    if n and winner is not None and (all_text or not keep_text) and samples[0][0] == 0:
        # The common step: every sample a vote for the winner, all one reply (one text).
        first = samples[0][3]
        plain = first is not None and not first.latency_s and first.finish_reason != "length"
        if plain:
            for _, _, outcome, completion in samples:
                if completion is not first or not (outcome is winner or outcome == winner):
                    plain = False
                    break
        if plain and first.tokens_in * n <= MAX_U32:  # type: ignore[union-attr]
            tokens_in, tokens_out = first.tokens_in * n, first.tokens_out  # type: ignore[union-attr]
            if keep_text:
                flags |= ALL_TEXT
                texts.extend((position, first.text) for position in range(n))  # type: ignore[union-attr]
            record = HEADER.pack(flags | PLAIN | UNIFORM_OUT, n, move, tokens_in, tokens_out)
            if flags & WITH_STATE:
                packed = pack_state(winner.state)  # type: ignore[union-attr]
                record += bytes([len(packed)]) + packed
            return record, n, tokens_in, tokens_out * n
    codes, outs, ins, latencies = array("H"), array("I"), array("I"), array("f")
    others: dict[Answer, int] = {}
    votes = 0
    for position, (index, _, outcome, completion) in enumerate(samples):
        code = FIRST_TEMPERATURE if index == 0 else 0
        keep = keep_text
        if outcome is None:
            code |= CANCELLED
        elif outcome.__class__ is Answer:
            votes += 1
            if outcome is winner or outcome == winner:
                candidate = 0
            else:
                candidate = others.setdefault(outcome, len(others) + 1)  # type: ignore[arg-type]
                keep = True
            if candidate > INDEX_MASK:
                raise CodecError(f"more than {INDEX_MASK} candidates in a step cannot be recorded")
            code |= candidate
        else:
            code |= RED_FLAG | REASON_CODE[outcome]  # type: ignore[index]
            keep = True
        if completion is None:
            outs.append(0)
            ins.append(0)
            latencies.append(0.0)
        else:
            code |= ARRIVED
            outs.append(completion.tokens_out)
            ins.append(completion.tokens_in)
            latencies.append(completion.latency_s)
            if completion.finish_reason == "length":
                code |= CUT
            if keep:
                code |= TEXT
                texts.append((position, completion.text))
        codes.append(code)
    uniform = len(set(outs)) <= 1
    if uniform:
        flags |= UNIFORM_OUT
    if exact_tokens_in and len({tokens for tokens, code in zip(ins, codes, strict=True) if code & ARRIVED}) > 1:
        flags |= PER_SAMPLE_IN
    if any(latencies):
        flags |= WITH_LATENCY
    if others:
        flags |= WITH_OTHERS
    tokens_in = sum(ins)
    if tokens_in > MAX_U32:
        raise CodecError(f"a step's {tokens_in:,} input tokens are more than a record holds")
    parts = [HEADER.pack(flags, n, move, tokens_in, outs[0] if uniform and n else 0), codes.tobytes()]
    if not uniform:
        parts.append(outs.tobytes())
    if flags & PER_SAMPLE_IN:
        parts.append(ins.tobytes())
    if flags & WITH_LATENCY:
        parts.append(latencies.tobytes())
    if flags & WITH_STATE:
        packed = pack_state(winner.state)  # type: ignore[union-attr]
        parts.append(bytes([len(packed)]) + packed)
    if others:
        packed = _pack_answers(shown, list(others))
        parts.append(struct.pack("<H", len(packed)) + packed)
    return b"".join(parts), votes, tokens_in, sum(outs)


class RawStep(NamedTuple):
    """A step record's fields, before its candidates and samples are made of them."""

    flags: int
    move: Move
    tokens_in: int
    codes: list[int]
    outs: list[int]
    ins: list[int] | None
    """Each sample's input tokens, when the record stores them (they differ)."""
    latencies: list[float] | None
    state: State | None
    others: bytes


def _array(kind: str, data: bytes, at: int, n: int) -> list[int] | list[float]:
    size = array(kind).itemsize
    chunk = data[at : at + size * n]
    if len(chunk) != size * n:
        raise CodecError("a step record runs past its block")
    return array(kind, chunk).tolist()


def decode_record(data: bytes, at: int) -> tuple[RawStep, int]:
    """One step record at ``at``: its fields and where the next record starts."""
    try:
        flags, n, move_code, tokens_in, uniform_out = HEADER.unpack_from(data, at)
    except struct.error:
        raise CodecError("a step record runs past its block") from None
    at += HEADER.size
    if flags & PLAIN:
        text = TEXT if flags & ALL_TEXT else 0
        codes = [ARRIVED | text | (FIRST_TEMPERATURE if i == 0 else 0) for i in range(n)]
    else:
        codes = _array("H", data, at, n)  # type: ignore[assignment]
        at += 2 * n
    if flags & UNIFORM_OUT:
        outs = [uniform_out] * n
    else:
        outs = _array("I", data, at, n)  # type: ignore[assignment]
        at += 4 * n
    ins = None
    if flags & PER_SAMPLE_IN:
        ins = _array("I", data, at, n)
        at += 4 * n
    latencies = None
    if flags & WITH_LATENCY:
        latencies = _array("f", data, at, n)
        at += 4 * n
    state = None
    if flags & WITH_STATE:
        if at >= len(data):
            raise CodecError("a step record runs past its block")
        size = data[at]
        state = unpack_state(data[at + 1 : at + 1 + size])
        at += 1 + size
    others = b""
    if flags & WITH_OTHERS:
        try:
            (size,) = struct.unpack_from("<H", data, at)
        except struct.error:
            raise CodecError("a step record runs past its block") from None
        others = data[at + 2 : at + 2 + size]
        at += 2 + size
    if at > len(data):
        raise CodecError("a step record runs past its block")
    raw = RawStep(flags, unpack_move(move_code), tokens_in, codes, outs, ins, latencies, state, others)  # type: ignore[arg-type]
    return raw, at


def decode_samples(
    raw: RawStep, candidates: list[Answer], texts: dict[int, str], first_temperature: float, temperature: float
) -> tuple[SampleRecord, ...]:
    """A record's samples in arrival order; ``candidates`` are the winner (if any) then the losing
    candidates, ``texts`` the kept texts by position."""
    tokens_in = input_tokens(raw)
    samples = []
    for index, code in enumerate(raw.codes):
        answer = red_flag = None
        if code & CANCELLED:
            pass
        elif code & RED_FLAG:
            if (code & INDEX_MASK) >= len(REASONS):
                raise CodecError("an unknown red flag")
            red_flag = REASONS[code & INDEX_MASK]
        else:
            candidate = code & INDEX_MASK
            if candidate >= len(candidates):
                raise CodecError(f"a vote for candidate {candidate} of {len(candidates)}")
            answer = candidates[candidate]
        samples.append(SampleRecord(
            index=index,
            temperature=first_temperature if code & FIRST_TEMPERATURE else temperature,
            answer=answer,
            red_flag=red_flag,
            tokens_in=tokens_in[index] if code & ARRIVED else 0,
            tokens_out=raw.outs[index],
            latency_s=raw.latencies[index] if raw.latencies is not None else 0.0,
            cancelled=bool(code & CANCELLED),
            cut=bool(code & CUT),
            text=texts.get(index) if code & TEXT else None,
            first=bool(code & FIRST_TEMPERATURE),
        ))
    return tuple(samples)


def input_tokens(raw: RawStep) -> list[int]:
    """Each sample's input tokens: stored, or the step's total spread over the replies that
    arrived (exact when they all answered one prompt with one count, as schema 2 guarantees)."""
    if raw.ins is not None:
        return raw.ins
    arrived = sum(1 for code in raw.codes if code & ARRIVED)
    base, extra = divmod(raw.tokens_in, arrived) if arrived else (0, 0)
    spread = []
    seen = 0
    for code in raw.codes:
        if code & ARRIVED:
            spread.append(base + (1 if seen < extra else 0))
            seen += 1
        else:
            spread.append(0)
    return spread
