"""What a screen is shown: live snapshots that hold together, listeners that come and go, a
forecast that does not count pauses, and a replay's forecast after a seek."""

import asyncio
import sys
import threading
import time
from collections import Counter

from engine.models.pricing import pricing_for
from engine.models.sim import SimConfig, SimulatedLLM
from engine.recording.reader import Recording
from engine.run.config import RunConfig
from engine.run.control import RunControl
from engine.run.events import StepDecided
from engine.run.session import new_session
from engine.view.live import LiveView
from engine.view.replay import ReplayCursor
from tests.tui_helpers import DEMO


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class CountingView(LiveView):
    """A live view that counts how often the engine calls it for each decided step."""

    def __init__(self, runner):
        self.calls = Counter()
        super().__init__(runner)

    def on_step(self, event):
        if isinstance(event, StepDecided):
            self.calls[event.step] += 1
        super().on_step(event)


def test_toggling_detail_leaves_one_listener_and_none_at_full_speed():
    session = new_session(RunConfig(disks=5, k=3), SimulatedLLM(SimConfig(seed=1)), None)
    live = CountingView(session.runner)
    for _ in range(5):
        live.set_detail(False)
        assert len(session.runner.listeners) == 0, "at full speed the engine calls no listener"
        live.set_detail(True)
    asyncio.run(session.run())
    assert len(live.calls) == 31 and set(live.calls.values()) == {1}


def test_a_snapshot_never_mixes_numbers_from_two_moments():
    """The engine runs flat out in its thread while the screen's thread takes snapshots: every one
    must add up (steps against the histogram, votes against it, cost against the tokens)."""
    session = new_session(RunConfig(disks=14, k=3), SimulatedLLM(SimConfig(seed=2, error_rate=0.05)),
                          pricing_for("sim"))
    live = LiveView(session.runner)
    live.set_detail(False)
    pricing = pricing_for("sim")
    engine = threading.Thread(target=lambda: asyncio.run(session.run()))
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # hand the GIL back and forth as often as possible
    try:
        engine.start()
        checked = 0
        while engine.is_alive() or checked == 0:
            snapshot = live.snapshot()
            histogram = dict(snapshot.votes_histogram)
            assert sum(histogram.values()) == snapshot.steps_done
            assert sum(votes * count for votes, count in histogram.items()) == snapshot.votes
            assert snapshot.cost_usd == pricing.cost(snapshot.tokens_in, snapshot.tokens_out)
            checked += 1
    finally:
        sys.setswitchinterval(switch)
        engine.join(timeout=60)
    assert not engine.is_alive() and checked > 0


def test_the_time_left_does_not_grow_while_paused():
    clock = FakeClock()
    control = RunControl(clock=clock)
    session = new_session(RunConfig(disks=8, k=3), SimulatedLLM(SimConfig(seed=1)), None, control=control, clock=clock)
    live = LiveView(session.runner)
    stop_at = 100

    def pause_at_step(event):
        if isinstance(event, StepDecided) and event.step == stop_at:
            clock.now += 50.0  # the first 100 steps took 50 s
            control.pause()

    session.runner.subscribe(pause_at_step)
    live.snapshot()
    engine = threading.Thread(target=lambda: asyncio.run(session.run()))
    engine.start()
    try:
        deadline = time.monotonic() + 30
        while not control.parked:
            assert time.monotonic() < deadline, "the run never paused"
            time.sleep(0.001)
        before = live.snapshot()
        assert before.status == "paused" and before.steps_done == stop_at
        clock.now += 3600.0  # an hour paused
        after = live.snapshot()
        assert after.forecast.projected_remaining_time_s == before.forecast.projected_remaining_time_s
        assert after.forecast.projected_remaining_time_s == 50.0 / stop_at * (255 - stop_at)
        assert after.elapsed_s == before.elapsed_s == 50.0
    finally:
        control.stop()
        engine.join(timeout=30)
    assert not engine.is_alive()


def test_a_replay_seeked_past_a_block_forecasts_from_every_step_before():
    """Steps before the seek come from block totals; the forecast's p must be the share of valid
    votes that went to winners over exactly those steps."""
    with Recording.open(DEMO) as recording:
        cursor = ReplayCursor(recording)
        cursor.seek(300, reveal_all=True)
        forecast = cursor.snapshot().forecast
        votes = winners = 0
        for record in recording:
            if record.step > 300:
                break
            answers = [sample.answer for sample in record.samples if sample.answer is not None]
            votes += len(answers)
            winners += answers.count(record.answer)
    assert forecast.steps_done == 300
    assert forecast.p == winners / votes > 0.9
    low, high = forecast.p_interval
    assert low < forecast.p < high and forecast.p_zero_error_finish is not None


def test_a_run_that_stopped_undecided_replays_to_the_attempt_it_stopped_on(tmp_path):
    """A hard step no vote can decide (p < 0.5 there): the replay ends on that attempt, its tally
    shown, the towers as the agent saw them, nothing decided, and the forecast told it is stuck."""
    path = tmp_path / "stuck.maker"
    sim = SimConfig(seed=1, error_rate=0.0, hard_steps=(5,), hard_error_rate=0.95, error_kinds={"wrong_state": 1.0})
    session = new_session(RunConfig(disks=4, k=3, max_votes_per_step=12), SimulatedLLM(sim), pricing_for("sim"),
                          record=path)
    summary = asyncio.run(session.run())
    session.close()
    assert summary.stopped == "undecided" and summary.steps == 4
    with Recording.open(path) as recording:
        cursor = ReplayCursor(recording)
        assert cursor.last_step == 5
        cursor.seek(4, reveal_all=True)
        decided = cursor.snapshot()
        cursor.step_forward()
        stuck = cursor.snapshot()
        assert cursor.at_end and stuck.step == 5 and not stuck.step_decided and stuck.stopped == "undecided"
        assert sum(c.votes for c in stuck.candidates) == 12 and stuck.leader_margin < 3
        assert (stuck.state, stuck.steps_done) == (decided.state, 4)  # the towers did not move
        whole = recording.totals()  # what the attempt cost counts, as maker info says
        assert (stuck.tokens_in, stuck.tokens_out, stuck.votes) == (whole.tokens_in, whole.tokens_out, whole.samples)
        cursor.seek(99)  # clamped to the attempt
        assert cursor.step == 5
        cursor.seek(1)
        assert cursor.advance(10_000) == sum(len(r.samples) for r in recording) + len(recording.undecided()[-1].samples)
        assert cursor.at_end and cursor.snapshot().stopped == "undecided"


def test_the_live_view_shows_the_step_a_run_stopped_on_as_undecided():
    sim = SimConfig(seed=1, error_rate=0.0, hard_steps=(5,), hard_error_rate=0.95, error_kinds={"wrong_state": 1.0})
    session = new_session(RunConfig(disks=4, k=3, max_votes_per_step=12), SimulatedLLM(sim), pricing_for("sim"))
    live = LiveView(session.runner)
    live.set_detail(True)
    summary = asyncio.run(session.run())
    session.close()
    snapshot = live.snapshot()
    assert summary.stopped == "undecided" and snapshot.stopped == "undecided"
    assert snapshot.step == 5 and not snapshot.step_decided and snapshot.steps_done == 4
    assert sum(c.votes for c in snapshot.candidates) == 12 and snapshot.leader_margin < 3
