"""What the simulated model makes of a prompt: the current state, the previous move, and the
answer format asked for. It reads the prompt as text, whatever its style.

It looks for labelled values first: a state after ``Current state`` (or ``present state``) and a
colon, a move after ``Previous move``, ``Last move`` or ``Prior move`` and a colon, in any case,
with spaces, newlines, backticks, bold or quotes between the label and the value. The built-in
prompts label both, and so should a template (``--prompt-file``) that the simulated model is to
answer. Without a state label it takes the last list of three lists in the step's message; without
a move label, the nearest list of three numbers standing on its own before that state.
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
_STATE_LABEL = re.compile(r"(?:current|present)\s+state\s*:", re.IGNORECASE)
_PREVIOUS_LABEL = re.compile(r"(?:previous|last|prior)\s+move\s*:", re.IGNORECASE)
_GAP = re.compile(r"[\s`*_>\"']*")  # what may stand between a label and its value
_STATE_SHAPE = re.compile(r"\[\s*\[[0-9,\s]*\]\s*,\s*\[[0-9,\s]*\]\s*,\s*\[[0-9,\s]*\]\s*\]")
_MOVE_SHAPE = re.compile(r"\[\s*([0-9]+)\s*,\s*([0-9]+)\s*,\s*([0-9]+)\s*\]")


def asks_for_fences(messages: Sequence[Message]) -> bool:
    """The prompt asks for each answer line between inline triple backticks (the paper's format)."""
    return any("```move" in message["content"] for message in messages)


def read_values(user: str) -> tuple[State | None, Move | None]:
    """The current state (None when there is none the model can read) and the previous move that
    a step's message shows; see the module docstring."""
    at = user.rfind("Current State: [")  # the paper's prompt, read millions of times a run
    previous_at = user.rfind("Previous move: ", 0, at)
    if at >= 0 and previous_at >= 0:
        return _state_at(user, at + 15), _move_at(user, previous_at + 15)
    state_at = _after_label(user, _STATE_LABELS, _STATE_LABEL)
    if state_at >= 0:
        state = _state_at(user, state_at)
        state_start = state_at
    else:
        shapes = list(_STATE_SHAPE.finditer(user))
        if not shapes:
            return None, None
        state_start = shapes[-1].start()
        state = _state_at(user, state_start)
    previous_at = _after_label(user, _PREVIOUS_LABELS, _PREVIOUS_LABEL)
    if previous_at >= 0:
        return state, _move_at(user, previous_at)
    previous = None
    for found in _MOVE_SHAPE.finditer(user, 0, state_start):  # the nearest standing on its own
        if user[: found.start()].rstrip()[-1:] not in ("[", ","):
            previous = (int(found[1]), int(found[2]), int(found[3]))
    return state, previous


def _after_label(text: str, labels: tuple[str, ...], pattern: re.Pattern[str]) -> int:
    """Where the value after the last of the labels starts, or -1. The built-in spellings are
    looked for as plain text first (a step's prompt is read once per step, millions of times a run)."""
    for label in labels:
        at = text.rfind(label)
        if at >= 0:
            at += len(label)
            if text.startswith(" [", at):  # how the built-in prompts write it
                return at + 1
            return _GAP.match(text, at).end()  # type: ignore[union-attr]
    ends = [found.end() for found in pattern.finditer(text)]
    return _GAP.match(text, ends[-1]).end() if ends else -1  # type: ignore[union-attr]


def _state_at(text: str, at: int) -> State | None:
    try:
        pegs, _ = _decode(text, at)
        state: State = (tuple(pegs[0]), tuple(pegs[1]), tuple(pegs[2]))
    except (ValueError, IndexError, TypeError, KeyError):
        return None
    return state


def _move_at(text: str, at: int) -> Move | None:
    """The move written at ``at``, or None ("none", or whatever a prompt says before the first move)."""
    if not text.startswith("[", at):
        return None
    end = text.find("]", at)
    try:
        disk, source, target = map(int, text[at + 1 : end].split(","))
    except ValueError:
        return None
    return (disk, source, target)
