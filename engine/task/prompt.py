"""The micro-agent's prompt: the rules and answer format, then the strategy, previous move and state.

The structure follows the paper: a system message that explains the puzzle, the rules and the
exact two-line output format; a user message that restates the strategy and gives only what this
one step needs (the previous move and the current state). The agent sees no history.
"""

from __future__ import annotations

from typing import TypedDict

from engine.task.hanoi import Move, State, format_move, format_state


class Message(TypedDict):
    """One chat message as the chat-completions API takes it."""

    role: str
    content: str


PREVIOUS_MOVE_LABEL = "Previous move: "
CURRENT_STATE_LABEL = "Current state: "
NO_PREVIOUS_MOVE = "none (this is the first move)"

SYSTEM_PROMPT = """\
You are one step of a long, exact computation. You will make a single move in the Towers of Hanoi \
puzzle and report the move and the state it leads to.

The puzzle has three pegs, numbered 0, 1 and 2, and disks numbered 1 (the smallest) up to n (the \
largest). A state is written as a list of three lists, one per peg, each listing the disks on that \
peg from the bottom to the top. For example, [[3, 2, 1], [], []] means that disks 3, 2 and 1 are \
stacked on peg 0 with disk 1 on top, and pegs 1 and 2 are empty. At the start every disk is on \
peg 0; the goal is to move every disk to peg 2.

Rules:
1. Only one disk moves at a time.
2. Only the top disk of a peg can move.
3. A disk may go onto an empty peg or onto a larger disk, never onto a smaller one.

A move is written [disk, from_peg, to_peg]. For example, [1, 0, 2] moves disk 1 from the top of \
peg 0 to the top of peg 2.

You are given a strategy, the previous move and the current state. Follow the strategy exactly to \
find the next move; do not invent a plan of your own. Then apply the move to the current state to \
get the next state. Check that every disk appears exactly once and that no disk sits on a smaller \
one.

You may reason briefly first. Your answer must end with exactly these two lines, in this format:
move = [disk, from_peg, to_peg]
next_state = [[...], [...], [...]]
where move is the move you make and next_state is the state after it. Use plain integers, write \
nothing after these two lines, and keep the whole reply short."""

_DIRECTION_TEXT = {
    1: "clockwise: from peg 0 to peg 1, from peg 1 to peg 2, from peg 2 to peg 0",
    -1: "counterclockwise: from peg 0 to peg 2, from peg 2 to peg 1, from peg 1 to peg 0",
}


def strategy_text(disks: int) -> str:
    """The strategy for ``disks`` disks, with disk 1's direction spelled out for this parity."""
    direction = _DIRECTION_TEXT[1 if disks % 2 == 0 else -1]
    return (
        f"This puzzle has {disks} disks. The strategy that solves it:\n"
        f"- If the previous move did not move disk 1 (or there was no previous move), move disk 1 "
        f"one peg {direction}.\n"
        "- If the previous move moved disk 1, make the only legal move that does not involve "
        "disk 1: compare the top disks of the two pegs that do not hold disk 1 and move the smaller "
        "one onto the other peg (onto an empty peg if one of the two is empty).\n"
    )


class PromptBuilder:
    """Builds each step's messages; the parts that never change are built once per run."""

    def __init__(self, disks: int) -> None:
        self.disks = disks
        self.system: Message = {"role": "system", "content": SYSTEM_PROMPT}
        self._user_prefix = strategy_text(disks) + "\n"
        self._user_suffix = (
            "\nFollow the strategy to make the next move. End your reply with the two lines "
            "move = [...] and next_state = [[...], [...], [...]]."
        )

    def messages(self, previous_move: Move | None, state: State, state_text: str | None = None) -> list[Message]:
        """The system and user messages for one step; ``state_text`` skips re-formatting a known state."""
        previous = NO_PREVIOUS_MOVE if previous_move is None else format_move(previous_move)
        shown = state_text if state_text is not None else format_state(state)
        user = f"{self._user_prefix}{PREVIOUS_MOVE_LABEL}{previous}\n{CURRENT_STATE_LABEL}{shown}\n{self._user_suffix}"
        return [self.system, {"role": "user", "content": user}]
