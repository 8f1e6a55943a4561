"""The simulated model's prose never contradicts its answer: every move its reasoning names is the
move its answer lines give, with the right direction and the right pair of pegs."""

import random
import re

import pytest

from engine.models.sim import SimConfig, SimulatedLLM
from engine.task.hanoi import (
    Move,
    State,
    apply_move,
    is_legal,
    optimal_move,
    start_state,
    state_before_step,
    strategy_move,
    total_steps,
)
from engine.task.parser import Answer, RedFlag, judge_reply
from engine.task.prompt import STYLES, PromptBuilder, built_in

MAX_TOKENS = 750
_ANSWER_START = re.compile(r"`*(?:move|next_state)\s*=")
_NAMED = re.compile(r"disk (\d+)\b(?:(?!disk \d)[^.\n])*?from peg (\d+) to peg (\d+)")
"""A disk and the move the prose gives it: the nearest disk named before "from peg S to peg T"."""
_FROM_TO = re.compile(r"from peg (\d+) to peg (\d+)")
_WAY = re.compile(r"one peg (clockwise|counterclockwise)[^.\n]*?from peg (\d+) to peg (\d+)")
_PAIR = re.compile(r"disk (\d+) is the smaller top disk of pegs (\d+) and (\d+)")
_TWO_NUMBERS = re.compile(r"move = \[(\d+), (\d+)\]")
_THREE_NUMBERS = re.compile(r"move = \[(\d+), (\d+), (\d+)\]")


def _prose(text: str) -> str:
    return _ANSWER_START.split(text, maxsplit=1)[0]


def _named_moves(prose: str) -> list[Move]:
    """Every move the prose names, each checked for agreeing with itself (direction, pegs)."""
    named = [(int(d), int(s), int(t)) for d, s, t in _NAMED.findall(prose)]
    assert len(named) == len(_FROM_TO.findall(prose)), f"a 'from peg .. to peg ..' names no disk: {prose!r}"
    for way, source, target in _WAY.findall(prose):
        step = (int(target) - int(source)) % 3
        assert way == ("clockwise" if step == 1 else "counterclockwise"), f"the wrong way round: {prose!r}"
    for disk, a, b in _PAIR.findall(prose):
        assert any(d == int(disk) and {s, t} == {int(a), int(b)} for d, s, t in named), prose
    return named


def _check(text: str, finish_reason: str, tokens_out: int, state: State, previous: Move | None, disks: int) -> str:
    """Assert the reply's prose names only the move its answer gives; say what kind of reply it was."""
    prose = _prose(text)
    named = _named_moves(prose)
    parsed = judge_reply(text, finish_reason, tokens_out, MAX_TOKENS, disks)
    if isinstance(parsed, Answer):
        assert named, f"the prose names no move: {text!r}"
        assert all(move == parsed.move for move in named), f"prose {named} but the answer is {parsed.move}: {text!r}"
        right = strategy_move(state, previous, disks)
        return "right" if parsed.move == right and parsed.state == apply_move(state, right) else (
            "wrong_move" if parsed.move != right else "wrong_state")
    three, two = _THREE_NUMBERS.search(text), _TWO_NUMBERS.search(text)
    if three is not None:
        given = tuple(map(int, three.groups()))
        assert all(move == given for move in named), f"prose {named} but the answer is {given}: {text!r}"
    elif two is not None:
        disk, target = map(int, two.groups())
        assert all(move[0] == disk and move[2] == target for move in named), f"prose {named}: {text!r}"
    else:  # no move written (or cut off): whatever the prose names is one legal move
        assert len(set(named)) <= 1 and all(is_legal(state, move) for move in named), text
    return parsed.value if isinstance(parsed, RedFlag) else "?"


def _on_path(disks: int, rng: random.Random, count: int) -> list[tuple[int, State, Move | None]]:
    last = total_steps(disks)
    steps = {1, 2, 3, last} | {rng.randint(1, last) for _ in range(count)}
    return [(step, state_before_step(step, disks), optimal_move(step - 1, disks) if step > 1 else None)
            for step in sorted(steps)]


def _off_path(disks: int, rng: random.Random, count: int) -> list[tuple[int, State, Move | None]]:
    """States a run reaches after a wrong vote wins: a random walk, with its last move as the previous one."""
    shown, state, previous = [], start_state(disks), None
    for number in range(1, count + 1):
        moves = [(state[s][-1], s, t) for s in range(3) if state[s] for t in range(3) if is_legal(state, (state[s][-1], s, t))]
        previous = rng.choice(moves)
        state = apply_move(state, previous)
        if strategy_move(state, previous, disks) is not None:
            shown.append((number, state, previous))
    return shown


def _replies(config: SimConfig, style: str, disks: int, shown, samples: int):
    sim = SimulatedLLM(config)
    builder = PromptBuilder(built_in(style, disks))
    for step, state, previous in shown:
        messages = builder.messages(previous, state)
        for index in range(samples):
            reply = sim.complete_now(messages, 0.1, MAX_TOKENS, (step, index))
            yield reply, state, previous


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("wrong_answers", ["spread", "same"])
def test_every_move_the_prose_names_is_the_move_the_answer_gives(style, wrong_answers):
    kinds: dict[str, int] = {}
    for disks in range(3, 13):
        for seed in range(5):
            rng = random.Random(disks * 100 + seed)
            config = SimConfig(error_rate=1.0, seed=seed, wrong_answers=wrong_answers)
            shown = _on_path(disks, rng, 12) + _off_path(disks, rng, 12)
            for reply, state, previous in _replies(config, style, disks, shown, 8):
                kind = _check(reply.text, reply.finish_reason, reply.tokens_out, state, previous, disks)
                kinds[kind] = kinds.get(kind, 0) + 1
    assert "right" not in kinds and kinds["wrong_move"] > 500, kinds
    assert {"too_long", "no_move", "no_state", "bad_move", "bad_state"} <= set(kinds), kinds
    if wrong_answers == "spread":
        assert kinds["wrong_state"] > 200, kinds
    else:  # every valid wrong vote of a step is the step's one wrong move
        assert "wrong_state" not in kinds, kinds


def test_a_wrong_move_reads_like_one_or_two_sentences_of_the_right_length():
    sim = SimulatedLLM(SimConfig(error_rate=1.0, error_kinds={"wrong_move": 1.0}, seed=5))
    right_sim = SimulatedLLM(SimConfig(error_rate=0.0))
    builder = PromptBuilder(built_in("paper", 10))
    texts = set()
    for step in range(1, 200, 7):
        messages = builder.messages(optimal_move(step - 1, 10) if step > 1 else None, state_before_step(step, 10))
        right = _prose(right_sim.complete_now(messages, 0.0, MAX_TOKENS, (step, 0)).text)
        for index in range(6):
            prose = _prose(sim.complete_now(messages, 0.1, MAX_TOKENS, (step, index)).text).strip()
            assert prose != right.strip()
            assert 1 <= prose.count(". ") + 1 <= 2 and 0.6 * len(right) <= len(prose) <= 1.6 * len(right), prose
            texts.add(re.sub(r"\d+", "#", prose))
    assert len(texts) >= 4, texts  # more than one kind of slip
