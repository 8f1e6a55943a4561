"""The puzzle: rules, the strategy, and the closed forms the auditor relies on."""

from itertools import islice

import pytest

from engine.task.hanoi import (
    IllegalMove,
    apply_move,
    goal_state,
    is_legal,
    optimal_move,
    optimal_moves,
    start_state,
    state_before_step,
    strategy_move,
    total_steps,
)


@pytest.mark.parametrize("disks", range(1, 11))
def test_strategy_from_the_prompt_solves_the_tower_in_the_optimal_number_of_moves(disks):
    state, previous = start_state(disks), None
    for step in range(1, total_steps(disks) + 1):
        move = strategy_move(state, previous, disks)
        assert move == optimal_move(step, disks)
        assert state == state_before_step(step, disks)
        state, previous = apply_move(state, move), move
    assert state == goal_state(disks)


def test_disk_1_goes_clockwise_for_even_and_counterclockwise_for_odd_towers():
    assert optimal_move(1, 20) == (1, 0, 1)
    assert optimal_move(1, 19) == (1, 0, 2)


def test_optimal_moves_is_a_generator_matching_the_closed_form():
    moves = optimal_moves(20)
    assert not isinstance(moves, list)
    for step, move in zip(range(1, 5000), moves, strict=False):
        assert move == optimal_move(step, 20)
    tail = list(optimal_moves(5, first_step=30))
    assert tail == [optimal_move(step, 5) for step in (30, 31)]


def test_state_before_step_is_exact_deep_into_a_20_disk_run():
    state = start_state(20)
    for move in islice(optimal_moves(20), 3000):
        state = apply_move(state, move)
    assert state_before_step(3001, 20) == state
    assert state_before_step(total_steps(20) + 1, 20) == goal_state(20)


@pytest.mark.parametrize(
    "move",
    [(2, 0, 1), (1, 1, 2), (1, 0, 0), (1, 0, 3), (3, 0, 1)],
    ids=["not on top", "empty source", "same peg", "no such peg", "buried"],
)
def test_illegal_moves_are_refused(move):
    state = start_state(3)
    assert not is_legal(state, move)
    with pytest.raises(IllegalMove):
        apply_move(state, move)


def test_a_larger_disk_never_goes_onto_a_smaller_one():
    state = ((3,), (2,), (1,))
    assert not is_legal(state, (2, 1, 2))
    assert is_legal(state, (1, 2, 1))
