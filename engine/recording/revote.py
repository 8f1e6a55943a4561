"""Re-vote a recording: decide every step again from its recorded samples under another k.

Each step is re-decided on its own, from the samples recorded for it in their recorded order, as if
its shown state were the recorded one: a counterfactual per step, not a re-run. A step that the new
k would not decide within the recorded samples "needed samples never drawn".
"""

from __future__ import annotations

from pydantic import BaseModel

from engine.recording.reader import Recording
from engine.task.hanoi import IllegalMove, Move, State, apply_move, strategy_move
from engine.task.parser import Answer, RedFlag, is_too_long, parse_answer
from engine.voting.tally import VoteTally


class RevoteResult(BaseModel):
    """What one k would have done with the recorded samples."""

    k: int
    max_tokens: int
    steps: int
    decided_same: int
    decided_differently: int
    """Steps the new k decides for another candidate than the recorded run did."""
    wrong: int
    """Steps whose re-decided answer the audit would call wrong."""
    needs_undrawn_samples: int
    """Steps the recorded samples do not decide under the new k."""
    samples: int
    """Samples the new k would have drawn (valid votes and red flags) among those recorded."""
    votes: int
    red_flags: int
    tokens_in: int
    tokens_out: int
    cost_usd: float | None


def revote(recording: Recording, k: int, max_tokens: int | None = None) -> RevoteResult:
    """Decide every recorded step again under ``k`` (and ``max_tokens`` for the too-long flag)."""
    limit = max_tokens if max_tokens is not None else recording.meta.run.max_tokens
    disks = recording.disks
    same = different = wrong = short = samples = votes = red_flags = tokens_in = tokens_out = 0
    for record in recording:
        tally: VoteTally[Answer] = VoteTally(k)
        decided = None
        for sample in record.samples:
            if sample.cancelled:
                continue
            samples += 1
            tokens_in += sample.tokens_in
            tokens_out += sample.tokens_out
            answer = _judge_again(sample.answer, sample.red_flag, sample.cut, sample.tokens_out, sample.text, limit, disks)
            if answer is None:
                red_flags += 1
                continue
            votes += 1
            if tally.add(answer):
                decided = tally.leader
                break
        if decided is None:
            short += 1
            continue
        if decided == record.answer:
            same += 1
            wrong += not record.correct
        else:
            different += 1
            wrong += decided != _right_answer(record.state, record.previous_move, disks)
    pricing = recording.meta.pricing
    cost = None if pricing is None else pricing.cost(tokens_in, tokens_out)
    return RevoteResult(
        k=k, max_tokens=limit, steps=len(recording), decided_same=same, decided_differently=different, wrong=wrong,
        needs_undrawn_samples=short, samples=samples, votes=votes, red_flags=red_flags,
        tokens_in=tokens_in, tokens_out=tokens_out, cost_usd=cost,
    )


def _judge_again(
    answer: Answer | None, red_flag: RedFlag | None, cut: bool, tokens_out: int, text: str | None, limit: int, disks: int
) -> Answer | None:
    """A recorded sample judged under a new token limit: its candidate, or None if red-flagged."""
    if is_too_long("length" if cut else "stop", tokens_out, limit, len(text) if text is not None else 0):
        return None
    if red_flag is RedFlag.TOO_LONG:
        # Flagged for length under the old limit but within the new one: parse its kept text.
        parsed = parse_answer(text, disks) if text is not None else None
        return parsed if isinstance(parsed, Answer) else None
    return answer


def _right_answer(state: State, previous: Move | None, disks: int) -> Answer | None:
    move = strategy_move(state, previous, disks)
    if move is None:
        return None
    try:
        return Answer(move, apply_move(state, move))
    except IllegalMove:
        return None
