"""Building deterministic apps for the TUI tests: seeded runs, a frozen clock, paused starts."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from engine.models.pricing import pricing_for
from engine.models.sim import SimConfig, SimulatedLLM
from engine.recording.reader import Recording
from engine.run.config import RunConfig
from engine.run.control import RunControl
from engine.run.session import Session, new_session
from engine.view.replay import ReplayCursor
from tui.app import MakerApp, live_app, replay_app

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "recordings" / "demo-10.maker"


def frozen_clock() -> float:
    return 1000.0


def make_live(disks=6, seed=5, error_rate=0.2, paused=True, speed=None, theme=None, record=None, clock=frozen_clock,
              sim=None, lookahead=0):
    """A live app on a seeded simulated run, paused at the start unless told otherwise."""
    config = sim or SimConfig(seed=seed, error_rate=error_rate)
    control = RunControl(speed, paused=paused, clock=clock)
    session = new_session(RunConfig(disks=disks, k=3, lookahead=lookahead), SimulatedLLM(config), pricing_for("sim"),
                          record=record, control=control, clock=clock)
    app = live_app(session, expected_votes=config.expected_votes(3), theme=theme)
    return app, session


def make_replay(step=300, theme=None, demo=False):
    cursor = ReplayCursor(Recording.open(DEMO))
    app = replay_app(cursor, demo=demo, theme=theme, clock=frozen_clock)
    return app, cursor, step


def steps_done(session: Session) -> int:
    """Steps the run has decided (a consistent copy of its totals)."""
    totals, _ = session.runner.totals_now()
    return totals.steps


async def wait_until(predicate, timeout=30.0):
    """Poll ``predicate`` until it holds (the engine runs in its own thread); the timeout only
    turns a hang into a failure."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the engine")
        await asyncio.sleep(0.01)


async def until_parked(session: Session) -> None:
    """Wait until the engine waits at its gate: nothing moves until the next key."""
    await wait_until(lambda: session.control.parked)


def board(app: MakerApp):
    return app.screen_stack[-1]
