"""Functional tests of the TUI through Textual's Pilot: controls, replay seeking, a clean quit."""

import json
import re
import subprocess
import sys
import textwrap

from textual.geometry import Region
from textual.strip import Strip

from engine.models.sim import SimConfig
from engine.recording.reader import Recording
from tests.tui_helpers import DEMO, ROOT, board, make_live, make_replay, steps_done, until_parked, wait_until
from tui.screens.live import LiveScreen
from tui.screens.replay import ReplayScreen
from tui.widgets.cost import CostFigures
from tui.widgets.format import count
from tui.widgets.race_parts import letter
from tui.widgets.status import StatusLine
from tui.widgets.tally import TallyPane
from tui.widgets.towers import Towers


async def test_pause_stops_progress():
    app, session = make_live(disks=16, paused=False, speed=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(lambda: steps_done(session) >= 20)
        await pilot.press("space")
        assert session.control.paused
        await wait_until(lambda: session.control.parked)  # the engine waits at its gate
        frozen = steps_done(session)
        assert frozen < 65535
        screen = board(app)
        screen.tick()
        assert screen.snapshot.status == "paused" and screen.snapshot.steps_done == frozen
        await pilot.press("space")
        await wait_until(lambda: steps_done(session) > frozen + 5)
        await pilot.press("q")


async def test_one_step_advances_exactly_one_step():
    app, session = make_live(disks=6)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(lambda: session.control.parked)
        assert steps_done(session) == 0
        for expected in (1, 2, 3):
            await pilot.press("n")
            # Parked again after the step: nothing more happens until the next key.
            await wait_until(lambda expected=expected: steps_done(session) == expected and session.control.parked)
        screen = board(app)
        screen.tick()
        assert screen.snapshot.step == 3 and screen.snapshot.step_decided
        assert app.screen.query_one(Towers).state == session.runner.position.state
        await pilot.press("q")


async def test_the_status_line_and_the_cost_pane_show_the_lookahead():
    hard = SimConfig(seed=7, error_rate=0.05, hard_steps=(20, 40), hard_error_rate=0.7, wrong_answers="same",
                     latency_s=0.001)
    app, session = make_live(disks=7, sim=hard, lookahead=16, paused=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = board(app)

        def sampling_ahead() -> bool:
            screen.refresh_now()
            return screen.snapshot.ahead > 0

        await wait_until(sampling_ahead)
        assert f"ahead {screen.snapshot.ahead}/16" in str(app.screen.query_one(StatusLine).render())
        await wait_until(lambda: session.runner.finished is not None)
        screen.refresh_now()
        totals, _ = session.runner.totals_now()
        assert totals.wasted > 0 and screen.snapshot.wasted == totals.wasted
        rows = {row.label: row.value for row in app.screen.query_one(CostFigures).rows}
        assert rows["wasted"] == count(totals.wasted)
        await pilot.press("q")


async def test_paused_with_steps_ahead_the_tally_shows_the_oldest_step():
    config = SimConfig(seed=2, error_rate=0.05, latency_s=0.002)
    app, session = make_live(disks=9, sim=config, lookahead=16, paused=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(lambda: steps_done(session) >= 20)
        await pilot.press("space")
        await until_parked(session)
        screen = board(app)
        for _ in range(3):
            done = steps_done(session)
            await pilot.press("n")
            await wait_until(lambda done=done: steps_done(session) == done + 1 and session.control.parked)
            screen.refresh_now()
            snapshot = screen.snapshot
            assert snapshot.step == steps_done(session) and snapshot.step_decided
            decided = snapshot.candidates[snapshot.leader].answer
            assert (decided.move, decided.state) == (snapshot.last_move, snapshot.state)
        await pilot.press("q")


async def draw_samples(pilot, screen, count, already=0):
    """Press s ``count`` times, each time waiting for the sample to reach the screen's snapshot."""
    for drawn in range(already + 1, already + count + 1):
        await pilot.press("s")
        await wait_until(lambda drawn=drawn: len(screen.live.snapshot().samples) == drawn and screen.control.parked)


async def test_one_sample_at_a_time_builds_the_tally():
    app, session = make_live(disks=6, seed=5)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = board(app)
        await draw_samples(pilot, screen, 5)
        screen.tick()
        snapshot = screen.snapshot
        assert snapshot.step == 1 and not snapshot.step_decided and snapshot.steps_done == 0
        assert [c.votes for c in snapshot.candidates] == [2, 2]
        assert [s.red_flag.value for s in snapshot.samples if s.red_flag] == ["too_long"]
        await pilot.press("q")


def test_quit_leaves_no_thread_running(tmp_path):
    """In a fresh process: open the live app recording at full speed, quit with q, list threads."""
    record = tmp_path / "quit.maker"
    code = textwrap.dedent(
        f"""
        import asyncio, json, threading, sys
        sys.path.insert(0, {str(ROOT)!r})
        from pathlib import Path
        from tests.tui_helpers import make_live, steps_done, wait_until
        app, session = make_live(disks=12, paused=False, speed=None, record=Path({str(record)!r}))
        async def pilot_script(pilot):
            await wait_until(lambda: steps_done(session) > 50)
            await pilot.press("q")
        app.run(headless=True, size=(100, 30), auto_pilot=pilot_script)
        print(json.dumps({{"threads": [t.name for t in threading.enumerate()],
                           "steps": steps_done(session)}}))
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["threads"] == ["MainThread"]
    assert 50 < report["steps"] < 4095
    with Recording.open(record) as recording:  # closed cleanly, and holds every decided step
        assert len(recording) == report["steps"]
        assert recording.meta.last_stop == "stopped"


async def test_replay_seek_shows_the_recorded_state_and_tally():
    app, cursor, _ = make_replay()
    with Recording.open(DEMO) as recording:
        expected = recording.seek(300)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("g")
        await pilot.press(*"300", "enter")
        await pilot.pause()
        screen = board(app)
        assert isinstance(screen, ReplayScreen)
        snapshot = screen.snapshot
        assert snapshot.step == 300 and snapshot.step_decided
        assert snapshot.state == expected.answer.state and snapshot.last_move == expected.answer.move
        votes = {}
        for sample in expected.samples:
            if sample.answer is not None:
                votes[sample.answer] = votes.get(sample.answer, 0) + 1
        assert {c.answer: c.votes for c in snapshot.candidates} == votes
        assert len(snapshot.samples) == len(expected.samples)
        assert app.screen.query_one(Towers).state == expected.answer.state
        await pilot.press("right")
        assert screen.snapshot.step == 301
        await pilot.press("left", "left")
        assert screen.snapshot.step == 299 and screen.snapshot.state == expected.state
        await pilot.press("end")
        assert screen.snapshot.step == 1023 and screen.snapshot.status == "finished"
        await pilot.press("home")
        assert screen.snapshot.step == 1 and screen.snapshot.steps_done == 1
        await pilot.press("q")


async def test_clicking_the_progress_bar_seeks():
    app, cursor, _ = make_replay()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = board(app)
        bar = app.screen.query_one("#progress-bar")
        await pilot.click(bar, offset=(bar.size.width // 2, 0))
        await pilot.pause()
        assert 400 < screen.snapshot.step < 620
        await pilot.press("q")


async def test_an_unknown_theme_falls_back_with_a_notice():
    app, session = make_live(theme="no-such-theme")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.theme == "maker-dark"
        assert any("no-such-theme" in str(n.message) for n in app._notifications)
        await pilot.press("q")


async def test_help_and_the_theme_picker_open():
    app, session = make_live()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("question_mark")
        assert type(app.screen).__name__ == "HelpScreen"
        await pilot.press("escape")
        assert isinstance(app.screen, LiveScreen)
        await pilot.press("t")
        assert type(app.screen).__name__ == "CommandPalette"
        await pilot.press(*"stage", "enter")
        await pilot.pause()
        assert app.theme == "stage"
        await pilot.press("q")


async def test_the_command_palette_lists_the_screens_actions():
    app, session = make_live()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.press(*"one step")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_until(lambda: steps_done(session) == 1)
        await pilot.press("q")


LANE = re.compile(r"^\s*(?P<name>[A-Z])\s+(?P<votes>\d+) ▕(?P<chips>[^┃]*)┃")
"""A lane with every chip drawn (at 120x40 the race of a short step fits whole)."""


def race_lanes(pane: TallyPane) -> tuple[dict[str, tuple[list[str], int]], list[Strip]]:
    """Each lane's chip labels and the cell its finish line is in, counted from the lane's start;
    and the pane's lines as drawn."""
    strips = pane.render_lines(Region(0, 0, pane.size.width, pane.size.height))
    lanes = {}
    for strip in strips:
        text = strip.text
        match = LANE.match(text)
        if match:
            assert int(match["votes"]) == len(match["chips"].split())
            lanes[match["name"]] = (match["chips"].split(), text.index("┃") - text.index("▕") - 1)
    return lanes, strips


async def test_each_sample_moves_its_own_lane_and_the_finish_line_stands_k_beyond_the_runner_up():
    """Seed 5 answers A (at T0), B, A, a reply cut at the limit, B, ...: press s until the step is
    decided, and after each sample check every lane against the samples so far."""
    app, session = make_live(disks=6, seed=5)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = board(app)
        chip = 4  # at 120x40 a chip shows its temperature in three cells, then a gap
        seen: dict[str, list[str]] = {}
        for drawn in range(1, 40):
            await draw_samples(pilot, screen, 1, already=drawn - 1)
            screen.tick()
            await pilot.pause()
            snapshot = screen.snapshot
            lanes, strips = race_lanes(app.screen.query_one(TallyPane))
            newest = snapshot.samples[-1]
            expected = {letter(i): [f"{s.temperature:g}" for s in snapshot.samples if s.candidate == i]
                        for i in range(len(snapshot.candidates))}
            assert {name: chips for name, (chips, _) in lanes.items()} == expected
            if newest.candidate is not None:  # the sample's own lane grew by one chip; no other moved
                grown = letter(newest.candidate)
                assert lanes[grown][0] == seen.get(grown, []) + [f"{newest.temperature:g}"]
                assert all(expected[name] == seen[name] for name in seen if name != grown)
                underlined = [seg.text.strip() for strip in strips for seg in strip
                              if seg.style is not None and seg.style.underline and seg.text.strip()]
                assert underlined == [f"{newest.temperature:g}"], underlined  # the newest chip, marked
            else:
                assert newest.red_flag is not None and f" {newest.red_flag.value} " in "".join(s.text for s in strips)
                assert {name: chips for name, (chips, _) in lanes.items()} == seen
            seen = {name: chips for name, (chips, _) in lanes.items()}
            votes = sorted((c.votes for c in snapshot.candidates), reverse=True) + [0]
            if snapshot.step_decided:
                assert votes[0] - votes[1] == 3
                assert all(finish == chip * votes[0] for _, finish in lanes.values())
                break
            for _, finish in lanes.values():
                assert finish == chip * (votes[1] + 3), (votes, finish)
        else:
            raise AssertionError("the step was never decided")
        assert drawn >= 6 and screen.snapshot.step == 1
        await pilot.press("q")


def _colours(widget):
    """The colours a widget draws with, foreground and background, as hex."""
    lines = widget.render_lines(Region(0, 0, widget.size.width, widget.size.height))
    return {colour.triplet.hex for line in lines for segment in line if segment.style is not None
            for colour in (segment.style.color, segment.style.bgcolor) if colour is not None and colour.triplet}


async def test_a_theme_change_reaches_every_pane_of_a_paused_replay():
    """Nothing on screen changes but the theme: each pane must still redraw in the new colours."""
    app, _, _ = make_replay()
    async with app.run_test(size=(120, 40)) as pilot:
        board(app).seek(300)  # a hard step with a disagreement and a red flag
        await pilot.pause()
        panes = {name: app.screen.query_one(f"#{name}") for name in
                 ("status", "tally", "progress-figures", "cost-figures", "flags", "forecast")}
        before = {name: _colours(pane) for name, pane in panes.items()}
        app.theme = "stage"
        await pilot.pause()
        after = {name: _colours(pane) for name, pane in panes.items()}
        for name in panes:
            assert after[name] != before[name], name
        assert "#00ff66" in after["tally"]  # stage's success colour marks the decided step and its leader
        await pilot.press("q")


def test_resume_opens_the_live_screen_and_appends_to_the_recording(tmp_path, monkeypatch, capsys):
    """A run stopped after five steps, then ``maker resume FILE --paused`` as a user types it: the
    live screen opens on step 6, three presses of n decide three more steps into the same file."""
    from tui import cli
    from tui.app import MakerApp

    record = tmp_path / "stopped.maker"
    app, session = make_live(disks=7, record=record)

    async def five_steps(pilot):
        for expected in range(1, 6):
            await pilot.press("n")
            await wait_until(lambda expected=expected: steps_done(session) == expected and session.control.parked)
        await pilot.press("q")

    app.run(headless=True, size=(80, 24), auto_pilot=five_steps)
    session.close()
    seen = {}

    async def three_more(pilot):
        screen = board(pilot.app)
        assert isinstance(screen, LiveScreen) and screen.control.paused
        resumed = screen.session
        for expected in range(6, 9):
            await pilot.press("n")
            await wait_until(lambda expected=expected: steps_done(resumed) == expected and resumed.control.parked)
        screen.refresh_now()
        seen["step"], seen["status"] = screen.snapshot.step, screen.snapshot.status
        await pilot.press("q")

    run = MakerApp.run
    monkeypatch.setattr(MakerApp, "run", lambda self: run(self, headless=True, size=(80, 24), auto_pilot=three_more))
    monkeypatch.setattr(cli, "has_terminal", lambda: True)  # the app runs headless in place of a terminal
    assert cli.main(["resume", str(record), "--paused"]) == 0
    assert seen == {"step": 8, "status": "paused"}
    out = capsys.readouterr().out
    assert f"continue with: maker resume {record}" in out
    with Recording.open(record) as recording:
        assert len(recording) == 8 and [step.step for step in recording] == list(range(1, 9))
        assert all(step.correct for step in recording)


async def test_ctrl_s_saves_the_screen_in_the_working_directory_and_says_where(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app, _, _ = make_replay()
    async with app.run_test(size=(80, 24)) as pilot:
        board(app).seek(100)
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.press("ctrl+s")  # a second picture in the same second gets a name of its own
        await pilot.pause()
        saved = sorted(tmp_path.glob("maker-*.svg"))
        assert len(saved) == 2
        assert all("Step 100" in path.read_text().replace("&#160;", " ") for path in saved)
        messages = [str(notification.message) for notification in app._notifications]
        assert [f"saved {path}" for path in saved] == sorted(messages)
        await pilot.press("q")


async def test_at_full_speed_the_tally_counts_the_steps_by_the_votes_they_took():
    app, session = make_live(disks=9, seed=4, error_rate=0.1, paused=False, speed=None)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(lambda: session.runner.finished is not None)
        screen = board(app)
        screen.refresh_now()
        await pilot.pause()
        pane = app.screen.query_one(TallyPane)
        text = [strip.text for strip in pane.render_lines(Region(0, 0, pane.size.width, pane.size.height))]
        assert not screen.snapshot.detail and f"{steps_done(session):,} steps decided" in text[1]
        histogram = dict(screen.snapshot.votes_histogram)
        assert len(histogram) >= 2  # error rate 0.1: some steps took more than k votes
        shown = {int(m[1]): int(m[2].replace(",", "")) for line in text
                 if (m := re.search(r"(\d+) votes +[\d.]+% +(\d[\d,]*)", line))}
        assert shown == {votes: count for votes, count in histogram.items() if votes in shown}
        assert len(shown) >= min(len(histogram), 4) and sum(histogram.values()) == steps_done(session)
        await pilot.press("q")


async def test_the_palettes_screenshot_is_ours():
    """Textual's own Screenshot command saves to the downloads folder; ours replaces it."""
    app, _, _ = make_replay()
    async with app.run_test(size=(80, 24)) as pilot:
        commands = [command for command in app.get_system_commands(app.screen) if "creenshot" in command.title]
        assert len(commands) == 1 and commands[0].callback == app.action_save_screen
        await pilot.press("q")
