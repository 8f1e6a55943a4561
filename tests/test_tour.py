"""The guided tour: its stops on the shipped recording and on runs unlike it, and a presenter
walking through it."""

import pytest
from textual.widgets import Digits

from engine.recording.reader import Recording
from engine.view.tour import tour_stops
from tests.cli_run import maker
from tests.tui_helpers import DEMO, board, make_replay
from tui.screens.inspector import InspectorScreen
from tui.screens.replay import ReplayScreen
from tui.widgets.caption import CaptionText, TourCaption


def test_the_stops_of_the_shipped_recording():
    with Recording.open(DEMO) as recording:
        stops = tour_stops(recording)
        records = {stop.step: recording.seek(stop.step) for stop in stops}
    assert [stop.title for stop in stops] == ["Every agent agrees", "The first disagreement", "A red flag",
                                              "The hardest step", "Where one agent alone fails", "The end"]
    unanimous, split, flag, hardest, alone, end = stops
    assert len({s.answer for s in records[unanimous.step].samples}) == 1
    assert len(records[unanimous.step].samples) == records[unanimous.step].k
    assert len({s.answer for s in records[split.step].samples if s.answer}) > 1
    assert records[flag.step].samples[flag.sample].red_flag is not None
    assert (hardest.step, len(records[hardest.step].samples)) == (100, 21)
    assert alone.step == 42 and records[42].single_right() is False and records[42].correct
    assert end.step == 1023 and "zero errors" in end.caption and "step 42" in end.caption


async def test_a_presenter_walks_through_the_tour_with_space():
    app, _, _ = make_replay()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = board(app)
        await pilot.press("T")
        await pilot.pause()
        seen = []
        for _ in range(6):
            caption = app.screen.query_one(TourCaption)
            assert caption.display and caption.view is not None
            seen.append((caption.view.stop.step, type(app.screen).__name__, screen.cursor.step))
            if isinstance(app.screen, InspectorScreen):  # the red flag's reply, in the inspector
                inspected = app.screen.sample
                assert inspected.red_flag is not None and inspected.text
            await pilot.press("space")
            await pilot.pause()
        assert [step for step, _, _ in seen] == [1, 5, 47, 100, 42, 1023]
        assert [name for _, name, _ in seen] == ["ReplayScreen", "ReplayScreen", "InspectorScreen", "ReplayScreen",
                                                 "ReplayScreen", "ReplayScreen"]
        assert all(step == on_screen for step, _, on_screen in seen)
        # After the last stop, space ends the tour: the caption goes, the keys are the replay's again.
        assert isinstance(app.screen, ReplayScreen) and screen.tour_stop is None
        assert not screen.query_one(TourCaption).display
        await pilot.press("left")
        assert screen.cursor.step == 1022
        await pilot.press("T")  # and it starts again from its first stop
        assert screen.tour_stop == 0 and screen.cursor.step == 1


async def test_esc_leaves_the_tour_and_the_demo_loops_on():
    app, cursor, _ = make_replay(demo=True)
    app_screen = None
    async with app.run_test(size=(80, 24)) as pilot:
        app_screen = board(app)
        await pilot.press("T")
        await pilot.pause()
        assert app_screen.tour_stop == 0 and not cursor.playing
        assert not app_screen.query_one("#demo-title").display
        await pilot.press("escape")
        await pilot.pause()
        assert app_screen.tour_stop is None and cursor.playing
        assert app_screen.query_one("#demo-title").display


async def test_the_demo_opens_on_the_tour():
    from engine.view.replay import ReplayCursor
    from tests.tui_helpers import frozen_clock
    from tui.app import replay_app

    app = replay_app(ReplayCursor(Recording.open(DEMO)), demo=True, playing=True, clock=frozen_clock, tour=True)
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        await pilot.pause()
        screen = board(app)
        assert screen.tour_stop == 0 and screen.cursor.step == 1
        assert "Every agent agrees" in str(screen.query_one(CaptionText).render())
        step = screen.query_one("#caption-step", Digits)
        assert step.display and step.value == "1"  # the step's number, large, on the stage
        assert app.has_class("-large-forms")  # the demo is on the stage


@pytest.fixture
def recorded(tmp_path, capsys):
    """Recordings made by headless solves, by name and flags."""

    def solve(name, *flags):
        path = tmp_path / f"{name}.maker"
        maker(capsys, "solve", "--headless", "--record", path, *flags)
        return Recording.open(path)

    return solve


def test_a_clean_run_has_one_stop_a_step_and_ends_on_its_claim(recorded):
    with recorded("clean", "--disks", "3", "--error-rate", "0") as recording:
        stops = tour_stops(recording)
    assert [(stop.step, stop.title) for stop in stops] == [(1, "Every agent agrees"), (7, "The end")]
    assert "All 7 steps decided, zero errors" in stops[-1].caption and "Reliability" in stops[-1].caption


def test_a_run_with_errors_does_not_claim_reliability(recorded):
    with recorded("errors", "--disks", "5", "--k", "1", "--error-rate", "0.05", "--seed", "3") as recording:
        stops = tour_stops(recording)
        errors = recording.totals().errors
    end = stops[-1]
    assert errors and end.title == "The end" and "Reliability" not in end.caption
    assert f"{errors:,} error" in end.caption and "a step reached its vote cap undecided" in end.caption
    assert len({stop.step for stop in stops}) == len(stops)
    assert "1 agent was asked" in stops[0].caption and "1 vote ahead" in stops[0].caption  # k = 1


def test_a_recording_of_one_step_tours_its_end_alone(recorded):
    with recorded("one", "--disks", "6", "--error-rate", "0.45", "--max-votes", "5", "--seed", "1") as recording:
        assert len(recording) == 1 and not recording.complete
        stops = tour_stops(recording)
    assert [stop.title for stop in stops][-1] == "The end" and len({stop.step for stop in stops}) == len(stops)
    assert "The recording ends after 1 of 63 steps" in stops[-1].caption
