"""Lookahead: steps sampled ahead on predicted states, decided in order by their own votes; the
same decisions as without it, and what a wrong prediction asked for counted as wasted."""

import asyncio
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from engine.models.pricing import pricing_for
from engine.models.sim import SimConfig, SimulatedLLM
from engine.recording.format import BLOCK_STEPS
from engine.recording.reader import Recording
from engine.run.config import RunConfig
from engine.run.control import RunControl
from engine.run.session import new_session
from engine.task.hanoi import total_steps
from tests.test_recording import kill_once_durable

ROOT = Path(__file__).resolve().parent.parent
#: Three hard steps where the wrong answer (one, the same each time) wins often: wrong decisions,
#: so wrong predictions, so steps thrown away.
HARD = SimConfig(seed=7, error_rate=0.05, hard_steps=(100, 300, 700), hard_error_rate=0.6,
                 error_kinds={"wrong_move": 1.0, "malformed": 0.3}, wrong_answers="same",
                 latency_s=0.0004, latency_spread=1.0)


def _record(path, lookahead, config=HARD, disks=10):
    session = new_session(RunConfig(disks=disks, k=3, lookahead=lookahead), SimulatedLLM(config), None, record=path)
    return asyncio.run(session.run())


def _votes(record):
    """A step's judged samples in launch order: what decided it."""
    return [(sample.answer, sample.red_flag) for sample in record.samples if not sample.cancelled]


def test_lookahead_decides_every_step_as_a_run_without_it_does(tmp_path):
    alone, ahead = tmp_path / "alone.maker", tmp_path / "ahead.maker"
    one = _record(alone, lookahead=0)
    many = _record(ahead, lookahead=16)
    assert one.steps == many.steps == total_steps(10)
    assert one.errors == many.errors > 0  # wrong decisions: the predictions after them failed
    with Recording.open(alone) as first, Recording.open(ahead) as second:
        for a, b in zip(first, second, strict=True):
            assert (a.step, a.answer, a.correct, _votes(a)) == (b.step, b.answer, b.correct, _votes(b)), a.step
        totals_one, totals_many = first.totals(), second.totals()
    assert totals_one.wasted == 0 and one.wasted == 0
    assert totals_many.wasted == many.wasted > 0 and many.wasted_tokens_in > 0
    assert one.samples == many.samples and one.red_flags == many.red_flags
    # What was paid for: the same judged tokens, plus the waste.
    assert many.tokens_in == one.tokens_in - _cancelled_in(alone) + _cancelled_in(ahead) + many.wasted_tokens_in


def _cancelled_in(path):
    with Recording.open(path) as recording:
        return sum(s.tokens_in for record in recording for s in record.samples if s.cancelled)


class Counting(SimulatedLLM):
    """The simulated model, counting the requests in flight and what every reply it sent cost."""

    def __init__(self, config):
        super().__init__(config)
        self.in_flight = self.most_in_flight = self.tokens_in = self.tokens_out = 0

    async def complete(self, *args, **kwargs):
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            completion = await super().complete(*args, **kwargs)
        finally:
            self.in_flight -= 1
        self.tokens_in += completion.tokens_in
        self.tokens_out += completion.tokens_out
        return completion


def test_lookahead_keeps_the_window_in_flight_and_says_how_far_ahead():
    config = SimConfig(seed=1, latency_s=0.002)
    alone, ahead = Counting(config), Counting(config)
    one = asyncio.run(new_session(RunConfig(disks=7, k=3), alone, None).run())
    session = new_session(RunConfig(disks=7, k=3, lookahead=16), ahead, None)
    depths = []
    session.runner.subscribe(lambda event: depths.append(session.runner.window_depth))
    many = asyncio.run(session.run())
    assert one.solved and many.solved and many.lookahead == 16 and one.lookahead == 0
    assert alone.most_in_flight == 3 and ahead.most_in_flight == 17 * 3  # the first round of 17 steps
    assert max(depths) == 16


def test_the_budget_holds_with_lookahead():
    """Replies of steps ahead are not in the run's totals until their step is the oldest: the
    budget charges them all the same, and the run stops before spending more than it."""
    config = SimConfig(seed=3, error_rate=0.05, latency_s=0.005, latency_spread=1.5)
    for lookahead in (0, 32, 128):
        sampler = Counting(config)
        run = RunConfig(disks=12, k=3, lookahead=lookahead, budget_usd=0.05)
        summary = asyncio.run(new_session(run, sampler, pricing_for("sim")).run())
        assert summary.stopped == "budget", lookahead
        spent = pricing_for("sim").cost(sampler.tokens_in, sampler.tokens_out)
        assert summary.cost_usd == pytest.approx(spent) and spent <= 0.05, (lookahead, spent)


def test_every_ending_counts_what_the_steps_ahead_asked_for(tmp_path):
    """Undecided, an audit stop, a user's stop: every reply the model sent is in the tokens, the
    steps ahead's samples among the cancelled ones, never as waste; the file says the same."""
    hard = SimConfig(seed=7, error_rate=0.02, hard_steps=(60,), hard_error_rate=0.6, wrong_answers="same",
                     error_kinds={"wrong_move": 1.0}, latency_s=0.002)
    endings = [
        ("undecided", RunConfig(disks=8, k=3, lookahead=32, max_votes_per_step=4), None),
        ("audit_error", RunConfig(disks=8, k=3, lookahead=32, stop_on_error=True), None),
        ("stopped", RunConfig(disks=8, k=3, lookahead=32), 40),
        ("stopped", RunConfig(disks=9, k=3, lookahead=32), BLOCK_STEPS),  # the file's block just closed
    ]
    for ending, config, stop_at in endings:
        sampler = Counting(hard)
        path = tmp_path / f"{ending}-{stop_at}.maker"
        control = RunControl()
        session = new_session(config, sampler, None, record=path, control=control)
        if stop_at:  # the user stops the run once step stop_at is decided
            def stop_once_decided(event, runner=session.runner, control=control, stop_at=stop_at):
                if runner.totals.steps >= stop_at:
                    control.stop()

            session.runner.subscribe(stop_once_decided)
        summary = asyncio.run(session.run())
        assert summary.stopped == ending and summary.steps < total_steps(config.disks), (ending, summary.message)
        assert stop_at is None or summary.steps == stop_at
        assert (summary.tokens_in, summary.tokens_out) == (sampler.tokens_in, sampler.tokens_out), ending
        assert summary.wasted == 0 and summary.cancelled > 0, ending
        with Recording.open(path) as recording:
            totals = recording.totals()
        assert (totals.tokens_in, totals.cancelled) == (summary.tokens_in, summary.cancelled), ending


def test_lookahead_at_a_pace_and_step_by_step_decides_as_at_full_speed(tmp_path):
    """Launches wait at the control's gate (a pace, a pause): replies that come back meanwhile are
    taken as soon as the gate opens; a run paused with steps ahead in flight goes on with them; the
    decisions stay those of a run at full speed."""
    config = SimConfig(seed=2, error_rate=0.05, latency_s=0.002)
    full = tmp_path / "full.maker"
    asyncio.run(new_session(RunConfig(disks=5, k=3, lookahead=8), SimulatedLLM(config), None, record=full).run())
    paced = tmp_path / "paced.maker"
    summary = asyncio.run(new_session(RunConfig(disks=5, k=3, lookahead=8), SimulatedLLM(config), None,
                                      control=RunControl(samples_per_second=400), record=paced).run())
    assert summary.solved
    control = RunControl()
    done = threading.Event()

    def press_step() -> None:  # full speed for a while (the window fills), then paused, step by step
        time.sleep(0.01)
        control.pause()
        while not done.is_set():
            control.step()
            time.sleep(0.003)

    presser = threading.Thread(target=press_step)
    presser.start()
    stepped = tmp_path / "stepped.maker"
    try:
        summary = asyncio.run(new_session(RunConfig(disks=5, k=3, lookahead=8), SimulatedLLM(config), None,
                                          control=control, record=stepped).run())
    finally:
        done.set()
        presser.join()
    assert summary.solved
    with Recording.open(full) as a, Recording.open(paced) as b, Recording.open(stepped) as c:
        for x, y, z in zip(a, b, c, strict=True):
            assert (x.answer, _votes(x)) == (y.answer, _votes(y)) == (z.answer, _votes(z)), x.step


def test_kill_9_with_lookahead_then_resume_loses_no_decided_step(tmp_path):
    """Killed once 1,000 steps are durable, resumed with lookahead: every step once, each decided
    as a run that was never killed decides it."""
    path, whole = tmp_path / "killed.maker", tmp_path / "whole.maker"
    command = [sys.executable, "-m", "engine.cli", "solve", "--headless", "--disks", "12", "--seed", "4",
               "--error-rate", "0.02", "--latency", "0.0005", "--lookahead", "16", "--json"]
    kill_once_durable([*command, "--record", str(path)], path, 1_000)
    with Recording.open(path) as recording:
        before = len(recording)
    assert 1_000 <= before < total_steps(12)
    resumed = subprocess.run([sys.executable, "-m", "engine.cli", "resume", str(path), "--json"], cwd=ROOT,
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["solved"]
    unbroken = subprocess.run([*command, "--record", str(whole)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert unbroken.returncode == 0, unbroken.stderr
    with Recording.open(path) as killed, Recording.open(whole) as never:
        assert len(killed) == len(never) == total_steps(12)
        for a, b in zip(killed, never, strict=True):
            assert (a.answer, _votes(a)) == (b.answer, _votes(b)), a.step


def test_the_scheduler_one_step_at_a_time_decides_as_the_loop_for_a_model_that_never_waits(tmp_path):
    """One scheduler for every model that keeps the run waiting, lookahead 0 being a window of one
    step: the same votes, in the same order, as the synchronous loop the simulated model takes."""
    now, waits = tmp_path / "now.maker", tmp_path / "waits.maker"
    quick = SimConfig(seed=7, error_rate=0.05, hard_steps=(100, 300), hard_error_rate=0.6,
                      error_kinds={"wrong_move": 1.0, "malformed": 0.3}, wrong_answers="same")
    _record(now, lookahead=0, config=quick, disks=9)
    _record(waits, lookahead=0, config=quick.model_copy(update={"latency_s": 0.0002}), disks=9)
    with Recording.open(now) as first, Recording.open(waits) as second:
        assert len(first) == len(second) == total_steps(9)
        for a, b in zip(first, second, strict=True):
            assert (a.step, a.answer, a.correct, _votes(a)) == (b.step, b.answer, b.correct, _votes(b)), a.step
        assert first.totals().errors == second.totals().errors > 0
