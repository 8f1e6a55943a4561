"""The audit's word on one answer: the strategy's right answer for the state an agent was shown,
and, for a wrong answer, what is wrong with it in words an audience can read.

The right answer is the strategy applied to the state shown (on the optimal path it is the optimal
move); a wrong answer is described by what breaks: an illegal move, a legal move that is not the
strategy's, or a next state that does not follow from the move (a disk placed on a smaller one, a
disk moved besides the one the move names).
"""

from __future__ import annotations

from typing import NamedTuple

from engine.task.hanoi import IllegalMove, Move, State, apply_move, is_legal, strategy_move
from engine.task.parser import Answer, RedFlag

RED_FLAG_WORDS = {
    RedFlag.TOO_LONG: "the reply ran past the token limit",
    RedFlag.NO_MOVE: "no 'move =' line",
    RedFlag.NO_STATE: "no 'next_state =' line",
    RedFlag.BAD_MOVE: "the move is not a disk and two different pegs",
    RedFlag.BAD_STATE: "the next state does not hold every disk exactly once",
    RedFlag.EMPTY: "the reply was empty",
}
"""Why a red flag was raised, in words."""
MOST_NAMED = 3
"""Disks named one by one in a difference; more are counted."""


class Verdict(NamedTuple):
    """The audit's word on a sample: right or not (None for a sample that never voted), and why."""

    correct: bool | None
    why: str


def disks_of(state: State) -> int:
    return len(state[0]) + len(state[1]) + len(state[2])


def right_answer(state: State, previous: Move | None) -> Answer | None:
    """The strategy's move for the state shown and the state it leads to; None when the strategy
    admits no legal move there (a state the votes made wrong)."""
    move = strategy_move(state, previous, disks_of(state))
    if move is None or not is_legal(state, move):
        return None
    return Answer(move, apply_move(state, move))


def move_words(move: Move) -> str:
    disk, source, target = move
    return f"disk {disk} from peg {source} to peg {target}"


def illegal_words(state: State, move: Move) -> str | None:
    """Why ``move`` breaks the rules from ``state``; None when it is legal."""
    disk, source, target = move
    if not state[source]:
        return f"illegal move: peg {source} is empty"
    if state[source][-1] != disk:
        return f"illegal move: disk {disk} is not on top of peg {source} (disk {state[source][-1]} is)"
    if state[target] and state[target][-1] < disk:
        return f"illegal move: disk {disk} cannot go on disk {state[target][-1]}"
    return None


def _pegs(state: State) -> dict[int, int]:
    return {disk: peg for peg, disks in enumerate(state) for disk in disks}


def _beneath(state: State) -> dict[int, int]:
    """Each disk's neighbour below it, for disks resting on another disk."""
    return {disks[at]: disks[at - 1] for disks in state for at in range(1, len(disks))}


def state_difference(claimed: State, reference: State) -> str:
    """How ``claimed`` differs from ``reference``, disk by disk: "disk 10 on disk 3" when it rests
    on a smaller disk, else "disk 5 on peg 2"; "" when they are the same."""
    if claimed == reference:
        return ""
    where, before, below = _pegs(claimed), _pegs(reference), _beneath(claimed)
    moved = sorted((disk for disk in where if where[disk] != before.get(disk)),
                   key=lambda disk: (not (below.get(disk, disk) < disk), disk))
    if not moved:  # the same disks on the same pegs in another order
        return "disks stacked in another order"
    words = []
    for disk in moved[:MOST_NAMED]:
        under = below.get(disk)
        words.append(f"disk {disk} on disk {under}" if under is not None and under < disk
                     else f"disk {disk} on peg {where[disk]}")
    if len(moved) > MOST_NAMED:
        words.append(f"{len(moved) - MOST_NAMED} more")
    return ", ".join(words)


def _stacked_wrong(state: State) -> list[str]:
    return [f"disk {disk} placed on disk {under}" for disk, under in sorted(_beneath(state).items()) if under < disk]


def judge_answer(state: State, answer: Answer, right: Answer | None) -> Verdict:
    """The audit's word on a valid answer to the state shown (``right`` is :func:`right_answer`)."""
    if answer == right:
        return Verdict(True, "right: the strategy's move and the state it leads to")
    parts = []
    illegal = illegal_words(state, answer.move)
    if illegal is not None:
        parts.append(illegal)
    elif right is None:
        parts.append("the strategy has no legal move here")
    elif answer.move != right.move:
        parts.append(f"a legal move, but not the strategy's ({move_words(right.move)})")
    if illegal is None:
        after = apply_move(state, answer.move)
        if answer.state != after:
            misplaced = _stacked_wrong(answer.state)
            if misplaced:
                parts.append(", ".join(misplaced))
            else:
                parts.append(f"the state does not follow from the move: {state_difference(answer.state, after)}")
    elif _stacked_wrong(answer.state):
        parts.append(", ".join(_stacked_wrong(answer.state)))
    return Verdict(False, "; ".join(parts))


def judge_sample(state: State, outcome: Answer | RedFlag | None, right: Answer | None, *,
                 decided: bool = True) -> Verdict:
    """The audit's word on any sample: a vote, a red flag, or one cancelled (``outcome`` None) once
    its step was ``decided``, or when the run stopped on it undecided."""
    if outcome is None:
        return Verdict(None, "cancelled: the step was decided without it" if decided
                       else "cancelled: the run stopped before it was needed")
    if isinstance(outcome, RedFlag):
        return Verdict(False, f"red flag ({outcome.value}): {RED_FLAG_WORDS[outcome]}; not a vote")
    return judge_answer(state, outcome, right)


def follows(state: State, answer: Answer) -> bool:
    """True when the answer's state is what its move makes of ``state``."""
    try:
        return apply_move(state, answer.move) == answer.state
    except IllegalMove:
        return False
