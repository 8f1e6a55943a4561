"""Towers of Hanoi: states, moves, the strategy the agents follow, and the optimal solution.

Pegs are 0-indexed and hold disk numbers bottom to top; disk 1 is the smallest. A state is an
immutable tuple of three tuples so it can key a vote; a move is ``(disk, from_peg, to_peg)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

State = tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]
Move = tuple[int, int, int]

MAX_DISKS = 30
"""Larger towers have more steps (2**30 - 1) than any run could finish."""


class IllegalMove(ValueError):
    """A move that breaks the rules from the given state."""


def total_steps(disks: int) -> int:
    """Moves in the optimal solution: 2**disks - 1."""
    return (1 << disks) - 1


def start_state(disks: int) -> State:
    """All disks on peg 0, largest at the bottom."""
    return (tuple(range(disks, 0, -1)), (), ())


def goal_state(disks: int) -> State:
    """All disks on peg 2, largest at the bottom."""
    return ((), (), tuple(range(disks, 0, -1)))


def disk1_direction(disks: int) -> int:
    """Peg offset of every disk-1 move: +1 (0 -> 1 -> 2 -> 0) for even N, -1 (0 -> 2 -> 1 -> 0) for odd N."""
    return 1 if disks % 2 == 0 else -1


def is_legal(state: State, move: Move) -> bool:
    """True when ``move`` takes the top disk of its source peg onto an empty peg or a larger disk."""
    disk, source, target = move
    if not (0 <= source <= 2 and 0 <= target <= 2) or source == target:
        return False
    from_peg, to_peg = state[source], state[target]
    return bool(from_peg) and from_peg[-1] == disk and (not to_peg or to_peg[-1] > disk)


def apply_move(state: State, move: Move) -> State:
    """The state after ``move``; raises :class:`IllegalMove` when the move breaks the rules."""
    if not is_legal(state, move):
        raise IllegalMove(f"move {list(move)} is illegal from {format_state(state)}")
    disk, source, target = move
    pegs = list(state)
    pegs[source] = state[source][:-1]
    pegs[target] = state[target] + (disk,)
    return (pegs[0], pegs[1], pegs[2])


def strategy_move(state: State, previous_move: Move | None, disks: int) -> Move | None:
    """The move the prompt's strategy prescribes, or None when the state admits none.

    If the previous move did not move disk 1, disk 1 moves one peg in its fixed direction;
    otherwise the smaller top disk of the two pegs without disk 1 moves onto the other of them.
    """
    if state[0] and state[0][-1] == 1:
        peg_of_1 = 0
    elif state[1] and state[1][-1] == 1:
        peg_of_1 = 1
    elif state[2] and state[2][-1] == 1:
        peg_of_1 = 2
    else:
        return None
    if previous_move is None or previous_move[0] != 1:
        return (1, peg_of_1, (peg_of_1 + disk1_direction(disks)) % 3)
    a, b = (peg_of_1 + 1) % 3, (peg_of_1 + 2) % 3
    top_a = state[a][-1] if state[a] else None
    top_b = state[b][-1] if state[b] else None
    if top_a is None and top_b is None:
        return None
    if top_b is None or (top_a is not None and top_a < top_b):
        return (top_a, a, b)  # type: ignore[return-value]
    return (top_b, b, a)


def optimal_move(step: int, disks: int) -> Move:
    """The move made at ``step`` (1-based) of the optimal solution, in O(1).

    Step i moves disk ``ctz(i) + 1`` from peg ``(i & (i-1)) % 3`` to ``((i | (i-1)) + 1) % 3``
    for an odd number of disks; for an even number pegs 1 and 2 swap roles.
    """
    disk = (step & -step).bit_length()
    source = (step & (step - 1)) % 3
    target = ((step | (step - 1)) + 1) % 3
    if disks % 2 == 0:
        source, target = _SWAP_1_2[source], _SWAP_1_2[target]
    return (disk, source, target)


_SWAP_1_2 = (0, 2, 1)


def optimal_moves(disks: int, first_step: int = 1) -> Iterator[Move]:
    """The optimal solution's moves from ``first_step`` on, generated one at a time."""
    swap = disks % 2 == 0
    for step in range(first_step, total_steps(disks) + 1):
        disk = (step & -step).bit_length()
        source = (step & (step - 1)) % 3
        target = ((step | (step - 1)) + 1) % 3
        if swap:
            source, target = _SWAP_1_2[source], _SWAP_1_2[target]
        yield (disk, source, target)


def state_before_step(step: int, disks: int) -> State:
    """The optimal solution's state before ``step`` (1-based), in O(disks) without replaying moves.

    Disk d has moved ``(step - 1 + 2**(d-1)) // 2**d`` times by then, always in the same cyclic
    direction (disk 1's direction for disks of the same parity as disk 1, the other otherwise).
    """
    done = step - 1
    pegs: list[list[int]] = [[], [], []]
    one = disk1_direction(disks)
    for disk in range(disks, 0, -1):
        moves_made = (done + (1 << (disk - 1))) >> disk
        direction = one if disk % 2 == 1 else -one
        pegs[(moves_made * direction) % 3].append(disk)
    return (tuple(pegs[0]), tuple(pegs[1]), tuple(pegs[2]))


def format_move(move: Move | None) -> str:
    """``[disk, from, to]`` as the prompt and the answer format write it."""
    return "none" if move is None else f"[{move[0]}, {move[1]}, {move[2]}]"


@lru_cache(maxsize=8)
def format_state(state: State) -> str:
    """``[[...], [...], [...]]`` as the prompt and the answer format write it.

    Cached: a step's answer and the next step's prompt write the same state.
    """
    return str([list(state[0]), list(state[1]), list(state[2])])
