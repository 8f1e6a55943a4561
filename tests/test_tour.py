"""The guided tour: its stops on the shipped recording, and a presenter walking through it."""

from engine.recording.reader import Recording
from engine.view.tour import tour_stops
from tests.tui_helpers import DEMO, board, make_replay
from tui.screens.inspector import InspectorScreen
from tui.screens.replay import ReplayScreen
from tui.widgets.caption import TourCaption


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
        assert isinstance(app.screen, ReplayScreen) and screen.stop is None
        assert not screen.query_one(TourCaption).display
        await pilot.press("left")
        assert screen.cursor.step == 1022
        await pilot.press("T")  # and it starts again from its first stop
        assert screen.stop == 0 and screen.cursor.step == 1


async def test_esc_leaves_the_tour_and_the_demo_loops_on():
    app, cursor, _ = make_replay(demo=True)
    app_screen = None
    async with app.run_test(size=(80, 24)) as pilot:
        app_screen = board(app)
        await pilot.press("T")
        await pilot.pause()
        assert app_screen.stop == 0 and not cursor.playing
        assert not app_screen.query_one("#demo-title").display
        await pilot.press("escape")
        await pilot.pause()
        assert app_screen.stop is None and cursor.playing
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
        assert screen.stop == 0 and screen.cursor.step == 1
        assert "Every agent agrees" in str(screen.query_one(TourCaption).render())
        assert app.has_class("-large-forms")  # the demo is on the stage
