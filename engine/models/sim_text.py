"""What the simulated model writes: its reasoning, the answer lines in the format asked for, and
the ways it gets a step wrong, each as raw text for the parser to judge."""

from __future__ import annotations

import random
from enum import StrEnum
from typing import NamedTuple

from engine.models.sampler import Completion, estimate_tokens
from engine.task.hanoi import Move, State, apply_move, format_move, format_state, is_legal


class ErrorKind(StrEnum):
    """The ways the simulated model gets a step wrong."""

    WRONG_MOVE = "wrong_move"
    """Another legal move, with the state it really leads to and a slip of reasoning that argues
    for it: a consistent wrong vote."""
    WRONG_STATE = "wrong_state"
    """The right move, with a disk misplaced in the next state: an inconsistent wrong vote."""
    MALFORMED = "malformed"
    """A reply the parser rejects: a line missing, a move of two numbers, a disk written twice."""
    OVERLONG = "overlong"
    """Rambling cut off at the token limit (finish reason ``length``)."""


class StepView(NamedTuple):
    """What the model made of one prompt; shared by all samples of a step."""

    disks: int
    state: State
    previous: Move | None
    right: tuple[Move, State] | None
    """The strategy's answer, or None when the prompt admits none (no state, or a broken one)."""
    reasoning: str
    error_rate: float
    tokens_in: int
    right_completion: Completion | None
    """The right reply, built once a step: a model at temperature 0 writes the same text each time."""
    max_tokens: int
    fenced: bool
    """The prompt asks for the answer lines between inline triple backticks."""


_DIRECTION_WORD = {1: "clockwise", -1: "counterclockwise"}
_RAMBLE = (
    "Hmm, wait. Let me look at the pegs again and reconsider which disk is on top, because the "
    "previous move matters here and I want to be sure before I answer. "
)


def reasoning(previous: Move | None, move: Move, disks: int) -> str:
    disk, source, target = move
    if disk == 1:
        why = "There is no previous move" if previous is None else "The previous move did not move disk 1"
        way = _DIRECTION_WORD[1 if disks % 2 == 0 else -1]
        return f"{why}, so disk 1 moves one peg {way}: from peg {source} to peg {target}."
    return (
        f"The previous move moved disk 1, so the other move is made: disk {disk} is the smaller top "
        f"disk of pegs {source} and {target}, so it moves from peg {source} to peg {target}."
    )


def wrong_reasoning(view: StepView, move: Move, rng: random.Random | None) -> str:
    """The reasoning behind ``move``, a wrong move, as a slip in following the strategy: disk 1
    sent the wrong way round, disk 1 moved twice in a row, or the previous move misread. It names
    the move given, with its true direction; ``rng`` None picks the first wording."""
    if view.right is None or move == view.right[0]:
        return view.reasoning
    disk, source, target = move
    way = _DIRECTION_WORD[1 if (target - source) % 3 == 1 else -1]
    to = f"from peg {source} to peg {target}."
    if disk != 1:  # disk 1's turn, taken for the other move's: the previous move misread
        pegs = f"disk {disk} is the smaller top disk of pegs {source} and {target}, so it moves {to}"
        if view.previous is None:
            texts = [f"There is no previous move, so the other move comes first: {pegs}"]
        else:
            texts = [f"The previous move moved disk 1, so the other move is made: {pegs}",
                     f"Disk 1 moved last, so it stays put and the one legal move without it is made: disk {disk} moves {to}"]
    elif view.right[0][0] == 1:  # disk 1's turn, but the wrong way round
        why = "There is no previous move" if view.previous is None else "The previous move did not move disk 1"
        texts = [f"{why}, so disk 1 moves one peg {way}: {to}",
                 f"{why}, so it is disk 1's turn; one peg {way} takes it {to}"]
    else:  # the other move's turn, but disk 1 moves again
        texts = [(f"The previous move moved disk 1, but disk 1 is on top of peg {source} and free to move again, "
                  f"so it moves one peg {way}: {to}")]
        if (way == "clockwise") == (view.disks % 2 == 0):
            texts.append(f"The previous move did not move disk 1, so disk 1 moves one peg {way}: {to}")
        if view.previous is not None and view.previous[1] == target:
            texts.append(f"The previous move took disk 1 the wrong way round, so it goes back one peg {way}: {to}")
        else:
            texts.append(f"The previous move moved disk 1, so disk 1 keeps going, one peg {way}: {to}")
    return texts[0] if rng is None else rng.choice(texts)


def answer_lines(move: Move, state: State, fenced: bool) -> str:
    """The two answer lines, between inline triple backticks when the prompt asks for them so."""
    if fenced:
        return f"```move = {format_move(move)}```\n```next_state = {format_state(state)}```"
    return f"move = {format_move(move)}\nnext_state = {format_state(state)}"


def _legal_moves(state: State) -> list[Move]:
    moves = [(peg[-1], source, target) for source, peg in enumerate(state) if peg for target in range(3)]
    return [move for move in moves if is_legal(state, move)]


def wrong_answer(view: StepView, kind: ErrorKind, rng: random.Random | None) -> tuple[Move, State]:
    """A valid but wrong answer; ``rng`` None picks the step's first one deterministically."""
    if view.right is None:
        raise ValueError("a wrong answer needs the step's right one to differ from")
    right_move, right_state = view.right
    if kind is ErrorKind.WRONG_MOVE:
        others = [m for m in _legal_moves(view.state) if m != right_move]
        if others:
            move = others[0] if rng is None else rng.choice(others)
            return move, apply_move(view.state, move)
    pegs = [list(peg) for peg in right_state]
    movable = [disk for disk in range(1, view.disks + 1) if disk != right_move[0]] or [right_move[0]]
    disk = movable[0] if rng is None else rng.choice(movable)
    home = next(p for p in range(3) if disk in pegs[p])
    away = (home + 1) % 3 if rng is None else rng.choice([p for p in range(3) if p != home])
    pegs[home].remove(disk)
    pegs[away].append(disk)
    return right_move, (tuple(pegs[0]), tuple(pegs[1]), tuple(pegs[2]))


def malformed(view: StepView, rng: random.Random) -> str:
    if view.right is None:
        return view.reasoning
    move, state = view.right
    lines = answer_lines(move, state, view.fenced).split("\n")
    form = rng.randrange(5)
    if form == 0:
        body = lines[1]
    elif form == 1:
        body = lines[0]
    elif form == 2:
        body = f"move = [{move[0]}, {move[2]}]\n{lines[1]}"
    elif form == 3:
        duplicated = (state[0], state[1], state[2] + (max(1, view.disks),))
        body = f"{lines[0]}\nnext_state = {format_state(duplicated)}"
    else:
        body = f"{lines[0]}\nnext_state = [{list(state[0])}, {list(state[1]) + list(state[2])}]"
    return f"{view.reasoning}\n{body}"


def cut(text: str, tokens_in: int, max_tokens: int) -> Completion:
    """The reply as a server returns it: cut at the token limit, with finish reason ``length``."""
    tokens_out = estimate_tokens(text)
    if tokens_out <= max_tokens:
        return Completion(text, "stop", tokens_in, tokens_out, 0.0)
    return Completion(text[: max_tokens * 4], "length", tokens_in, max_tokens, 0.0)


def overlong(reasoning: str, max_tokens: int) -> str:
    """A ramble longer than the token limit; ``complete`` cuts it there, as a server would."""
    return reasoning + " " + _RAMBLE * (max_tokens * 4 // len(_RAMBLE) + 2)
