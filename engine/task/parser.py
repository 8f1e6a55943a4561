"""The answer parser, with the paper's rules. Anything it does not accept is a red flag with a
named reason.

The parser reads the *last* ``move =`` and the *last* ``next_state =`` anywhere in a reply: labels
in any case, any whitespace around ``=`` and inside the lists (newlines and non-breaking spaces
too), and whatever decoration surrounds them: inline or fenced backticks, bold, bullets, quotes,
prose before or after on the same line, a trailing full stop, Python's trailing commas. The move
must be three integers, the state three lists of integers that together hold each disk 1..N
exactly once. Being the *last* ``move =``, a ``previous move = [...]`` written after the answer is
the one read (the paper's rule; such a reply usually votes for a wrong candidate). Stricter than
the paper: the move's disk must be 1..N and its pegs two different ones of 0..2 (``bad_move``).
Whether the move is legal, or the state follows from it, is not the parser's business: that
makes a wrong vote, which voting handles, not a malformed one.
"""

from __future__ import annotations

import json
import re
from enum import StrEnum
from functools import lru_cache
from typing import NamedTuple

from engine.task.hanoi import Move, State


class RedFlag(StrEnum):
    """Why a sample was thrown away instead of counted as a vote."""

    TOO_LONG = "too_long"
    """The reply was cut at the token limit, used more output tokens than allowed, or is longer in
    characters than that many tokens could be (whatever usage the server reports)."""
    NO_MOVE = "no_move"
    """No ``move =`` anywhere."""
    NO_STATE = "no_state"
    """No ``next_state =`` anywhere."""
    BAD_MOVE = "bad_move"
    """The last move is not three integers naming a disk and two different pegs."""
    BAD_STATE = "bad_state"
    """The last state is not three integer lists holding each disk exactly once."""
    EMPTY = "empty"
    """The reply had no text: an empty message, or tool calls in place of an answer."""


class Answer(NamedTuple):
    """A parsed reply: the candidate a vote is cast for."""

    move: Move
    state: State


Parsed = Answer | RedFlag

_DECORATION = r"[\s*`]*"  # whitespace (newlines, non-breaking spaces), bold and backticks
_WORD_START = r"(?<![A-Za-z0-9])(?<![A-Za-z0-9]_)"  # not inside a word like "remove" or "my_next_state"
_MOVE_LABEL = re.compile(rf"{_WORD_START}move{_DECORATION}={_DECORATION}", re.IGNORECASE)
_STATE_LABEL = re.compile(rf"{_WORD_START}next_state{_DECORATION}={_DECORATION}", re.IGNORECASE)
_INTEGER = r"\s*([+-]?[0-9]+)\s*"
_MOVE = re.compile(rf"\[{_INTEGER},{_INTEGER},{_INTEGER},?\s*\]")
_PEG = r"\s*\[([^\[\]]*)\]\s*"
_STATE = re.compile(rf"\[{_PEG},{_PEG},{_PEG},?\s*\]")  # a trailing comma, as Python allows
_PEG_TEXT = re.compile(r"[\s0-9,]*")  # what a peg's list may hold: ASCII digits, commas, whitespace
_JSON_STATE = re.compile(r"[\[\]0-9, \t\n\r]*")  # a state JSON reads as it is
_decode = json.JSONDecoder().raw_decode


def _last(label: re.Pattern[str], word: str, text: str, lowered: str) -> int:
    """Where the value after the last ``label =`` starts, or -1 when there is none.

    The word is looked for from the end in the lowered text, and the label matched there: much
    faster than scanning the whole reply with a case-blind pattern. (When lowering changes the
    text's length, as a few characters outside ASCII do, the pattern scans the reply instead.)
    """
    if len(lowered) == len(text):
        at = lowered.rfind(word)
        while at >= 0:
            found = label.match(text, at)
            if found is not None:
                return found.end()
            at = lowered.rfind(word, 0, at)
        return -1
    ends = [found.end() for found in label.finditer(text)]
    return ends[-1] if ends else -1


def _json_state(text: str, at: int) -> tuple[tuple[int, ...], ...] | None:
    """Three lists of plain integers as JSON writes them, read from ``at``; None when the text
    there is anything else (the general reader then decides)."""
    try:
        pegs, end = _decode(text, at)
    except ValueError:
        return None
    if type(pegs) is not list or len(pegs) != 3 or _JSON_STATE.fullmatch(text, at, end) is None:
        return None
    first, second, third = pegs
    if type(first) is not list or type(second) is not list or type(third) is not list:
        return None
    return (tuple(first), tuple(second), tuple(third))


def _peg(listed: str) -> tuple[int, ...] | None:
    """The disks of one peg, written as integers separated by commas; None when that is not so."""
    if _PEG_TEXT.fullmatch(listed) is None:
        return None
    listed = listed.rstrip().removesuffix(",")  # a trailing comma, as Python allows
    if not listed.strip():
        return ()
    try:
        return tuple(map(int, listed.split(",")))
    except ValueError:  # an empty place: "3,,2" or a trailing comma
        return None


@lru_cache(maxsize=1024)
def parse_answer(text: str, disks: int) -> Parsed:
    """Parse a reply into its candidate, or name the red flag that rejects it.

    Identical replies are common (temperature 0), so results are cached by text.
    """
    lowered = text.lower()
    move_at = _last(_MOVE_LABEL, "move", text, lowered)
    if move_at < 0:
        return RedFlag.NO_MOVE
    state_at = _last(_STATE_LABEL, "next_state", text, lowered)
    if state_at < 0:
        return RedFlag.NO_STATE
    move = _MOVE.match(text, move_at)
    if move is None:
        return RedFlag.BAD_MOVE
    try:
        disk, source, target = int(move[1]), int(move[2]), int(move[3])
    except ValueError:  # a number too long for int() to read is no disk or peg anyway
        return RedFlag.BAD_MOVE
    if not (1 <= disk <= disks and 0 <= source <= 2 and 0 <= target <= 2 and source != target):
        return RedFlag.BAD_MOVE
    pegs = _json_state(text, state_at)  # the usual case, read by the C decoder
    if pegs is None:
        state = _STATE.match(text, state_at)
        if state is None:
            return RedFlag.BAD_STATE
        pegs = (_peg(state[1]), _peg(state[2]), _peg(state[3]))  # type: ignore[assignment]
    if pegs[0] is None or pegs[1] is None or pegs[2] is None:
        return RedFlag.BAD_STATE
    try:
        if sorted(pegs[0] + pegs[1] + pegs[2]) != _all_disks(disks):
            return RedFlag.BAD_STATE
    except TypeError:  # a list where a disk should be
        return RedFlag.BAD_STATE
    return Answer((disk, source, target), pegs)  # type: ignore[arg-type]


@lru_cache(maxsize=64)
def _all_disks(disks: int) -> list[int]:
    return list(range(1, disks + 1))


MAX_CHARS_PER_TOKEN = 10
"""More characters a token than any tokenizer writes on average (English and code run about
four): a reply longer than ``max_tokens`` times this ran past the limit, whatever usage the
server reports."""


def is_too_long(finish_reason: str | None, tokens_out: int, max_tokens: int, chars: int = 0) -> bool:
    """The ``too_long`` rule: the reply was cut at the token limit, or ran past it, by the tokens
    the server counted or by its length in characters."""
    return finish_reason == "length" or tokens_out > max_tokens or chars > max_tokens * MAX_CHARS_PER_TOKEN


def judge_reply(text: str, finish_reason: str | None, tokens_out: int, max_tokens: int, disks: int) -> Parsed:
    """A reply's candidate, or the red flag that rejects it: too long first (an empty reply cut at
    the limit, as reasoning models leave one, included), then empty, then the parser's."""
    if is_too_long(finish_reason, tokens_out, max_tokens, len(text)):
        return RedFlag.TOO_LONG  # before the cache: a megabyte reply is never kept in it
    return _judge_text(text, disks)


@lru_cache(maxsize=1024)
def _judge_text(text: str, disks: int) -> Parsed:
    """Cached: a step's samples at temperature 0 and many at 0.1 are the same reply, counted the same."""
    if not text or text.isspace():
        return RedFlag.EMPTY
    return parse_answer(text, disks)


EVIDENCE_CHARS = 80
"""The most of a reply :func:`evidence` quotes."""


def evidence(text: str, reason: RedFlag) -> str | None:
    """The part of a reply that set off its red flag: the last ``move =`` or ``next_state =`` line
    the parser read, or the end of a reply cut at the limit; None when the flag is an absence."""
    if reason is RedFlag.TOO_LONG:
        tail = text.rstrip()[-EVIDENCE_CHARS:]
        return ("…" + tail.lstrip()) if len(text.rstrip()) > EVIDENCE_CHARS else tail or None
    label = {RedFlag.BAD_MOVE: _MOVE_LABEL, RedFlag.BAD_STATE: _STATE_LABEL}.get(reason)
    if label is None:
        return None
    found = [match.start() for match in label.finditer(text)]
    if not found:
        return None
    start = found[-1]
    end = text.find("\n", start)
    line = text[start : end if end >= 0 else len(text)].strip()
    return line if len(line) <= EVIDENCE_CHARS else line[: EVIDENCE_CHARS - 1] + "…"


def format_answer(answer: Answer) -> str:
    """The two answer lines for ``answer``, plainly, as the guided prompt asks for them."""
    move, state = answer
    return (
        f"move = [{move[0]}, {move[1]}, {move[2]}]\n"
        f"next_state = [{list(state[0])}, {list(state[1])}, {list(state[2])}]"
    )
