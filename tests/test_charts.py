"""Spend charts: blank while nothing is spent, bars as Textual draws them once something is, and a
cumulative cost line whose columns each stand for the same number of steps, whatever the pace."""

import asyncio
import random
from itertools import pairwise

import pytest
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.renderables.sparkline import Sparkline as SparklineRenderable
from textual.widgets import Sparkline

from engine.models.pricing import pricing_for
from engine.models.sim import SimConfig, SimulatedLLM
from engine.run.config import RunConfig
from engine.run.events import StepDecided
from engine.run.session import new_session
from engine.view.live import COST_POINTS, LiveView
from tests.tui_helpers import board, make_live, make_replay, until_parked
from tui.widgets.charts import SpendLine, cost_by_steps

BARS = set(SparklineRenderable.BARS)


class OneLine(App[None]):
    """A spend line next to Textual's own sparkline, on the same data."""

    CSS = "Sparkline { height: 4; }"

    def __init__(self, data) -> None:
        super().__init__()
        self.data = data

    def compose(self) -> ComposeResult:
        yield SpendLine(self.data, id="ours")
        yield Sparkline(self.data, id="textual")


def drawn(widget) -> list[str]:
    return [strip.text for strip in widget.render_lines(Region(0, 0, widget.size.width, widget.size.height))]


def glyphs(lines: list[str]) -> set[str]:
    return set("".join(lines)) & BARS


@pytest.mark.parametrize("data", [None, [], [0.0], [0.0] * 30, [0] * 3])
async def test_a_chart_of_nothing_spent_is_blank(data):
    app = OneLine(data)
    async with app.run_test(size=(30, 8)) as pilot:
        await pilot.pause()
        assert glyphs(drawn(app.query_one("#ours"))) == set()
        if data:
            assert glyphs(drawn(app.query_one("#textual"))), "Textual draws these as bars"


@pytest.mark.parametrize("data", [[1.0, 5.0, 2.0, 8.0, 3.0], [0.0, 0.0, 0.004], [0.002]])
async def test_a_real_series_draws_as_textual_draws_it(data):
    app = OneLine(data)
    async with app.run_test(size=(30, 8)) as pilot:
        await pilot.pause()
        ours, textual = drawn(app.query_one("#ours")), drawn(app.query_one("#textual"))
        assert ours == textual and "█" in ours[0]


async def test_the_cost_pane_of_a_replay_is_blank_before_the_first_step_then_draws_bars():
    app, _, _ = make_replay()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = board(app)
        screen.tick()
        await pilot.pause()
        spend = app.screen.query_one("#cost-spend", SpendLine)
        assert screen.snapshot.steps_done == 0 and glyphs(drawn(spend)) == set()
        screen.seek(300)
        await pilot.pause()
        assert glyphs(drawn(spend))
        await pilot.press("q")


async def test_the_cost_plot_of_a_run_before_its_first_step_is_blank():
    app, session = make_live(disks=6)
    async with app.run_test(size=(120, 40)) as pilot:
        await until_parked(session)
        board(app).tick()
        await pilot.press("p")
        await pilot.pause()
        assert glyphs(drawn(app.screen.query_one("#cost-line", SpendLine))) == set()
        await pilot.press("q")


async def test_the_cost_plot_of_a_replay_has_a_column_per_equal_run_of_steps():
    app, cursor, _ = make_replay()
    async with app.run_test(size=(120, 40)) as pilot:
        board(app).seek(900)
        await pilot.press("p")
        await pilot.pause()
        line = app.screen.query_one("#cost-line", SpendLine)
        expected, per_column = cost_by_steps(cursor.cost_series(), line.size.width)
        assert list(line.data) == expected and len(expected) == line.size.width == 120
        assert expected == sorted(expected) and glyphs(drawn(line))
        caption = str(app.screen.query_one("#cost-caption").render())
        assert "after 900 of" in caption and f"one column for every {per_column:.3g} steps" in caption
        await pilot.press("q")


# -- resampling ------------------------------------------------------------------------------------


def cumulative(steps: int, seed: int = 4) -> list[float]:
    """The cost after each step of a run whose steps cost unevenly (hard steps cost more)."""
    rng = random.Random(seed)
    costs = [0.0]
    for _ in range(steps):
        costs.append(costs[-1] + rng.choice([1.0, 1.0, 1.0, 2.5, 9.0]))
    return costs


def test_each_column_stands_for_the_same_number_of_steps():
    values, per_column = cost_by_steps([(0, 0.0), (10, 10.0)], 5)
    assert values == [2.0, 4.0, 6.0, 8.0, 10.0] and per_column == 2.0
    values, per_column = cost_by_steps([(0, 0.0), (2, 4.0)], 4)  # fewer steps than columns
    assert values == [1.0, 2.0, 3.0, 4.0] and per_column == 0.5
    assert cost_by_steps([], 40) == ([], 0.0)
    assert cost_by_steps([(0, 0.0)], 40) == ([], 0.0)
    assert cost_by_steps([(7, 3.0), (7, 3.0)], 40) == ([], 0.0)


def test_the_resampled_cost_does_not_depend_on_the_pace_of_the_frames():
    """The same run seen a frame a step, and seen slowly then fast: the same line. Drawn a value a
    frame, as before, the second would bend where the pace changed."""
    costs = cumulative(1000)
    every_step = [(step, costs[step]) for step in range(1001)]
    slow_then_fast = [(step, costs[step]) for step in [*range(60), *range(100, 1001, 100), 137, 555, 999]]
    slow_then_fast.sort()
    resampled, per_column = cost_by_steps(every_step, 10)
    assert per_column == 100.0
    assert cost_by_steps(slow_then_fast, 10) == (resampled, per_column)
    assert resampled == [costs[step] for step in range(100, 1001, 100)]
    assert [cost for _, cost in slow_then_fast][:10] != resampled  # a value a frame


def test_between_frames_the_cost_is_read_off_a_straight_line():
    costs = [3.0 * step for step in range(501)]  # every step costs the same
    frames = [(step, costs[step]) for step in (0, 1, 2, 3, 250, 251, 260, 499, 500)]
    values, _ = cost_by_steps(frames, 50)
    assert values == pytest.approx([costs[step] for step in range(10, 501, 10)])


def followed(disks: int, snapshot_after) -> LiveView:
    """A seeded run followed by a live view that takes a snapshot before the run and after each
    step ``snapshot_after`` picks (in the engine's thread: the test stands in for the screen)."""
    session = new_session(RunConfig(disks=disks, k=3), SimulatedLLM(SimConfig(seed=3, error_rate=0.1)),
                          pricing_for("sim"))
    live = LiveView(session.runner)
    live.snapshot()

    def frame(event):
        if isinstance(event, StepDecided) and snapshot_after(event.step):
            live.snapshot()

    session.runner.subscribe(frame)
    asyncio.run(session.run())
    live.snapshot()
    return live


def test_a_live_run_framed_at_two_paces_gives_the_same_cost_line():
    every_step = followed(6, lambda step: True)
    slow_then_fast = followed(6, lambda step: step < 10 or step % 7 == 0)
    assert len(every_step.cost_series()) == 64 and len(slow_then_fast.cost_series()) < 20
    assert cost_by_steps(every_step.cost_series(), 9) == cost_by_steps(slow_then_fast.cost_series(), 9)


def test_a_long_live_series_keeps_its_points_spread_over_the_steps():
    live = followed(10, lambda step: True)
    steps = [step for step, _ in live.cost_series()]
    assert len(steps) <= COST_POINTS + 1
    assert steps == [*range(0, 1021, 4), 1023]
    slow_then_fast = [step for step, _ in followed(10, lambda step: step < 600 or step % 5 == 0).cost_series()]
    gaps = {after - before for before, after in pairwise(slow_then_fast[:-1])}  # the latest point aside
    # A frame a step for 600 steps, then one every 5: a point every 2 steps (the stride), then every 5.
    assert len(slow_then_fast) <= COST_POINTS + 1 and gaps == {2, 5}
