"""Regressions found by reading the board's code: a slow demo that stood still, a footer laid out
for another width, a tour left on screen after a move of the user's own, the stage's larger forms
on a theme change, and the terminal check with stdout redirected."""

import sys

from engine.recording.reader import Recording
from engine.view.replay import ReplayCursor
from tests.test_footer import shown_keys
from tests.tui_helpers import DEMO, board, make_replay
from tui import cli
from tui.app import replay_app
from tui.widgets.caption import TourCaption
from tui.widgets.tally import TallyPane


class Clock:
    """A clock the test moves on."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_slow_demo_goes_through_a_contested_step():
    """At 5 samples a second a contested step goes at under one a second: it must still move."""
    clock = Clock()
    app = replay_app(ReplayCursor(Recording.open(DEMO)), demo=True, playing=True, speed=5, clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = board(app)
        screen.seek(4)
        screen.cursor.playing = True
        assert len(screen.cursor.record.samples) == 3
        for _ in range(60):  # 30 s of the demo, half a second a frame
            clock.now += 0.5
            screen.tick()
        await pilot.pause()
        assert screen.cursor.step > 5  # step 5 has 5 samples: contested, at 5/6 of a sample a second


async def test_the_footer_is_laid_out_again_for_any_new_width():
    app, _, _ = make_replay()
    async with app.run_test(size=(109, 30)) as pilot:
        for width in (80, 100, 60, 109, 140):
            await pilot.resize_terminal(width, 30)
            await pilot.pause()
            await pilot.pause()
            resized = shown_keys(app)
            fresh, _, _ = make_replay()
            async with fresh.run_test(size=(width, 30)) as other:
                await other.pause()
                assert resized == shown_keys(fresh), width
            assert {"q", "question_mark"} <= set(resized)


async def test_a_move_of_the_users_own_ends_the_tour():
    app, cursor, _ = make_replay()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = board(app)
        await pilot.press("T")
        assert screen.tour_stop == 0 and "escape" in shown_keys(app)
        await pilot.press("right", "right")
        assert screen.tour_stop is None and not screen.query_one(TourCaption).display and cursor.step == 3
        assert "escape" not in shown_keys(app)  # no tour, no Esc in the footer
        await pilot.press("T", "space")
        assert screen.tour_stop == 1
        screen.seek(500)  # go to, the progress bar, Home and End all seek
        assert screen.tour_stop is None and cursor.step == 500


async def test_the_stage_takes_its_larger_forms_on_a_theme_change():
    app, _, _ = make_replay()
    async with app.run_test(size=(120, 40)) as pilot:
        board(app).seek(5)  # two answers, five votes: lanes two rows tall fit a 46-column pane
        await pilot.pause()
        tally = app.screen.query_one(TallyPane)
        before = [line.plain for line in tally.render().renderables]
        app.theme = "stage"
        await pilot.pause()
        assert tally.large
        after = [line.plain for line in tally.render().renderables]
        assert sum("▕" in line and "┃" in line for line in before) == 2  # a row a lane
        assert sum("▕" in line and "┃" in line for line in after) == 4  # two rows a lane


def test_stdout_may_go_to_a_file(monkeypatch):
    """Textual reads keys on stdin and draws on stderr: ``maker replay FILE > log`` has a terminal."""
    monkeypatch.delenv("TEXTUAL_DRIVER", raising=False)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr(sys.__stderr__, "isatty", lambda: True)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False)
    assert cli.has_terminal()
    monkeypatch.setattr(sys.__stderr__, "isatty", lambda: False)
    assert not cli.has_terminal()
    monkeypatch.setenv("TEXTUAL_DRIVER", "textual.drivers.web_driver:WebDriver")  # maker serve's apps
    assert cli.has_terminal()
