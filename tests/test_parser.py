"""The strict parser: only the exact two-line format ever becomes a vote."""

import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from engine.task.parser import Answer, RedFlag, format_answer, judge_reply, parse_answer

DISKS = 6


@st.composite
def answers(draw, disks=DISKS):
    """A well-formed candidate: any move naming a disk and two pegs, any placement of the disks."""
    pegs = [[], [], []]
    for disk in draw(st.permutations(range(1, disks + 1))):
        pegs[draw(st.integers(0, 2))].append(disk)
    source, target = draw(st.sampled_from([(a, b) for a in range(3) for b in range(3) if a != b]))
    move = (draw(st.integers(1, disks)), source, target)
    return Answer(move, (tuple(pegs[0]), tuple(pegs[1]), tuple(pegs[2])))


def well_formed(answer, disks=DISKS):
    move, state = answer
    placed = sorted(state[0] + state[1] + state[2])
    return 1 <= move[0] <= disks and {move[1], move[2]} <= {0, 1, 2} and move[1] != move[2] and placed == list(
        range(1, disks + 1)
    )


preamble = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200).filter(
    lambda text: "move" not in text and "next_state" not in text
)


@given(answers(), preamble)
def test_the_exact_format_after_any_reasoning_parses_to_its_candidate(answer, reasoning):
    assert parse_answer(f"{reasoning}\n{format_answer(answer)}", DISKS) == answer


@given(answers(), answers())
def test_the_last_answer_in_a_reply_is_the_one_that_counts(first, last):
    text = f"{format_answer(first)}\nOn reflection:\n{format_answer(last)}"
    assert parse_answer(text, DISKS) == last


@given(st.text(max_size=400))
@example("move = [1, 0, 2]")
@example("next_state = [[1], [], []]")
@example("move = [1, 0, 2]\nnext_state = [[2], [1]]")
def test_random_text_never_becomes_a_vote(text):
    assert isinstance(parse_answer(text, DISKS), RedFlag)


@settings(max_examples=500)
@given(answers(), st.data())
def test_mutated_answers_are_red_flagged_or_still_exactly_well_formed(answer, data):
    text = format_answer(answer)
    position = data.draw(st.integers(0, len(text) - 1))
    operation = data.draw(st.sampled_from(["delete", "insert", "replace"]))
    character = data.draw(st.sampled_from(list("[],=0123456789 -.x\n")))
    if operation == "delete":
        mutated = text[:position] + text[position + 1 :]
    elif operation == "insert":
        mutated = text[:position] + character + text[position:]
    else:
        mutated = text[:position] + character + text[position + 1 :]
    result = parse_answer(mutated, DISKS)
    if isinstance(result, Answer):
        assert well_formed(result)
        # A vote is exactly what the reply's two lines say, up to spacing.
        lines = [line for line in mutated.splitlines() if line.strip()]

        def squeeze(text):
            return re.sub(r"\s+", "", text)

        assert squeeze(lines[-2]) == squeeze(f"move=[{result.move[0]},{result.move[1]},{result.move[2]}]")
        assert squeeze(lines[-1]) == squeeze(f"next_state={[list(peg) for peg in result.state]}")


@given(answers())
def test_each_kind_of_damage_gets_its_named_reason(answer):
    move_line, state_line = format_answer(answer).split("\n")
    disk, source, target = answer.move
    pegs = [list(peg) for peg in answer.state]
    cases = {
        RedFlag.NO_MOVE: state_line,
        RedFlag.NO_STATE: move_line,
    }
    for reason, text in cases.items():
        assert parse_answer(text, DISKS) is reason
    bad_moves = [
        f"move = [{disk}, {source}]",
        f"move = [{disk}, {source}, {source}]",
        f"move = [{DISKS + 1}, {source}, {target}]",
        f"move = [0, {source}, {target}]",
        f"move = [{disk}, {source}, 3]",
        f"move = [-{disk}, {source}, {target}]",
        f"move = [{disk}.0, {source}, {target}]",
        f"move = [{disk}, {source}, {target}] because",
    ]
    for bad in bad_moves:
        assert parse_answer(f"{bad}\n{state_line}", DISKS) is RedFlag.BAD_MOVE, bad
    biggest = max(range(3), key=lambda p: len(pegs[p]))
    duplicated = [list(peg) for peg in pegs]
    duplicated[biggest].append(pegs[biggest][0])
    dropped = [list(peg) for peg in pegs]
    dropped[biggest].pop()
    bad_states = [
        f"next_state = {duplicated}",
        f"next_state = {dropped}",
        f"next_state = {pegs[:2]}",
        f"next_state = {pegs + [[]]}",
        f"next_state = {pegs}]",
        f"next_state = {pegs} and that is all",
        f"next_state = {pegs}".replace("[", "(", 2),
        f"next_state = [{pegs[0]}, {pegs[1]}, [{pegs[2]}]]",
        "next_state = " + str(pegs).replace(str(pegs[biggest][0]), f"{pegs[biggest][0]}.5", 1),
    ]
    for bad in bad_states:
        assert parse_answer(f"{move_line}\n{bad}", DISKS) is RedFlag.BAD_STATE, bad


def test_labels_must_be_whole_words():
    text = "remove = [1, 0, 2]\nnext_state = [[6, 5, 4, 3, 2], [], [1]]"
    assert parse_answer(text, DISKS) is RedFlag.NO_MOVE
    text = "move = [1, 0, 2]\nmy_next_state = [[6, 5, 4, 3, 2], [], [1]]"
    assert parse_answer(text, DISKS) is RedFlag.NO_STATE


def test_spacing_and_line_endings_are_tolerated_but_not_extra_content():
    text = "move=[1,0,2]  \r\nnext_state =[[6,5,4,3,2],[ ],[1]]\r\n"
    assert parse_answer(text, DISKS) == Answer((1, 0, 2), ((6, 5, 4, 3, 2), (), (1,)))


def test_too_long_is_decided_by_finish_reason_or_token_count():
    right = format_answer(Answer((1, 0, 2), ((3, 2), (), (1,))))
    assert judge_reply(right, "length", 10, 750, 3) is RedFlag.TOO_LONG
    assert judge_reply(right, "stop", 751, 750, 3) is RedFlag.TOO_LONG
    assert judge_reply(right, "stop", 750, 750, 3) == Answer((1, 0, 2), ((3, 2), (), (1,)))
