"""Help and quit stay in view: on every screen, at 80x24 and 120x40, the footer shows ``?`` and ``q``."""

import pytest
from textual.widgets._footer import FooterKey

from tests.tui_helpers import board, make_live, make_replay

SIZES = [(80, 24), (120, 40), (200, 50)]


async def open_screen(pilot, name):
    """Go from the board to the screen named."""
    if name == "plots":
        await pilot.press("p")
    elif name == "inspector":
        board(pilot.app).seek(100)
        await pilot.press("i")
    elif name == "tour":
        await pilot.press("T")
    await pilot.pause()


def shown_keys(app):
    """The footer keys a person sees: each drawn inside the screen and on top at its own place."""
    screen = app.screen
    seen = {}
    for key in screen.query(FooterKey):
        region = key.region
        if region.width and region.right <= app.size.width:
            widget, _ = screen.get_widget_at(region.x + region.width // 2, region.y)
            if widget is key:
                seen[key.key] = key.description
    return seen


CASES = [("live", "board"), ("replay", "board"), ("demo", "board"), ("replay", "plots"), ("replay", "inspector"),
         ("live", "plots"), ("demo", "tour")]


@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
@pytest.mark.parametrize(("app_kind", "screen"), CASES, ids=[f"{a}-{s}" for a, s in CASES])
async def test_help_and_quit_are_in_view(app_kind, screen, size):
    app = make_live()[0] if app_kind == "live" else make_replay(demo=app_kind == "demo")[0]
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await open_screen(pilot, screen)
        seen = shown_keys(app)
        assert seen.get("question_mark") == "Help" and seen.get("q") == "Quit", seen
        if screen != "inspector":  # the screen's own first key comes first, whole
            assert len(seen) >= 3
        await app.action_quit()


async def test_the_footer_lays_itself_out_again_when_the_terminal_narrows():
    app, _, _ = make_replay()
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        assert shown_keys(app).get("space") == "Play/pause"
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        await pilot.pause()
        seen = shown_keys(app)
        assert seen.get("space") == "Play" and seen.get("q") == "Quit" and seen.get("question_mark") == "Help"
