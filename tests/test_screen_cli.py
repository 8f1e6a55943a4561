"""The screen's command line: where a replay opens, the demo's pace and tour, paused or playing,
and one clear line when there is no terminal to draw on."""

import pytest

from tests.cli_run import tui_maker
from tests.tui_helpers import DEMO, board
from tui import cli
from tui.app import MakerApp
from tui.screens.live import LiveScreen


@pytest.fixture
def opened(monkeypatch):
    """Run the app headless in place of a terminal; what its screen held at the start is kept."""
    seen = {}
    run = MakerApp.run

    async def look(pilot):
        await pilot.pause()
        screen = board(pilot.app)
        seen["screen"] = screen
        seen["theme"] = pilot.app.theme
        if isinstance(screen, LiveScreen):
            seen["paused"] = screen.control.paused
        else:
            seen.update(step=screen.cursor.step, playing=screen.cursor.playing, speed=screen.cursor.speed,
                        stop=screen.tour_stop)
        await pilot.press("q")

    monkeypatch.setattr(cli, "has_terminal", lambda: True)
    monkeypatch.setattr(MakerApp, "run", lambda self: run(self, headless=True, size=(80, 24), auto_pilot=look))
    return seen


@pytest.mark.parametrize("command", [["replay", DEMO], ["demo"], ["solve", "--disks", "3"], []])
def test_without_a_terminal_one_line_and_exit_2_before_anything_opens(capsys, monkeypatch, command):
    monkeypatch.setattr(MakerApp, "run", lambda self: pytest.fail("the app ran without a terminal"))
    monkeypatch.setattr(cli, "has_terminal", lambda: False)
    status, out, err = tui_maker(capsys, *command)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and "none is attached: run it in a terminal" in err


def test_replay_opens_at_a_step_paused(capsys, opened):
    status, _, _ = tui_maker(capsys, "replay", DEMO, "--at", "100")
    assert status == 0
    assert opened["step"] == 100 and opened["playing"] is False
    assert len(opened["screen"].cursor.record.samples) == opened["screen"].cursor.revealed == 21  # decided


@pytest.mark.parametrize("flag", ["--playing", "--play"])
def test_replay_opens_playing(capsys, opened, flag):
    assert tui_maker(capsys, "replay", DEMO, flag)[0] == 0
    assert opened["playing"] is True


@pytest.mark.parametrize("at", ["0", "1024"])
def test_a_step_outside_the_recording_is_one_line(capsys, opened, at):
    status, _, err = tui_maker(capsys, "replay", DEMO, "--at", at)
    assert status == 2 and err.strip() == f"maker: error: --at {at}: {DEMO} holds steps 1 to 1,023"
    assert "screen" not in opened


def test_the_demo_takes_a_pace_and_opens_paused_or_on_the_tour(capsys, opened):
    assert tui_maker(capsys, "demo", "--speed", "30", "--paused")[0] == 0
    assert opened["speed"] == 30 and opened["playing"] is False and opened["theme"] == "stage"
    assert tui_maker(capsys, "demo")[0] == 0
    assert opened["speed"] == cli.DEMO_CALM_PACE and opened["playing"] is True and opened["stop"] is None
    assert tui_maker(capsys, "demo", "--tour")[0] == 0
    assert opened["stop"] == 0 and opened["step"] == 1


def test_paused_and_playing_are_said_the_same_way_live(capsys, opened):
    assert tui_maker(capsys, "solve", "--disks", "3", "--paused")[0] == 0
    assert opened["paused"] is True
    assert tui_maker(capsys, "solve", "--disks", "3", "--playing", "--speed", "1")[0] == 0
    assert opened["paused"] is False


def test_paused_and_playing_together_are_refused(capsys):
    status, _, err = tui_maker(capsys, "replay", DEMO, "--paused", "--playing")
    assert status == 2 and "not allowed with argument --paused" in err
