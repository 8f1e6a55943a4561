"""The run: voting over sampled replies, red flags, cancellation, the audit, undecided steps."""

import asyncio
import math
from collections import Counter
from pathlib import Path

import pytest

from engine.models.sampler import Completion, ModelAuthError
from engine.models.sim import SimConfig, SimulatedLLM
from engine.recording.format import RecordingError, recording_meta
from engine.recording.reader import Recording
from engine.recording.writer import Recorder
from engine.run.config import RunConfig
from engine.run.events import (
    RunFinished,
    SampleCancelled,
    SampleReceived,
    SampleRedFlagged,
    StepDecided,
    StepStarted,
    StepUndecided,
)
from engine.run.runner import Runner
from engine.task.hanoi import total_steps
from engine.voting.scaling import expected_votes_per_step, p_step
from tests.conftest import run_sim


def test_a_seeded_10_disk_run_solves_the_tower_with_zero_errors():
    summary = run_sim(disks=10, seed=1, error_rate=0.02)
    assert summary.solved and summary.stopped == "solved"
    assert summary.steps == total_steps(10) == 1023
    assert summary.errors == 0
    assert summary.samples >= 3 * 1023
    assert sum(summary.red_flags.values()) > 0, "at 2% errors some replies must have been red-flagged"


def test_the_same_seed_gives_the_same_run():
    timing = {
        "wall_s": True,
        "forecast": {"projected_remaining_time_s"},
        "forecast_history": {"__all__": {"projected_remaining_time_s"}},
    }
    first = run_sim(disks=8, seed=5, error_rate=0.05).model_dump(exclude=timing)
    second = run_sim(disks=8, seed=5, error_rate=0.05).model_dump(exclude=timing)
    assert first == second


def test_events_account_for_every_sample_and_red_flags_never_vote():
    events = []
    summary = run_sim(disks=7, seed=3, error_rate=0.15, listener=events.append, samples=True)
    received = [e for e in events if isinstance(e, SampleReceived)]
    flagged = [e for e in events if isinstance(e, SampleRedFlagged)]
    decided = [e for e in events if isinstance(e, StepDecided)]
    assert len(received) == summary.samples
    assert Counter(e.reason.value for e in flagged) == Counter({k: v for k, v in summary.red_flags.items() if v})
    assert len(decided) == summary.steps == len([e for e in events if isinstance(e, StepStarted)])
    assert isinstance(events[-1], RunFinished) and events[-1].summary == summary
    votes_by_step = Counter(e.step for e in received)
    flags_by_step = Counter(e.step for e in flagged)
    for step in decided:
        assert step.votes == votes_by_step[step.step]
        assert step.red_flags == flags_by_step[step.step]
        winners = [e for e in received if e.step == step.step and e.answer == step.answer]
        assert len(winners) == step.winner_votes
    # The first sample of every step goes out at temperature 0, the rest at 0.1.
    for e in received + flagged:
        assert e.temperature == (0.0 if e.index == 0 else 0.1)


def test_the_audit_reports_a_wrong_decision_and_never_repairs_the_state():
    events = []
    summary = run_sim(
        disks=6, seed=2, error_rate=0.0, hard_steps=(20,), hard_error_rate=0.95,
        error_kinds={"wrong_move": 1.0}, wrong_answers="same", listener=events.append,
    )
    assert summary.errors >= 1 and summary.first_error_step == 20
    assert not summary.solved
    decided = {e.step: e for e in events if isinstance(e, StepDecided)}
    started = {e.step: e for e in events if isinstance(e, StepStarted)}
    assert not decided[20].correct and decided[20].answer != decided[20].expected
    # The next agent is shown the voted (wrong) state, not the simulator's.
    assert started[21].state == decided[20].answer.state
    assert started[21].previous_move == decided[20].answer.move


def test_stop_on_error_stops_at_the_first_wrong_step():
    summary = run_sim(
        disks=6, seed=2, error_rate=0.0, hard_steps=(20,), hard_error_rate=0.95,
        error_kinds={"wrong_move": 1.0}, wrong_answers="same", runner_options={"stop_on_error": True},
    )
    assert summary.stopped == "audit_error" and summary.steps == 20 and summary.errors == 1
    assert "step 20" in summary.message


def test_a_hard_step_with_p_below_one_half_ends_undecided_with_a_clear_message():
    """The model answers step 50 right one time in ten and scatters the rest over wrong states.

    Over 100 seeds this configuration ends undecided 93 times (and otherwise decides right): voting
    cannot fix a systematic error, and the run must say so instead of moving on.
    """
    events = []
    summary = run_sim(
        disks=7, k=5, seed=1, error_rate=0.0, hard_steps=(50,), hard_error_rate=0.9,
        error_kinds={"wrong_state": 1.0}, listener=events.append,
    )
    assert summary.stopped == "undecided" and not summary.solved
    assert summary.steps == 49 and summary.errors == 0
    undecided = summary.undecided
    assert undecided.step == 50 and undecided.votes == 50
    assert undecided.estimated_p < 0.5
    assert undecided.right_answer_share is not None and undecided.right_answer_share < 0.5
    assert "step 50 is undecided" in summary.message and "p <= " in summary.message
    assert "systematic" in summary.message
    assert sum(count for _, count in undecided.tally) == 50
    assert isinstance(events[-2], StepUndecided) and events[-2].message == summary.message


@pytest.mark.parametrize("seed", range(12))
def test_with_p_below_one_half_a_wrong_decision_is_never_silent(seed):
    summary = run_sim(
        disks=6, k=3, seed=seed, error_rate=0.0, hard_steps=(30,), hard_error_rate=0.8,
        error_kinds={"wrong_move": 1.0, "wrong_state": 1.0}, runner_options={"stop_on_error": True},
    )
    assert summary.solved or summary.stopped in ("undecided", "audit_error")
    if summary.stopped == "audit_error":
        assert summary.errors == 1 and summary.first_error_step == 30


def test_a_model_that_only_writes_garbage_ends_undecided():
    summary = run_sim(disks=3, error_rate=1.0, error_kinds={"malformed": 1.0}, runner_options={"max_red_flags_per_step": 30})
    assert summary.stopped == "undecided" and summary.steps == 0
    assert "red-flagged" in summary.message and sum(summary.red_flags.values()) == 30


def _gamblers_ruin_run(wrong_answers, error_kinds):
    return run_sim(
        disks=16, k=3, seed=11, error_rate=0.1, error_kinds=error_kinds, wrong_answers=wrong_answers
    )


def test_votes_per_step_match_the_gamblers_ruin_formula_with_two_candidates():
    summary = _gamblers_ruin_run("same", {"wrong_move": 1.0})
    assert summary.steps == total_steps(16)
    assert summary.samples_per_step == pytest.approx(expected_votes_per_step(0.9, 3), rel=0.01)
    # At p = 0.9, k = 3 one step in 730 is decided wrong: about 90 of 65,535, all caught by the audit.
    wrong_steps = summary.steps * (1 - p_step(0.9, 3))
    assert abs(summary.errors - wrong_steps) <= 4 * math.sqrt(wrong_steps)


def test_votes_per_step_are_no_higher_than_the_formula_when_errors_spread():
    summary = _gamblers_ruin_run("spread", {"wrong_move": 1.0, "wrong_state": 1.0})
    assert summary.steps == total_steps(16)
    assert summary.samples_per_step <= expected_votes_per_step(0.9, 3)
    assert summary.errors <= summary.steps * (1 - p_step(0.9, 3))


def test_extra_parallel_samples_are_cancelled_never_counted():
    base = run_sim(disks=6, seed=4, error_rate=0.05)
    events = []
    wide = run_sim(disks=6, seed=4, error_rate=0.05, listener=events.append, samples=True, runner_options={"parallel": 5})
    assert wide.samples == base.samples and wide.errors == 0
    cancelled = [e for e in events if isinstance(e, SampleCancelled)]
    assert wide.cancelled == len(cancelled) > 0
    for step in (e for e in events if isinstance(e, StepDecided)):
        assert step.votes + step.red_flags + step.cancelled >= 5
        if step.votes == 3 and step.red_flags == 0:
            assert step.cancelled == 2


def test_a_sampler_that_waits_is_sampled_in_parallel_and_cancelled_when_done():
    events = []
    sim = SimulatedLLM(SimConfig(seed=4, error_rate=0.05, latency_s=0.002, latency_spread=0.5))
    runner = Runner(RunConfig(disks=5, k=3, parallel=5), sim)
    runner.subscribe(events.append, samples=True)
    summary = asyncio.run(runner.run())
    assert summary.solved and summary.errors == 0
    cancelled = [e for e in events if isinstance(e, SampleCancelled)]
    assert summary.cancelled == len(cancelled) > 0
    votes = [e for e in events if isinstance(e, SampleReceived)]
    assert len(votes) == summary.samples
    assert not {(e.step, e.index) for e in cancelled} & {(e.step, e.index) for e in votes}


class _FailingSampler(SimulatedLLM):
    """The simulated model, until its 41st reply: then its server goes away."""

    def __init__(self):
        super().__init__(SimConfig(seed=1))
        self.calls = 0

    def complete_now(self, messages, temperature, max_tokens, sample=None) -> Completion:
        self.calls += 1
        if self.calls > 40:
            raise ConnectionError("server went away")
        return super().complete_now(messages, temperature, max_tokens, sample)


def test_a_sampler_that_fails_ends_the_run_cleanly_keeping_decided_steps(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    summary = asyncio.run(Runner(RunConfig(disks=5, k=3), _FailingSampler()).run())
    assert summary.stopped == "sampler_error" and summary.steps >= 10
    assert "server went away" in summary.message and f"step {summary.steps + 1}" in summary.message
    # Not a ModelError: a fault the model's code did not expect, so its traceback is kept.
    log = Path(summary.log_file)
    assert log.parent == tmp_path / "maker" / "logs" and "ConnectionError: server went away" in log.read_text()


def test_a_model_error_is_the_models_fault_and_needs_no_traceback(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))

    class Refusing(SimulatedLLM):
        def complete_now(self, messages, temperature, max_tokens, sample=None):
            raise ModelAuthError("the server refused the API key from $OPENAI_API_KEY (401)")

    runner = Runner(RunConfig(disks=3, k=3), Refusing())
    summary = asyncio.run(runner.run())
    assert summary.stopped == "sampler_error" and summary.log_file is None
    assert summary.message == "step 1: the model failed: the server refused the API key from $OPENAI_API_KEY (401)"
    assert isinstance(runner.failure, ModelAuthError)


def test_a_listener_bug_stops_the_run_with_its_own_reason_and_a_log(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))

    def buggy(event):
        if isinstance(event, StepDecided) and event.step == 7:
            raise KeyError("no such pane")

    runner = Runner(RunConfig(disks=5, k=3), SimulatedLLM(SimConfig(seed=1)))
    runner.subscribe(buggy)
    summary = asyncio.run(runner.run())
    assert summary.stopped == "listener_error" and summary.steps == 7
    assert "a listener failed (KeyError: 'no such pane')" in summary.message
    assert summary.log_file in summary.message
    assert "Traceback" in Path(summary.log_file).read_text() and "buggy" in Path(summary.log_file).read_text()


def test_a_full_disk_stops_the_run_as_a_recording_error_and_keeps_what_was_written(tmp_path):
    path = tmp_path / "full.maker"
    config = RunConfig(disks=12, k=3)
    runner = Runner(config, SimulatedLLM(SimConfig(seed=1)))
    meta = recording_meta(config, "sim", {}, pricing=None, keep_text=False)
    recorder = Recorder(path, meta, runner.checkpoint, flush_interval_s=0.0)  # commit every sealed block
    recorder.attach(runner)
    pages = recorder._connection.execute("PRAGMA page_count").fetchone()[0]  # noqa: SLF001
    recorder._connection.execute(f"PRAGMA max_page_count = {pages + 6}")  # noqa: SLF001 - a disk that fills up
    summary = asyncio.run(runner.run())
    with pytest.raises(RecordingError, match="database or disk is full"):
        recorder.close()
    assert summary.stopped == "recording_error" and summary.log_file is None
    assert "database or disk is full" in summary.message and f"maker resume {path}" in summary.message
    assert 0 < summary.steps < total_steps(12)
    with Recording.open(path) as recording:  # what was written before the disk filled up is intact
        assert 0 < len(recording) <= summary.steps and recording.meta.last_stop in (None, "recording_error")
        assert f"steps 1 to {len(recording):,} are saved" in summary.message
        recording.verify()
