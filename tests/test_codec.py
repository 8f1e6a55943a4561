"""The step codec: any step, with any samples, encodes and decodes to itself; and a recording keeps
each sample's input tokens exactly."""

import asyncio
import contextlib
import json
import sqlite3
import struct
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.models.sampler import Completion
from engine.models.sim import SimConfig, SimulatedLLM
from engine.recording.codec import (
    CodecError,
    decode_record,
    decode_samples,
    encode_step,
    follows,
    unpack_answers,
)
from engine.recording.export import step_json
from engine.recording.format import recording_meta
from engine.recording.reader import Recording
from engine.recording.writer import Recorder
from engine.run.config import Checkpoint, RunConfig
from engine.run.events import StepDecided
from engine.run.session import new_session
from engine.task.hanoi import MAX_DISKS, apply_move, is_legal, state_before_step, total_steps
from engine.task.parser import Answer, RedFlag

FIRST_T, OTHER_T = 0.0, 0.1
f32 = st.floats(min_value=0, max_value=3600, allow_nan=False, width=32)
tokens = st.integers(0, 2**24)
"""A reply's tokens: up to 16 million, so that a step's input tokens fit the record's u32."""


@st.composite
def states(draw, disks):
    """Any arrangement of the disks on three pegs (each peg bottom to top, any order)."""
    pegs = [[], [], []]
    for disk in draw(st.permutations(range(1, disks + 1))):
        pegs[draw(st.integers(0, 2))].append(disk)
    return tuple(tuple(peg) for peg in pegs)


@st.composite
def answers(draw, disks):
    move = (draw(st.integers(1, disks)), draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    return Answer(move, draw(states(disks)))


@st.composite
def completions(draw):
    return Completion(
        text=draw(st.text(max_size=40)),
        finish_reason=draw(st.sampled_from(["stop", "length"])),
        tokens_in=draw(tokens),
        tokens_out=draw(st.integers(0, 2**32 - 1)),
        latency_s=draw(f32),
    )


@st.composite
def steps(draw, disks, shown):
    """A step shown ``shown``: a winner (or none), a verdict, and samples in arrival order."""
    right = None
    legal = [(peg[-1], source, target) for source, peg in enumerate(shown) if peg for target in range(3)
             if is_legal(shown, (peg[-1], source, target))]
    if legal:
        move = draw(st.sampled_from(legal))
        right = Answer(move, apply_move(shown, move))
    winner = draw(st.one_of(st.none(), answers(disks), st.just(right) if right else st.none()))
    # The format's invariant: a winner the audit calls correct is what its move makes of the shown state.
    correct = winner is not None and follows(shown, winner) and draw(st.booleans())
    if winner is not None and draw(st.booleans()):
        # The common step: one reply drawn again and again, most often right and instant.
        if right is not None and draw(st.booleans()):
            winner, correct = right, True
        reply = draw(st.one_of(completions(), completions().map(lambda c: c._replace(finish_reason="stop",
                                                                                       latency_s=0.0))))
        return shown, winner, correct, tuple((i, FIRST_T if i == 0 else OTHER_T, winner, reply)
                                             for i in range(draw(st.integers(1, 8))))
    others = draw(st.lists(answers(disks), max_size=3)) if winner is not None else []
    outcome = st.one_of(st.sampled_from(list(RedFlag)), st.none(), *(
        [st.sampled_from([winner, *others])] if winner is not None else []))
    samples = []
    for index in draw(st.permutations(range(draw(st.integers(0, 9))))):
        result = draw(outcome)
        reply = None if result is None and draw(st.booleans()) else draw(completions())
        samples.append((index, FIRST_T if index == 0 else OTHER_T, result, reply))
    return shown, winner, correct, tuple(samples)


@st.composite
def blocks(draw):
    """Steps back to back, each shown what the one before it decided."""
    disks = draw(st.integers(1, MAX_DISKS))
    shown = state_before_step(draw(st.integers(1, total_steps(disks))), disks)
    made = []
    for _ in range(draw(st.integers(1, 6))):
        step = draw(steps(disks, shown))
        made.append(step)
        if step[1] is not None:
            shown = step[1].state
    return made


def expected(samples, winner, keep_text):
    """What the format promises to give back for each sample."""
    out = []
    for position, (index, _, outcome, reply) in enumerate(samples):
        cancelled = outcome is None
        kept = reply is not None and (keep_text or outcome.__class__ is RedFlag
                                      or (outcome.__class__ is Answer and outcome != winner))
        out.append((
            position,
            FIRST_T if index == 0 else OTHER_T,
            outcome if outcome.__class__ is Answer else None,
            outcome if outcome.__class__ is RedFlag else None,
            reply.tokens_in if reply else 0,
            reply.tokens_out if reply else 0,
            reply.latency_s if reply else 0.0,
            cancelled,
            reply is not None and reply.finish_reason == "length",
            reply.text if kept else None,
            index == 0,
        ))
    return out


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blocks(), st.booleans())
def test_any_steps_encode_and_decode_to_themselves(made, keep_text):
    records, kept = [], []
    for shown, winner, correct, samples in made:
        texts = []
        record, votes, tokens_in, tokens_out = encode_step(shown, winner, correct, samples, keep_text, texts)
        records.append(record)
        assert [position for position, _ in texts] == sorted({position for position, _ in texts})
        kept.append(dict(texts))
        arrived = [reply for _, _, _, reply in samples if reply is not None]
        assert votes == sum(1 for _, _, outcome, _ in samples if outcome.__class__ is Answer)
        assert tokens_in == sum(reply.tokens_in for reply in arrived)
        assert tokens_out == sum(reply.tokens_out for reply in arrived)
    data = b"".join(records)
    at = 0
    for (shown, winner, correct, samples), texts in zip(made, kept, strict=True):
        raw, at = decode_record(data, at)
        decoded_winner = None
        if winner is not None:
            decoded_winner = Answer(raw.move, raw.state if raw.state is not None else apply_move(shown, raw.move))
            assert decoded_winner == winner
        else:
            assert raw.move == (0, 0, 0)
        assert bool(raw.flags & 1) == correct
        candidates = ([decoded_winner] if decoded_winner else []) + unpack_answers(shown, raw.others)
        decoded = decode_samples(raw, candidates, texts, FIRST_T, OTHER_T)
        assert [tuple(sample) for sample in decoded] == expected(samples, winner, keep_text)
    assert at == len(data)


@given(st.binary(max_size=200))
def test_any_bytes_decode_to_a_step_or_a_codec_error(data):
    try:
        raw, at = decode_record(data, 0)
    except CodecError:
        return
    assert 0 < at <= len(data) and len(raw.codes) == len(raw.outs)


class VaryingPrompt(SimulatedLLM):
    """The simulated model, with a server that counts each reply's prompt a little differently."""

    def __init__(self):
        super().__init__(SimConfig(seed=3, error_rate=0.1))
        self.replies = 0

    def complete_now(self, messages, temperature, max_tokens, sample=None):
        self.replies += 1
        reply = super().complete_now(messages, temperature, max_tokens, sample)
        return reply._replace(tokens_in=reply.tokens_in + self.replies % 7)


def test_each_samples_input_tokens_are_recorded_exactly(tmp_path):
    path = tmp_path / "varying.maker"
    sampler = VaryingPrompt()
    events = []
    session = new_session(RunConfig(disks=5, k=3), sampler, None, record=path)
    session.runner.subscribe_samples(events.append)
    asyncio.run(session.run())
    sent = [event.completion.tokens_in for event in events]
    with Recording.open(path) as recording:
        assert recording.exact_tokens_in
        records = list(recording)
        exported = [step_json(record) for record in records]
    kept = [sample.tokens_in for record in records for sample in record.samples]
    assert kept == sent
    assert all(len({sample.tokens_in for sample in record.samples}) > 1 for record in records)
    assert not any(line["tokens_in_estimated"] for line in exported)


def test_an_older_recordings_split_input_tokens_are_marked_estimated(tmp_path):
    path = tmp_path / "old.maker"
    asyncio.run(new_session(RunConfig(disks=3, k=3), SimulatedLLM(), None, record=path).run())
    with open(path, "r+b") as handle:  # what a schema-1 file says of itself
        handle.seek(60)
        handle.write(struct.pack(">I", 1))
    from tests.test_recording import maker

    result = maker("export", str(path), "--jsonl")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 7 and all(line["tokens_in_estimated"] for line in lines)


@pytest.mark.parametrize("disks", [1, 2, 30])
def test_the_largest_disk_numbers_and_states_pack(disks):
    shown = state_before_step(1, disks)
    move = (1, 0, 1 if disks % 2 == 0 else 2)
    winner = Answer(move, apply_move(shown, move))
    reply = Completion("x", "stop", 10, 5, 0.0)
    record, *_ = encode_step(shown, winner, False, ((0, FIRST_T, winner, reply),), False, [])
    raw, _ = decode_record(record, 0)
    assert raw.move == move


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blocks(), st.booleans())
def test_the_recorders_shortcut_writes_what_encode_step_writes(made, keep_text):
    """Most steps never reach encode_step: the recorder packs plain ones itself. Byte for byte,
    whatever the steps, both must write the same."""
    # A decided step has a winner, and votes for it (the shortcut trusts a step of one candidate to
    # be all votes for the winner, as the runner's are).
    made = [step for step in made if step[1] is not None and any(outcome == step[1] for _, _, outcome, _ in step[3])]
    if not made:
        return
    disks = sum(len(peg) for peg in made[0][0])
    config = RunConfig(disks=disks, k=1)
    expected_bytes = b"".join(
        encode_step(shown, winner, correct, samples, keep_text, [])[0] for shown, winner, correct, samples in made
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "shortcut.maker"
        meta = recording_meta(config, "sim", {}, pricing=None, keep_text=keep_text)
        recorder = Recorder(path, meta, Checkpoint(1, made[0][0], None))
        for step, (shown, winner, correct, samples) in enumerate(made, 1):
            outcomes = [outcome for _, _, outcome, _ in samples]
            votes = [outcome for outcome in outcomes if outcome.__class__ is Answer]
            recorder.on_decision(StepDecided(
                step, winner, votes.count(winner), len(votes), sum(o.__class__ is RedFlag for o in outcomes),
                outcomes.count(None), len(set(votes)), None, correct, shown, None, samples,
            ))
        recorder.close()
        with contextlib.closing(sqlite3.connect(path)) as connection:
            written = b"".join(row[0] for row in connection.execute("SELECT steps FROM blocks ORDER BY first_step"))
    assert written == expected_bytes
