"""The audit's verdict in words, and how two lanes with one move tell their states apart."""

from engine.task.hanoi import apply_move, optimal_move, state_before_step
from engine.task.parser import Answer, RedFlag, evidence
from engine.task.verdict import judge_sample, right_answer, state_difference

STEP = 100
SHOWN = state_before_step(STEP, 10)  # ((10, 9, 8, 5, 4, 3), (7, 6), (2, 1))
PREVIOUS = optimal_move(STEP - 1, 10)
RIGHT = right_answer(SHOWN, PREVIOUS)


def test_the_right_answer_is_the_optimal_move_on_the_path():
    assert RIGHT == Answer(optimal_move(STEP, 10), state_before_step(STEP + 1, 10))
    verdict = judge_sample(SHOWN, RIGHT, RIGHT)
    assert verdict.correct is True and "strategy's move" in verdict.why


def test_a_disk_placed_on_a_smaller_one():
    pegs = [list(peg) for peg in RIGHT.state]
    pegs[0].remove(10)
    pegs[1].append(10)  # disk 10 on top of disk 3
    wrong = Answer(RIGHT.move, tuple(map(tuple, pegs)))
    verdict = judge_sample(SHOWN, wrong, RIGHT)
    assert verdict.correct is False and verdict.why == "disk 10 placed on disk 3"
    assert state_difference(wrong.state, RIGHT.state) == "disk 10 on disk 3"


def test_a_legal_move_that_is_not_the_strategys():
    move = (1, 2, 0)
    wrong = Answer(move, apply_move(SHOWN, move))
    verdict = judge_sample(SHOWN, wrong, RIGHT)
    assert verdict.why == "a legal move, but not the strategy's (disk 3 from peg 0 to peg 1)"


def test_a_state_that_does_not_follow_from_the_move():
    pegs = [list(peg) for peg in RIGHT.state]
    pegs[2].remove(1)
    pegs[0].append(1)  # disk 1 moved too, onto disk 4: legal-looking, but not what the move does
    wrong = Answer(RIGHT.move, tuple(map(tuple, pegs)))
    verdict = judge_sample(SHOWN, wrong, RIGHT)
    assert verdict.why == "the state does not follow from the move: disk 1 on peg 0"


def test_an_illegal_move():
    move = (5, 0, 1)  # disk 5 is under disk 4 and 3
    wrong = Answer(move, RIGHT.state)
    verdict = judge_sample(SHOWN, wrong, RIGHT)
    assert verdict.why.startswith("illegal move: disk 5 is not on top of peg 0 (disk 3 is)")


def test_red_flags_and_cancelled_samples():
    verdict = judge_sample(SHOWN, RedFlag.BAD_STATE, RIGHT)
    assert verdict.correct is False and verdict.why.startswith("red flag (bad_state)") and "not a vote" in verdict.why
    assert judge_sample(SHOWN, None, RIGHT).correct is None
    assert "decided without it" in judge_sample(SHOWN, None, RIGHT).why
    assert "run stopped" in judge_sample(SHOWN, None, RIGHT, decided=False).why


def test_the_evidence_of_a_red_flag_is_the_line_that_set_it_off():
    text = "disk 3 moves.\nmove = [3, 0, 1]\nnext_state = [[10, 9], [7, 6, 3], [2, 1], [4]]\n"
    assert evidence(text, RedFlag.BAD_STATE) == "next_state = [[10, 9], [7, 6, 3], [2, 1], [4]]"
    assert evidence("move = [3, 1]\nnext_state = [[1], [], []]", RedFlag.BAD_MOVE) == "move = [3, 1]"
    assert evidence("no answer here", RedFlag.NO_MOVE) is None
    long = "Hmm, wait. " * 40
    assert evidence(long, RedFlag.TOO_LONG).startswith("…") and long.rstrip().endswith(evidence(long, RedFlag.TOO_LONG)[1:])
