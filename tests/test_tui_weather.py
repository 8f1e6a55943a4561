"""A served model's weather on the live screen: an outage waited out with its countdown on the
status line, the Wire pane, a pace that starts at full speed, and a failure in red, whole."""

import re

import pytest

from engine.models.factory import ServerOptions, make_sampler
from engine.models.sim import SIM_MODEL, SimConfig, SimulatedLLM
from engine.recording.reader import Recording
from engine.run.config import RunConfig
from engine.run.control import RunControl
from engine.run.session import new_session
from engine.task.parser import RedFlag
from engine.view.live import LiveView
from engine.view.replay import ReplayCursor
from tests.fake_openai import FakeOpenAIServer, Faults
from tests.tui_helpers import StillBoard, board, frozen_clock, race_snapshot, wait_until
from tui.app import MakerApp, live_app, replay_app
from tui.cli import FULL_SPEED, SIM_PACE, starting_pace
from tui.screens.live import LiveScreen
from tui.widgets.status import StatusLine
from tui.widgets.wire import WirePane

MODEL = SimConfig(error_rate=0.01, seed=2)
WAIT = re.compile(r"^server unavailable \(503\) for \d+ s; retrying in \d+ s$")


def served_session(server: FakeOpenAIServer, disks: int, **options):
    sampler = make_sampler("flaky-model", server=ServerOptions(base_urls=(server.base_url,), **options))
    config = RunConfig(disks=disks, k=3, lookahead=32, concurrency=16)
    return new_session(config, sampler, None, control=RunControl())


async def test_an_outage_of_20_s_is_waited_out_with_a_countdown_and_the_run_is_solved():
    with FakeOpenAIServer(MODEL, delay_s=0.01, outage_after=40, outage_s=20, outage_status=503) as server:
        session = served_session(server, disks=6)
        app = live_app(session)
        seen: list[str] = []
        async with app.run_test(size=(100, 30)) as pilot:
            status = app.screen.query_one(StatusLine)

            def watch() -> bool:
                view = status.view
                if view is not None and view.waiting and view.waiting not in seen:
                    seen.append(view.waiting)
                return session.runner.finished is not None

            await wait_until(watch, timeout=90)
            summary = session.runner.finished
            wire_shown = app.screen.query_one(WirePane).display
            await pilot.press("q")
    assert summary.solved and summary.errors == 0 and summary.steps == 63, summary.message
    assert server.outage_started_at is not None and server.counts["outage"] >= 3
    waits = [text for text in seen if WAIT.match(text)]
    assert len(waits) >= 5, seen  # the countdown went on on screen
    assert any(" for 1" in text for text in waits), seen  # it was still waiting past ten seconds
    assert summary.wire.faults["server_error"] == server.counts["outage"]
    assert wire_shown


async def test_q_quits_at_once_during_an_outage():
    with FakeOpenAIServer(MODEL, delay_s=0.01, outage_after=10, outage_s=60) as server:
        session = served_session(server, disks=6)
        app = live_app(session)
        async with app.run_test(size=(100, 30)) as pilot:
            status = app.screen.query_one(StatusLine)
            await wait_until(lambda: status.view is not None and bool(status.view.waiting), timeout=30)
            await pilot.press("q")
            await wait_until(lambda: session.runner.finished is not None, timeout=5)  # (how soon: bench_stop.py)
    assert session.runner.finished.stopped == "stopped" and server.outage_started_at is not None


def test_the_live_screen_starts_a_served_model_at_full_speed_unless_told():
    assert starting_pace(None, "gpt-4.1-mini") is None and starting_pace(None, SIM_MODEL) == SIM_PACE
    assert starting_pace(FULL_SPEED, SIM_MODEL) is None and starting_pace(2.0, "gpt-4.1-mini") == 2.0


def test_the_race_stays_on_screen_while_steps_go_by_slowly_enough_to_watch():
    """The rule behind it, on snapshots a run's clock stamps: slow steps keep the race, fast ones
    leave it, and it comes back when they slow down again."""
    session = new_session(RunConfig(disks=10, k=3), SimulatedLLM(SimConfig()), None)
    screen = LiveScreen(session, LiveView(session.runner))
    base = race_snapshot(1, [], decided=False)
    assert not screen._watchable  # the simulated model without latency: fast until measured slow

    def run(rate: float, seconds: float, start: tuple[float, int]) -> tuple[float, int]:
        at, steps = start
        for _ in range(int(seconds * 20)):  # twenty frames a second
            at, steps = at + 0.05, steps + rate * 0.05
            screen._measure_steps(base._replace(elapsed_s=at, steps_done=int(steps)))
        return at, int(steps)

    where = run(3.0, 3.0, (0.0, 0))
    assert screen._watchable  # three steps a second: watch them
    where = run(500.0, 3.0, where)
    assert not screen._watchable  # five hundred: the summary
    run(5.0, 3.0, where)
    assert screen._watchable


async def test_at_full_speed_a_served_models_race_stays_on_screen():
    with FakeOpenAIServer(MODEL, delay_s=0.05) as server:
        session = served_session(server, disks=5)
        app = live_app(session)
        async with app.run_test(size=(100, 30)):
            screen = board(app)
            await wait_until(lambda: screen.snapshot is not None and screen.snapshot.steps_done >= 3, timeout=30)
            snapshot = screen.snapshot
            await wait_until(lambda: session.runner.finished is not None, timeout=60)
    assert snapshot.speed is None and snapshot.detail  # full speed, and the race still drawn


class TestWireSnapshots:
    @pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
    def test_wire_pane_and_a_wait(self, snap_compare, size):
        from engine.models.sampler import ServerReport, WireReport

        wire = WireReport(requests=4_210, replies=3_998, retries=212, faults={"rate_limited": 180, "server_error": 32},
                          in_flight=0, queued=96, concurrency=64, rate_rpm=None, limit_rpm=2_940.0, sent_rpm=0.0,
                          status="server unavailable (503) for 42 s; retrying in 8 s",
                          servers=[ServerReport(host="api.openai.com", requests=4_210, faults={}, times_down=1,
                                                down_s=42.0, last_fault="server unavailable (503)")])
        snapshot = race_snapshot(700, [], decided=False)._replace(model="gpt-4.1-mini", wire=wire, status="running",
                                                                   speed=None, lookahead=32, ahead=32)
        assert snap_compare(MakerApp(lambda: StillBoard(snapshot)), terminal_size=size)

    def test_a_failure_in_red_whole(self, snap_compare):
        message = ("step 714: the model failed: no reply from the model server for 10 min (--patience 600 s); the "
                   "server last said: server unavailable (503): The server is overloaded or not ready yet.")
        snapshot = race_snapshot(714, [(0.0, None, RedFlag.TOO_LONG, True)], decided=False)._replace(
            model="gpt-4.1-mini", status="failed", stopped="sampler_error", message=message, speed=None)
        assert snap_compare(MakerApp(lambda: StillBoard(snapshot)), terminal_size=(80, 24))


async def test_a_replay_shows_the_recorded_runs_wire(tmp_path):
    record = tmp_path / "served.maker"
    with FakeOpenAIServer(MODEL, Faults(rate_limited=0.15, server_error=0.15, retry_after_s=0.01)) as server:
        sampler = make_sampler("flaky-model", server=ServerOptions(base_urls=(server.base_url,)))
        session = new_session(RunConfig(disks=4, k=3, lookahead=4, concurrency=8), sampler, None, record=record)
        summary = await session.run()
    assert summary.solved and summary.wire.faults["rate_limited"] and summary.wire.faults["server_error"]
    cursor = ReplayCursor(Recording.open(record))
    app = replay_app(cursor, clock=frozen_clock)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        pane = app.screen.query_one(WirePane)
        rows, shown = {row.label: row.value for row in pane.rows}, pane.display
    cursor.recording.close()
    assert shown and rows["retries"] == str(summary.wire.retries)
    faults = summary.wire.faults
    assert rows["faults"] == f"429: {faults['rate_limited']} · 5xx: {faults['server_error']}"
