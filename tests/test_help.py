"""The help: it opens and closes, it can be saved like any screen, and it explains every key the
screens bind and every figure the panes draw (both read from the code, never listed here)."""

import re

import pytest
from textual.binding import BindingsMap
from textual.geometry import Region
from textual.screen import Screen

from engine.models.faults import FAULT_LABELS
from engine.models.sampler import ServerReport, WireReport
from engine.task.parser import RedFlag
from tests.tui_helpers import board, make_live, make_replay
from tui.screens.goto import GoToStep
from tui.screens.help import HELP, HelpScreen
from tui.screens.inspector import InspectorScreen
from tui.screens.live import LiveScreen
from tui.screens.plots import PlotsScreen
from tui.screens.replay import ReplayScreen
from tui.widgets.cost import CostFigures
from tui.widgets.flags import RedFlags
from tui.widgets.forecast import ForecastPane
from tui.widgets.progress import ProgressFigures
from tui.widgets.status import LABELS, StatusLine
from tui.widgets.tally import TallyPane
from tui.widgets.towers import Towers
from tui.widgets.wire import WirePane

KEY_NAMES = {"question_mark": "?", "plus": "+", "minus": "-", "equals_sign": "=", "pagedown": "PgDn",
             "pageup": "PgUp", "home": "Home", "end": "End", "escape": "Esc", "enter": "Enter"}
"""Textual's names of keys as the help writes them; any other key is written as Textual names it."""
PANE_SECTIONS = {ProgressFigures: "Progress", CostFigures: "Cost", ForecastPane: "Forecast", WirePane: "Wire"}
"""The help's section on each pane of figures."""


def written(key: str) -> str:
    """A Textual key name as the help writes it: ``question_mark`` is ``?``, ``shift+t`` is ``T``."""
    if shifted := re.fullmatch(r"shift\+([a-z])", key):
        return shifted[1].upper()
    return KEY_NAMES.get(key, key)


def sections() -> dict[str, str]:
    """The help's text under each heading, by the heading's words before any bracket."""
    found: dict[str, str] = {}
    name = ""
    for line in HELP.splitlines():
        if line.startswith("#"):
            name = line.lstrip("#").split("(")[0].strip()
            found[name] = ""
        else:
            found[name] = found.get(name, "") + line + "\n"
    return found


def key_columns() -> tuple[str, str]:
    """The keys table's live column and replay column, each as one text."""
    rows = [line for line in sections()["Keys"].splitlines() if line.startswith("|") and not line.startswith("|---")]
    cells = [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[1:]]
    return " ".join(cell[0] for cell in cells), " ".join(cell[1] for cell in cells)


def bound_keys(*maps: BindingsMap) -> set[str]:
    return {key for bindings in maps for key in bindings.key_to_bindings}


def screen_keys(screen: Screen) -> set[str]:
    """The keys a screen binds itself (shown in the footer or not), without Textual's own on every
    screen (focus moves and copying, which the board does not use)."""
    return bound_keys(screen._bindings) - bound_keys(BindingsMap(Screen.BINDINGS))


def unexplained_keys(keys: set[str], text: str) -> set[str]:
    return {key for key in keys if f"`{written(key)}`" not in text}


async def saved_after_ctrl_s(pilot, tmp_path) -> list:
    await pilot.press("ctrl+s")
    await pilot.pause()
    return sorted(tmp_path.glob("maker-*.svg"))


async def test_question_mark_opens_the_help_and_esc_closes_it():
    app, _ = make_live()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, LiveScreen)
        await pilot.press("q")


async def test_question_mark_closes_the_help_too():
    app, _, _ = make_replay()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("question_mark")
        assert isinstance(app.screen, ReplayScreen)
        await pilot.press("q")


def test_the_help_says_how_to_close_it_and_save_the_screen():
    assert "Esc or ? closes this help; ctrl+s saves the screen." in HELP.splitlines()[0]


@pytest.mark.parametrize("make", [make_live, make_replay], ids=["live", "replay"])
async def test_ctrl_s_saves_the_help(make, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = make()[0]
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        saved = await saved_after_ctrl_s(pilot, tmp_path)
        assert len(saved) == 1
        assert "What you are watching" in saved[0].read_text().replace("&#160;", " ")
        assert isinstance(app.screen, HelpScreen)  # saving leaves the help open
        await pilot.press("escape", "q")


@pytest.mark.parametrize(("key", "screen"), [("i", InspectorScreen), ("p", PlotsScreen), ("g", GoToStep)],
                         ids=["inspector", "plots", "go-to"])
async def test_ctrl_s_saves_every_other_screen(key, screen, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app, _, _ = make_replay()
    async with app.run_test(size=(100, 30)) as pilot:
        board(app).seek(100)
        await pilot.press(key)
        await pilot.pause()
        assert isinstance(app.screen, screen)
        saved = await saved_after_ctrl_s(pilot, tmp_path)
        assert len(saved) == 1, f"ctrl+s saved nothing on {screen.__name__}"
        assert isinstance(app.screen, screen)
        await pilot.press("escape")
        await pilot.press("q")


async def test_the_keys_table_has_every_key_of_the_live_screen():
    app, _ = make_live()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = board(app)
        assert isinstance(screen, LiveScreen)
        live, _ = key_columns()
        assert not unexplained_keys(screen_keys(screen) | bound_keys(app._bindings), live)
        assert f"`{screen.mode}`" in sections()["Status line"]
        await pilot.press("q")


@pytest.mark.parametrize("demo", [False, True], ids=["replay", "demo"])
async def test_the_keys_table_has_every_key_of_the_replay_screen(demo):
    app, _, _ = make_replay(demo=demo)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = board(app)
        assert isinstance(screen, ReplayScreen)
        _, replay = key_columns()
        assert not unexplained_keys(screen_keys(screen) | bound_keys(app._bindings), replay)
        assert f"`{screen.mode}`" in sections()["Status line"]
        await pilot.press("q")


@pytest.mark.parametrize(("screen", "section"), [(InspectorScreen, "Inspector"), (PlotsScreen, "Plots"),
                                                 (GoToStep, "Go to")])
def test_the_other_screens_keys_are_in_their_sections(screen, section):
    assert not unexplained_keys(bound_keys(BindingsMap(screen.BINDINGS)), sections()[section])


def variants(snapshot):
    """The replay's snapshot, and the same moment as other runs would show it, so that every row
    and every worded value of the panes comes up: lookahead, no price, no formula, an audit error,
    no forecast yet, odds out of reach, and a served model's wire, calm and in trouble."""
    forecast = snapshot.forecast
    calm = WireReport()
    trouble = WireReport(in_flight=3, concurrency=8, queued=5, retries=4, sent_rpm=420.0, limit_rpm=500.0,
                         limit_source="429s", faults={kind: 2 for kind in FAULT_LABELS},
                         servers=[ServerReport(host="a", requests=9, faults={}, times_down=1, down_s=12.0),
                                  ServerReport(host="b", requests=9, faults={}, times_down=0)])
    return [
        snapshot,
        snapshot._replace(lookahead=4, ahead=2, wasted=7, expected_votes=None, cost_usd=None, errors=1,
                          status="running", eta_s=75.0, single_steps=0, wire=calm),
        snapshot._replace(forecast=None, single_wrong=0, single_first_wrong=None, wire=trouble),
        snapshot._replace(forecast=forecast.model_copy(update={"p_zero_error_finish": None,
                                                               "projected_remaining_cost_usd": None})),
    ]


async def test_every_figure_is_explained_in_its_panes_section():
    app, cursor, _ = make_replay()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = board(app)
        screen.seek(100)
        await pilot.pause()
        text = sections()
        unexplained, worded = set(), set()
        for snapshot in variants(cursor.snapshot()):
            for pane, section in PANE_SECTIONS.items():
                for row in app.screen.query_one(pane).rows_of(snapshot):
                    if f"`{row.label}`" not in text[section]:
                        unexplained.add((section, row.label))
                    worded |= {value for value in (row.value, row.short) if value and not re.search(r"\d", value)}
        assert not unexplained
        assert {value for value in worded if f"`{value}`" not in HELP} == set()
        await pilot.press("q")


def test_every_red_flag_reason_and_status_word_is_explained():
    text = sections()
    assert {reason.value for reason in RedFlag if f"`{reason.value}`" not in text["Red flags"]} == set()
    assert "`cancelled`" in text["Red flags"]
    assert {word.strip() for word in LABELS.values() if f"`{word.strip()}`" not in text["Status line"]} == set()
    assert {label for label in FAULT_LABELS.values() if f"`{label}`" not in text["Wire"]} == set()


async def test_the_status_lines_lookahead_is_explained():
    app, cursor, _ = make_replay()
    async with app.run_test(size=(120, 40)) as pilot:
        board(app).seek(100)
        await pilot.pause()
        status = app.screen.query_one(StatusLine)
        status.show(cursor.snapshot()._replace(lookahead=4, ahead=2))
        assert "ahead 2/4" in status.render().plain
        assert "`ahead N/L`" in sections()["Status line"]
        await pilot.press("q")


async def test_every_word_the_board_draws_is_in_the_help():
    """The race, the towers, the status line and the red flags, along the shipped recording: every
    word they write (the model's name aside) is one the help uses."""
    app, cursor, _ = make_replay()
    words: dict[str, set[str]] = {}
    async with app.run_test(size=(120, 40)) as pilot:
        screen = board(app)
        for step in (1, 2, 42, 100, 300, 600, cursor.last_step):
            screen.seek(step)
            await pilot.pause()
            for pane in (TallyPane, Towers, StatusLine, RedFlags):
                widget = app.screen.query_one(pane)
                for strip in widget.render_lines(Region(0, 0, widget.size.width, widget.size.height)):
                    for word in re.findall(r"[A-Za-z_]{2,}", strip.text):
                        words.setdefault(word, set()).add(pane.__name__)
        words.pop(screen.snapshot.model, None)
        assert {word: panes for word, panes in words.items() if not re.search(rf"\b{word}\b", HELP)} == {}
        await pilot.press("q")
