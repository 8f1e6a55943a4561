"""What the simulated model makes of a prompt: the current state, the previous move, and the
answer format asked for. It reads the prompt as text, whatever its style.

The built-in prompts label the two values (``Previous move:``, ``Current State:``), and those
labels are found first, in any case. A user's template may say anything around them: then the
state is the last list of three lists in the step's message, and the previous move the last list
of three numbers that stands on its own (not inside the state).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from engine.task.hanoi import Move, State
from engine.task.prompt import Message

_decode = json.JSONDecoder().raw_decode
_STATE_LABELS = ("Current State:", "Current state:")
_PREVIOUS_LABELS = ("Previous move:", "Previous Move:")
_STATE_LABEL = re.compile(r"current\s+state\s*:\s*", re.IGNORECASE)
_PREVIOUS_LABEL = re.compile(r"previous\s+move\s*:\s*", re.IGNORECASE)
_STATE_SHAPE = re.compile(r"\[\s*\[[0-9,\s]*\]\s*,\s*\[[0-9,\s]*\]\s*,\s*\[[0-9,\s]*\]\s*\]")
_MOVE_SHAPE = re.compile(r"\[\s*([0-9]+)\s*,\s*([0-9]+)\s*,\s*([0-9]+)\s*\]")


def asks_for_fences(messages: Sequence[Message]) -> bool:
    """The prompt asks for each answer line between inline triple backticks (the paper's format)."""
    return any("```move" in message["content"] for message in messages)


def read_values(user: str) -> tuple[State | None, Move | None]:
    """The current state (None when there is none the model can read) and the previous move that
    a step's message shows; see the module docstring."""
    state_at = _after_label(user, _STATE_LABELS, _STATE_LABEL)
    if state_at >= 0:
        previous_at = _after_label(user, _PREVIOUS_LABELS, _PREVIOUS_LABEL)
        return _state_at(user, state_at), _move_at(user, previous_at) if previous_at >= 0 else None
    shapes = list(_STATE_SHAPE.finditer(user))
    if not shapes:
        return None, None
    last = shapes[-1]
    previous = None
    for found in _MOVE_SHAPE.finditer(user):
        inside = last.start() <= found.start() < last.end()
        if not inside and user[: found.start()].rstrip()[-1:] not in ("[", ","):
            previous = (int(found[1]), int(found[2]), int(found[3]))
    return _state_at(user, last.start()), previous


def _after_label(text: str, labels: tuple[str, ...], pattern: re.Pattern[str]) -> int:
    """Where the value after the last of the labels starts, or -1. The usual spellings are looked
    for as plain text first (a step's prompt is read once per step, millions of times a run)."""
    for label in labels:
        at = text.rfind(label)
        if at >= 0:
            at += len(label)
            while text.startswith(" ", at):
                at += 1
            return at
    ends = [found.end() for found in pattern.finditer(text)]
    return ends[-1] if ends else -1


def _state_at(text: str, at: int) -> State | None:
    try:
        pegs, _ = _decode(text, at)
        state: State = (tuple(pegs[0]), tuple(pegs[1]), tuple(pegs[2]))
    except (ValueError, IndexError, TypeError, KeyError):
        return None
    return state


def _move_at(text: str, at: int) -> Move | None:
    if not text.startswith("[", at):  # "none", or whatever the prompt says before the first move
        return None
    end = text.find("]", at)
    try:
        disk, source, target = map(int, text[at + 1 : end].split(","))
    except ValueError:
        return None
    return (disk, source, target)
