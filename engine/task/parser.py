"""The strict answer parser. Anything it does not accept is a red flag with a named reason.

The parser reads the *last* ``move = [...]`` and the *last* ``next_state = [[...],[...],[...]]`` of a
reply, each starting its own line and with nothing after it on that line. The move must be three integers naming a disk 1..N and two different pegs 0..2; the state
must be three integer lists that together hold each disk 1..N exactly once. Whether the move is
legal or the state follows from it is not the parser's business: that makes a wrong vote, which
voting handles, not a malformed one.
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
    """The reply was cut at the token limit or used more output tokens than allowed."""
    NO_MOVE = "no_move"
    """No ``move = [...]`` line."""
    NO_STATE = "no_state"
    """No ``next_state = ...`` line."""
    BAD_MOVE = "bad_move"
    """The last move is not three integers naming a disk and two different pegs."""
    BAD_STATE = "bad_state"
    """The last state is not three integer lists holding each disk exactly once."""


class Answer(NamedTuple):
    """A parsed reply: the candidate a vote is cast for."""

    move: Move
    state: State


Parsed = Answer | RedFlag

_EQUALS = re.compile(r"[ \t]*=[ \t]*")
_INT = r"(0|[1-9][0-9]*)"  # plain integers, as JSON writes them: no sign, no leading zeros
_MOVE_BODY = re.compile(rf"\[[ \t]*{_INT}[ \t]*,[ \t]*{_INT}[ \t]*,[ \t]*{_INT}[ \t]*\][ \t\r]*$", re.MULTILINE)
_STATE_CHARS = re.compile(r"[\[\]0-9, \t\r]*")
_decode = json.JSONDecoder().raw_decode


def _after_last(label: str, text: str) -> int:
    """Where the value after the last ``label =`` that starts a line starts, or -1."""
    at = text.rfind(label)
    while at >= 0:
        line_start = text.rfind("\n", 0, at) + 1
        if (line_start == at or text[line_start:at].isspace()) and (equals := _EQUALS.match(text, at + len(label))):
            return equals.end()
        at = text.rfind(label, 0, at)
    return -1


@lru_cache(maxsize=1024)
def parse_answer(text: str, disks: int) -> Parsed:
    """Parse a reply into its candidate, or name the red flag that rejects it.

    Identical replies are common (temperature 0), so results are cached by text.
    """
    move_at = _after_last("move", text)
    if move_at < 0:
        return RedFlag.NO_MOVE
    state_at = _after_last("next_state", text)
    if state_at < 0:
        return RedFlag.NO_STATE
    move_match = _MOVE_BODY.match(text, move_at)
    if move_match is None:
        return RedFlag.BAD_MOVE
    disk, source, target = int(move_match[1]), int(move_match[2]), int(move_match[3])
    if not (1 <= disk <= disks and source <= 2 and target <= 2 and source != target):
        return RedFlag.BAD_MOVE
    end = text.find("\n", state_at)
    line = text[state_at:] if end < 0 else text[state_at:end]
    if _STATE_CHARS.fullmatch(line) is None:
        return RedFlag.BAD_STATE
    try:
        pegs, end = _decode(line)
        if end != len(line.rstrip()) or type(pegs) is not list or len(pegs) != 3:
            return RedFlag.BAD_STATE
        first, second, third = pegs
        if type(first) is not list or type(second) is not list or type(third) is not list:
            return RedFlag.BAD_STATE
        if sorted(first + second + third) != _all_disks(disks):
            return RedFlag.BAD_STATE
    except (ValueError, TypeError):
        return RedFlag.BAD_STATE
    return Answer((disk, source, target), (tuple(first), tuple(second), tuple(third)))


@lru_cache(maxsize=64)
def _all_disks(disks: int) -> list[int]:
    return list(range(1, disks + 1))


def is_too_long(finish_reason: str | None, tokens_out: int, max_tokens: int) -> bool:
    """The ``too_long`` rule: the reply was cut at the token limit, or ran past it."""
    return finish_reason == "length" or tokens_out > max_tokens


@lru_cache(maxsize=1024)
def judge_reply(text: str, finish_reason: str | None, tokens_out: int, max_tokens: int, disks: int) -> Parsed:
    """A reply's candidate, or the red flag that rejects it: too long first, then the parser's.

    Cached: a step's samples at temperature 0 and many at 0.1 are the same reply, counted the same."""
    if is_too_long(finish_reason, tokens_out, max_tokens):
        return RedFlag.TOO_LONG
    return parse_answer(text, disks)


def format_answer(answer: Answer) -> str:
    """The two answer lines for ``answer``, exactly as the prompt asks for them."""
    move, state = answer
    return (
        f"move = [{move[0]}, {move[1]}, {move[2]}]\n"
        f"next_state = [{list(state[0])}, {list(state[1])}, {list(state[2])}]"
    )
