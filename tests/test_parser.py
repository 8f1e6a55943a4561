"""The parser, with the paper's rules: the last move and the last state anywhere in the reply,
whatever decorates them; anything else is a red flag with its named reason."""

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from engine.task.parser import Answer, RedFlag, format_answer, judge_reply, parse_answer
from tests.answer_forms import DECORATED, MALFORMED

DISKS = 6
RIGHT_3 = Answer((1, 0, 2), ((3, 2), (), (1,)))


@st.composite
def answers(draw, disks=DISKS):
    """A well-formed candidate: any move naming a disk and two pegs, any placement of the disks."""
    pegs = [[], [], []]
    for disk in draw(st.permutations(range(1, disks + 1))):
        pegs[draw(st.integers(0, 2))].append(disk)
    source, target = draw(st.sampled_from([(a, b) for a in range(3) for b in range(3) if a != b]))
    move = (draw(st.integers(1, disks)), source, target)
    return Answer(move, (tuple(pegs[0]), tuple(pegs[1]), tuple(pegs[2])))


def test_the_corpus_is_large_enough():
    assert len(DECORATED) >= 40 and len(MALFORMED) >= 20


@pytest.mark.parametrize("form", DECORATED)
def test_each_decorated_form_of_a_right_answer_is_that_answer(form):
    assert parse_answer(DECORATED[form](*RIGHT_3), 3) == RIGHT_3


@pytest.mark.parametrize("form", MALFORMED)
def test_each_malformed_form_is_rejected_with_its_reason(form):
    text, reason = MALFORMED[form]
    assert parse_answer(text, 3) is reason


def _without_labels(text):
    lowered = text.lower()
    return "move" not in lowered and "next_state" not in lowered


prose = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=120).filter(_without_labels)
wrap = st.sampled_from(["{}", "`{}`", "```{}```", "**{}**", "- {}", "> {}", "*{}*", "{}.", "({})", '"{}"', "{},"])
joiner = st.sampled_from(["\n", "\n\n", " ", ", ", "; ", " and ", "\r\n", "\n```\n"])


@settings(max_examples=500)
@given(answers(), prose, prose, prose, wrap, wrap, joiner, st.booleans(), st.booleans())
@example(Answer((1, 0, 2), ((6, 5, 4, 3, 2), (), (1,))), "", "", "", "{}", "{}", "\n", False, False)
def test_any_answer_in_any_prose_and_decoration_parses_to_itself(
    answer, before, between, after, move_wrap, state_wrap, join, state_first, tall
):
    move_text, state_text = format_answer(answer).split("\n")
    if tall:  # the state spread over lines
        state_text = state_text.replace("], [", "],\n  [").replace("[[", "[\n  [").replace("]]", "]\n]")
    parts = [move_wrap.format(move_text), state_wrap.format(state_text)]
    if state_first:
        parts.reverse()
    text = f"{before}\n{parts[0]}{join}{between}{join}{parts[1]}\n{after}"
    assert parse_answer(text, DISKS) == answer


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
def test_a_damaged_answer_is_a_red_flag_or_a_well_formed_vote(answer, data):
    """Whatever a stray character does to a reply, what comes out is a red flag, or a move of a
    disk 1..N between two pegs with a state holding every disk once."""
    text = format_answer(answer)
    position = data.draw(st.integers(0, len(text) - 1))
    operation = data.draw(st.sampled_from(["delete", "insert", "replace"]))
    character = data.draw(st.sampled_from(list("[],=0123456789 -.x\n`*")))
    if operation == "delete":
        damaged = text[:position] + text[position + 1 :]
    elif operation == "insert":
        damaged = text[:position] + character + text[position:]
    else:
        damaged = text[:position] + character + text[position + 1 :]
    result = parse_answer(damaged, DISKS)
    if isinstance(result, Answer):
        (disk, source, target), state = result
        assert 1 <= disk <= DISKS and {source, target} <= {0, 1, 2} and source != target
        assert sorted(state[0] + state[1] + state[2]) == list(range(1, DISKS + 1))


def test_the_last_move_is_read_even_when_it_is_called_previous():
    """The paper's rule is the last ``move =``: a reply that mentions the previous move after its
    answer votes for that move (with its own state: a wrong candidate, which voting outweighs)."""
    text = "move = [1, 0, 2]\nnext_state = [[3, 2], [], [1]]\n(previous move = [2, 0, 1])"
    assert parse_answer(text, 3) == Answer((2, 0, 1), ((3, 2), (), (1,)))


def test_the_move_is_checked_more_strictly_than_the_paper_does():
    """The paper checks only that a move is three integers; a disk outside 1..N or a move that
    stays on its peg is a bad_move here."""
    state = "next_state = [[3, 2], [], [1]]"
    for move in ("[4, 0, 2]", "[1, 2, 2]", "[1, 0, 5]", "[-1, 0, 2]"):
        assert parse_answer(f"move = {move}\n{state}", 3) is RedFlag.BAD_MOVE, move


def test_too_long_is_decided_by_finish_reason_or_token_count():
    right = format_answer(RIGHT_3)
    assert judge_reply(right, "length", 10, 750, 3) is RedFlag.TOO_LONG
    assert judge_reply(right, "stop", 751, 750, 3) is RedFlag.TOO_LONG
    assert judge_reply(right, "stop", 750, 750, 3) == RIGHT_3
