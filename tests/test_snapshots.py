"""Snapshot tests (pytest-textual-snapshot): seeded runs, a frozen clock, fixed terminal sizes.

Update on purpose with ``pytest tests/test_snapshots.py --snapshot-update`` and review the SVGs.
"""

import pytest

from engine.task.parser import RedFlag
from engine.view.snapshot import SampleOutcome
from tests.tui_helpers import StillBoard, answers, board, make_live, make_replay, race_snapshot, steps_done, wait_until
from themes import THEMES
from tui.app import MakerApp

SIZES = {"80x24": (80, 24), "120x40": (120, 40)}
GROWING = {**SIZES, "200x50": (200, 50)}
"""The sizes at which the layout is seen to grow: a default terminal, a larger one, a projector."""


def live_after(steps: int = 0, samples: int = 0):
    """A pilot script: run ``steps`` whole steps, then ``samples`` single samples, then draw."""

    async def run_before(pilot):
        screen = board(pilot.app)
        session = screen.session
        for expected in range(1, steps + 1):
            await pilot.press("n")
            await wait_until(lambda expected=expected: steps_done(session) == expected and session.control.parked)
        for expected in range(1, samples + 1):
            await pilot.press("s")
            await wait_until(lambda expected=expected: len(screen.live.snapshot().samples) == expected
                             and session.control.parked)
        screen.tick()
        await pilot.pause()

    return run_before


def replay_at(step: int):
    async def run_before(pilot):
        board(pilot.app).seek(step)
        await pilot.pause()

    return run_before


class TestLiveScreen:
    @pytest.mark.parametrize("size", GROWING)
    def test_twenty_disks(self, snap_compare, size):
        app, _ = make_live(disks=20, seed=3, error_rate=0.05)
        assert snap_compare(app, terminal_size=GROWING[size], run_before=live_after(steps=9))

    @pytest.mark.parametrize("size", GROWING)
    def test_ten_disks_mid_vote(self, snap_compare, size):
        """Thick disks and tall chips once the screen has the room for them."""
        app, _ = make_live(disks=10, seed=3, error_rate=0.05)
        assert snap_compare(app, terminal_size=GROWING[size], run_before=live_after(steps=9, samples=2))


class TestPausedTally:
    @pytest.mark.parametrize("size", SIZES)
    def test_disagreement_and_red_flag(self, snap_compare, size):
        """Seed 5: the right move, a wrong one, the right one, a reply cut at the limit, the wrong one again."""
        app, _ = make_live(disks=6, seed=5, error_rate=0.2)
        assert snap_compare(app, terminal_size=SIZES[size], run_before=live_after(samples=5))


class TestReplayScreen:
    @pytest.mark.parametrize("size", SIZES)
    def test_a_hard_step(self, snap_compare, size):
        app, _, _ = make_replay()
        assert snap_compare(app, terminal_size=SIZES[size], run_before=replay_at(300))


class TestThemes:
    @pytest.mark.parametrize("theme", [theme.name for theme in THEMES])
    def test_replay_in_each_theme(self, snap_compare, theme):
        app, _, _ = make_replay(theme=theme)
        assert snap_compare(app, terminal_size=(120, 40), run_before=replay_at(700))

    @pytest.mark.parametrize("size", GROWING)
    def test_demo_on_stage(self, snap_compare, size):
        """The demo at step 100 in the stage theme: its larger forms, bold labels, no faint text."""
        app, _, _ = make_replay(demo=True)
        assert snap_compare(app, terminal_size=GROWING[size], run_before=replay_at(100))

    def test_the_tour_on_stage(self, snap_compare):
        """The tour's third stop: its caption above the inspector on the first red flag's reply."""
        app, _, _ = make_replay(demo=True)

        async def run_before(pilot):
            await pilot.press("T", "space", "space")
            await pilot.pause()

        assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)


class TestPlots:
    def test_plots_of_a_replay(self, snap_compare):
        app, _, _ = make_replay()

        async def run_before(pilot):
            board(pilot.app).seek(900)
            await pilot.press("p")
            await pilot.pause()

        assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)


HARD_STEP = "R A R B x A R A C R D y A R R A B R z A R A R R".split()
"""A hard step: the right answer (R) and four wrong ones (A to D) with three red flags (x, y, z)
between them. The lead never reaches k = 3 until the last sample."""
FLAGS = {"x": RedFlag.NO_MOVE, "y": RedFlag.BAD_STATE, "z": RedFlag.TOO_LONG}


def outcomes(script: list[str], cancelled: int = 0, step: int = 100) -> list[SampleOutcome]:
    """Samples in arrival order: the first at temperature 0, the rest at 0.1, then the cancelled."""
    right, *wrong = answers(step)
    named = {"R": right, **dict(zip("ABCD", wrong, strict=True))}
    samples: list[SampleOutcome] = []
    for number, name in enumerate(script):
        temperature = 0.0 if number == 0 else 0.1
        samples.append((temperature, None, FLAGS[name], False) if name in FLAGS else
                       (temperature, named[name], None, False))
    return samples + [(0.1, None, None, True)] * cancelled


RACES = {
    "unanimous": (outcomes(["R", "R", "R"]), True),
    "disagreement": (outcomes(["R", "A", "R", "z", "R", "R"], cancelled=2), True),
    "hard_step": (outcomes(HARD_STEP[:-1]), False),
    "decided": (outcomes(HARD_STEP, cancelled=1), True),
}


class TestRace:
    """The race of one step, drawn on the whole board from a snapshot made by the engine's tally."""

    @pytest.mark.parametrize("size", SIZES)
    @pytest.mark.parametrize("race", RACES)
    def test_race(self, snap_compare, race, size):
        samples, decided = RACES[race]
        snapshot = race_snapshot(100, samples, decided=decided)
        assert snapshot.step_decided == decided and (snapshot.leader_margin >= 3) == decided
        app = MakerApp(lambda: StillBoard(snapshot))
        assert snap_compare(app, terminal_size=SIZES[size])

    def test_hard_step_decided_on_stage(self, snap_compare):
        samples, _ = RACES["decided"]
        app = MakerApp(lambda: StillBoard(race_snapshot(100, samples, decided=True)), theme="stage")
        assert snap_compare(app, terminal_size=(120, 40))

    def test_a_run_that_stopped_undecided(self, snap_compare):
        """What a model below p = 0.5 leaves on screen: ten replies, every one red-flagged, and the
        step undecided at the red-flag cap (as SmolLM2-135M does on 3 disks)."""
        flags = [RedFlag.NO_MOVE, RedFlag.NO_STATE, RedFlag.NO_MOVE, RedFlag.BAD_MOVE, RedFlag.NO_STATE,
                 RedFlag.NO_MOVE, RedFlag.TOO_LONG, RedFlag.NO_MOVE, RedFlag.NO_STATE, RedFlag.NO_MOVE]
        samples = [(0.0 if n == 0 else 0.1, None, flag, False) for n, flag in enumerate(flags)]
        snapshot = race_snapshot(1, samples, decided=False, disks=3)._replace(
            status="finished", stopped="undecided", model="smollm2", cost_usd=None, expected_votes=None,
            message="step 1 is undecided: every one of 10 samples was red-flagged", votes=0, cancelled=0,
            red_flags={reason.value: flags.count(reason) for reason in RedFlag}, steps_over_k=0,
            tokens_in=5_840, tokens_out=870, spend=())
        app = MakerApp(lambda: StillBoard(snapshot))
        assert snap_compare(app, terminal_size=(80, 24))


def inspector_on_lane_d(pilot_app_step: int = 100):
    """Step 100 of the shipped recording, then the inspector on lane D's reply."""

    async def run_before(pilot):
        board(pilot.app).seek(pilot_app_step)
        await pilot.pause()
        await pilot.press("i", "down", "down", "down")
        await pilot.pause()

    return run_before


class TestAudit:
    @pytest.mark.parametrize("size", GROWING)
    def test_lanes_that_share_a_move_say_how_their_states_differ(self, snap_compare, size):
        """Step 100: lanes B, D and E move disk 3 from peg 0 to peg 1; D and E say what their states
        put elsewhere, and every lane is marked right or wrong."""
        app, _, _ = make_replay()
        assert snap_compare(app, terminal_size=GROWING[size], run_before=replay_at(100))

    @pytest.mark.parametrize("size", SIZES)
    def test_the_inspector_on_lane_d(self, snap_compare, size):
        app, _, _ = make_replay()
        assert snap_compare(app, terminal_size=SIZES[size], run_before=inspector_on_lane_d())
