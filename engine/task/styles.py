"""The texts of the built-in prompts.

``paper`` gives what the paper's prompt gives, in this project's words: the puzzle, its three
rules, a 3-disk worked example with its whole move list, 0-indexed pegs, and the answer's two parts
each in an exact format between inline triple backticks; then, each step, the rules again, the
strategy as the paper states it, the previous move and the current state. No disk count, no help
with the move that does not involve disk 1, no extra checks. ``guided`` is this project's earlier
prompt: it adds the disk count, a procedure for that move and a request to check the state.
"""

from __future__ import annotations

from engine.task.hanoi import disk1_direction

_PAPER_SYSTEM = """\
You are a helpful assistant, and you will help solve a puzzle.

The puzzle has three pegs and n disks of different sizes, which start stacked on the first peg. \
The disks are numbered by size, from 1 (the smallest) to n (the largest). Every move must obey \
these rules:
1. Exactly one disk moves at a time.
2. A move takes the topmost disk of one peg and puts it on top of another peg.
3. No disk may ever rest on a disk smaller than itself.
The aim is to carry the whole stack onto the third peg.

A worked example with 3 disks (1 is the smallest, 3 the largest): the start is [[3, 2, 1], [], []], \
and one complete solution is
moves = [[1, 0, 2], [2, 0, 1], [1, 2, 1], [3, 0, 2], [1, 1, 0], [2, 1, 2], [1, 0, 2]]
Each entry is [disk, from peg, to peg]: first disk 1 goes from peg 0 to peg 2, then disk 2 goes \
from peg 0 to peg 1, and so on.

What your answer must contain:
- Pegs are counted from 0: the first peg is peg 0.
- The one move you make, written in exactly this format:
```move = [disk id, from peg, to peg]```
- The state that this move makes of the current state, written in exactly this format:
```next_state = [[...], [...], [...]]```"""

_PAPER_USER = """\
The rules again:
- Exactly one disk moves at a time.
- Only the topmost disk of a peg can move.
- No disk may rest on a smaller disk.

Follow this strategy:
- If the previous move did not move disk 1, move disk 1 one peg {direction}.
- If the previous move did move disk 1, make the only legal move that does not move disk 1.

Previous move: {{previous_move}}
Current State: {{current_state}}

Give the next move and the state it leads to."""

_PAPER_DIRECTION = {1: "clockwise (0 -> 1 -> 2 -> 0)", -1: "counterclockwise (0 -> 2 -> 1 -> 0)"}

_GUIDED_SYSTEM = """\
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

_GUIDED_USER = """\
This puzzle has {disks} disks. The strategy that solves it:
- If the previous move did not move disk 1 (or there was no previous move), move disk 1 one peg \
{direction}.
- If the previous move moved disk 1, make the only legal move that does not involve disk 1: \
compare the top disks of the two pegs that do not hold disk 1 and move the smaller one onto the \
other peg (onto an empty peg if one of the two is empty).

Previous move: {{previous_move}}
Current state: {{current_state}}

Follow the strategy to make the next move. End your reply with the two lines move = [...] and \
next_state = [[...], [...], [...]]."""

_GUIDED_DIRECTION = {
    1: "clockwise: from peg 0 to peg 1, from peg 1 to peg 2, from peg 2 to peg 0",
    -1: "counterclockwise: from peg 0 to peg 2, from peg 2 to peg 1, from peg 1 to peg 0",
}


def paper_system() -> str:
    return _PAPER_SYSTEM


def paper_user(disks: int) -> str:
    """The paper ran 20 disks; for an odd number of disks only disk 1's direction changes."""
    return _PAPER_USER.format(direction=_PAPER_DIRECTION[disk1_direction(disks)])


def guided_system() -> str:
    return _GUIDED_SYSTEM


def guided_user(disks: int) -> str:
    return _GUIDED_USER.format(disks=disks, direction=_GUIDED_DIRECTION[disk1_direction(disks)])
