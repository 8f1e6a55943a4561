"""The simulated model: it reads the prompt and writes text; the parser judges it like any reply."""

import asyncio
from collections import Counter

import pytest

from engine.models.sim import ErrorKind, SimConfig, SimulatedLLM
from engine.task.hanoi import apply_move, is_legal, optimal_move, state_before_step
from engine.task.parser import Answer, RedFlag, parse_answer
from engine.task.prompt import PromptBuilder, built_in

DISKS = 9
STEP = 200


def _prompt(step=STEP, disks=DISKS):
    return PromptBuilder(built_in("paper", disks)).messages(optimal_move(step - 1, disks), state_before_step(step, disks))


def _replies(config, n, step=STEP, max_tokens=750):
    sim = SimulatedLLM(config)
    messages = _prompt(step)

    async def draw():
        return [await sim.complete(messages, 0.1, max_tokens) for _ in range(n)]

    return asyncio.run(draw())


def _right(step=STEP):
    move = optimal_move(step, DISKS)
    return Answer(move, apply_move(state_before_step(step, DISKS), move))


def test_a_reliable_model_reads_the_state_from_the_prompt_and_answers_right():
    for step in (1, 2, 77, 511):
        (reply,) = _replies(SimConfig(error_rate=0.0), 1, step=step)
        assert reply.finish_reason == "stop"
        assert parse_answer(reply.text, DISKS) == _right(step)
        assert reply.tokens_out > 20 and reply.tokens_in > 400


@pytest.mark.parametrize("kind", list(ErrorKind))
def test_each_error_kind_reaches_the_parser_as_text(kind):
    replies = _replies(SimConfig(error_rate=1.0, error_kinds={kind: 1.0}, seed=3), 60)
    state = state_before_step(STEP, DISKS)
    right = _right()
    for reply in replies:
        if kind is ErrorKind.OVERLONG:
            assert reply.finish_reason == "length" and reply.tokens_out == 750
            continue
        parsed = parse_answer(reply.text, DISKS)
        if kind is ErrorKind.MALFORMED:
            assert parsed in {RedFlag.NO_MOVE, RedFlag.NO_STATE, RedFlag.BAD_MOVE, RedFlag.BAD_STATE}
        elif kind is ErrorKind.WRONG_MOVE:
            assert isinstance(parsed, Answer) and parsed.move != right.move
            assert is_legal(state, parsed.move) and parsed.state == apply_move(state, parsed.move)
        else:
            assert isinstance(parsed, Answer) and parsed.move == right.move and parsed.state != right.state
    if kind is ErrorKind.MALFORMED:
        reasons = Counter(parse_answer(reply.text, DISKS) for reply in replies)
        assert len(reasons) == 4


def test_the_error_rate_is_the_share_of_replies_that_are_not_the_right_answer():
    replies = _replies(SimConfig(error_rate=0.2, seed=9), 5000)
    wrong = sum(parse_answer(r.text, DISKS) != _right() or r.finish_reason != "stop" for r in replies)
    assert wrong / 5000 == pytest.approx(0.2, abs=0.02)


def test_same_mode_makes_every_wrong_vote_of_a_step_one_answer():
    replies = _replies(SimConfig(error_rate=0.5, error_kinds={"wrong_move": 1, "wrong_state": 1}, wrong_answers="same", seed=1), 400)
    candidates = Counter(parse_answer(r.text, DISKS) for r in replies)
    assert len(candidates) == 2 and _right() in candidates


def test_hard_steps_err_at_their_own_rate():
    config = SimConfig(error_rate=0.0, hard_steps=(STEP,), hard_error_rate=0.6, seed=2)
    hard = _replies(config, 2000)
    easy = _replies(config, 200, step=STEP + 1)
    assert sum(parse_answer(r.text, DISKS) != _right() for r in hard) / 2000 == pytest.approx(0.6, abs=0.04)
    assert all(parse_answer(r.text, DISKS) == _right(STEP + 1) for r in easy)


def test_replies_longer_than_the_limit_are_cut_there_as_a_server_would():
    (reply,) = _replies(SimConfig(error_rate=0.0), 1, max_tokens=10)
    assert reply.finish_reason == "length" and reply.tokens_out == 10 and len(reply.text) == 40


def test_latency_makes_the_model_wait():
    sim = SimulatedLLM(SimConfig(latency_s=0.01))
    assert not sim.completes_without_waiting
    reply = asyncio.run(sim.complete(_prompt(), 0.0, 750))
    assert reply.latency_s == pytest.approx(0.01)
    assert SimulatedLLM().completes_without_waiting


def test_a_prompt_without_a_state_gets_a_reply_the_parser_rejects():
    sim = SimulatedLLM(SimConfig(error_rate=0.0))
    reply = asyncio.run(sim.complete([{"role": "user", "content": "hello"}], 0.0, 750))
    assert isinstance(parse_answer(reply.text, DISKS), RedFlag)
