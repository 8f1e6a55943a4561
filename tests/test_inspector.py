"""The inspector through Textual's Pilot: any sample of the step on screen, its messages, its reply,
its parse and the audit's verdict; keys and clicks pick the sample; Esc returns, a live run goes on."""

import io

from rich.console import Console
from textual.widgets import Static

from engine.recording.reader import Recording
from engine.task.hanoi import format_state, state_before_step
from tests.tui_helpers import DEMO, board, make_live, make_replay, steps_done, until_parked, wait_until
from tui.screens.inspector import InspectorScreen
from tui.widgets.race import race
from tui.widgets.tally import TallyPane


def text_of(screen, widget_id: str) -> str:
    """What a part of the inspector says, as plain text (wide enough not to wrap)."""
    console = Console(width=400, record=True, file=io.StringIO())
    console.print(screen.query_one(f"#{widget_id}", Static).content)
    return console.export_text()


def lane_d_position() -> int:
    """Where lane D's first vote arrived at step 100 of the shipped recording: D is the fourth
    distinct answer in arrival order."""
    with Recording.open(DEMO) as recording:
        record = next(recording.iter_from(100))
    seen = []
    for position, sample in enumerate(record.samples):
        if sample.answer is not None and not sample.cancelled and sample.answer not in seen:
            seen.append(sample.answer)
            if len(seen) == 4:
                return position
    raise AssertionError("step 100 of the shipped recording has fewer than four answers")


async def test_the_inspector_on_lane_d_at_step_100_of_the_shipped_recording():
    app, _, _ = make_replay()
    async with app.run_test(size=(120, 40)) as pilot:
        board(app).seek(100)
        await pilot.pause()
        await pilot.press("i")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, InspectorScreen) and screen.position == 0
        for _ in range(3):  # lanes A, B, C, then D
            await pilot.press("down")
        await pilot.pause()
        assert screen.position == lane_d_position()
        title = text_of(screen, "inspector-title")
        assert "step 100" in title and f"sample {lane_d_position()} (of 0-20)" in title and "lane D" in title
        # The user message holds the state the agent was shown at step 100, as the prompt writes it.
        shown = format_state(state_before_step(100, 10))
        assert shown in screen.inspection.messages[1]["content"]
        assert shown in text_of(screen, "inspector-messages")
        parse = text_of(screen, "inspector-parse")
        assert "move = [3, 0, 1]" in parse and "next_state = [[9, 8, 5, 4], [7, 6, 3, 10], [2, 1]]" in parse
        verdict = text_of(screen, "inspector-verdict")
        assert "wrong" in verdict and "disk 10 placed on disk 3" in verdict
        assert "the audit's answer: disk 3 from peg 0 to peg 1" in verdict
        reply = text_of(screen, "inspector-reply")
        assert "next_state = [[9, 8, 5, 4], [7, 6, 3, 10], [2, 1]]" in reply
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, InspectorScreen) and board(app).cursor.step == 100


async def test_keys_walk_the_samples_and_lanes_and_a_red_flag_shows_what_set_it_off():
    app, _, _ = make_replay()
    async with app.run_test(size=(120, 40)) as pilot:
        board(app).seek(100)
        await pilot.pause()
        await pilot.press("i")
        screen = app.screen
        samples = screen.inspection.samples
        await pilot.press("right", "right")
        assert screen.position == 2
        await pilot.press("left")
        assert screen.position == 1
        flagged = [n for n, sample in enumerate(samples) if sample.red_flag is not None]
        assert flagged, "step 100 of the shipped recording has red flags"
        for _ in range(len(samples)):
            if screen.position in flagged:
                break
            await pilot.press("down")
        assert screen.position == flagged[0]
        await pilot.pause()
        verdict = text_of(screen, "inspector-verdict")
        flag = samples[flagged[0]].red_flag.value
        assert f"red flag ({flag})" in verdict and "not a vote" in verdict
        assert f"red flag {flag}" in text_of(screen, "inspector-parse")


async def test_a_click_on_a_chip_opens_the_inspector_on_that_sample():
    app, _, _ = make_replay()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = board(app)
        screen.seek(100)
        await pilot.pause()
        pane = screen.query_one(TallyPane)
        target = lane_d_position()
        width, height = pane.content_size
        lines = race(pane.view.race, pane.styles_for_race(10), width, height)
        where = next((row, span.start) for row, line in enumerate(lines) for span in line.spans
                     if getattr(span.style, "meta", {}).get("sample") == target)
        region = pane.content_region
        await pilot.click(offset=(region.x + where[1], region.y + where[0]))
        await pilot.pause()
        assert isinstance(app.screen, InspectorScreen) and app.screen.position == target


async def test_a_live_run_goes_on_while_an_agent_is_inspected_and_stays_paused_if_it_was():
    app, session = make_live(disks=8, seed=3, error_rate=0.05, paused=True, speed=200)
    async with app.run_test(size=(120, 40)) as pilot:
        await until_parked(session)
        await pilot.press("n")
        await wait_until(lambda: steps_done(session) == 1 and session.control.parked)
        board(app).tick()
        await pilot.press("i")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, InspectorScreen)
        assert screen.inspection.step == 1 and screen.inspection.samples
        assert all(sample.text is not None for sample in screen.inspection.samples)  # live: every reply
        assert "[[8, 7, 6, 5, 4, 3, 2, 1], [], []]" in screen.inspection.messages[1]["content"]
        await pilot.press("escape")
        assert session.control.paused and steps_done(session) == 1
        await pilot.press("space")  # running now
        await wait_until(lambda: steps_done(session) >= 3)
        board(app).tick()
        await pilot.press("i")
        assert isinstance(app.screen, InspectorScreen)
        inspected = app.screen.inspection.step
        before = steps_done(session)
        await wait_until(lambda: steps_done(session) > before + 3)  # the run goes on
        assert app.screen.inspection.step == inspected  # the inspector keeps its step
        await pilot.press("escape")
        assert not session.control.paused
        await pilot.press("q")


async def test_at_full_speed_the_inspector_asks_to_slow_down():
    app, session = make_live(disks=12, seed=3, paused=False, speed=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(lambda: steps_done(session) >= 50)
        board(app).tick()
        await pilot.press("i")
        await pilot.pause()
        assert not isinstance(app.screen, InspectorScreen)
        assert any("slow down" in str(note.message) for note in app._notifications)
        await pilot.press("q")


async def test_the_palette_finds_the_inspector():
    app, _, _ = make_replay()
    async with app.run_test(size=(120, 40)) as pilot:
        board(app).seek(100)
        await pilot.pause()
        titles = [title for title, _, _ in board(app).palette_commands()]
        for word in ("prompt", "reply", "inspect"):
            assert any(word in title.lower() for title in titles), word
