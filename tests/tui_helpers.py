"""Building deterministic apps for the TUI tests: seeded runs, a frozen clock, paused starts."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from engine.pricing import pricing_for
from engine.recording import Recording
from engine.replay import ReplayCursor
from engine.runner import RunConfig
from engine.session import new_session
from engine.sim import SimConfig, SimulatedLLM
from tui.app import MakerApp, live_app, replay_app

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "recordings" / "demo-10.maker"


def frozen_clock() -> float:
    return 1000.0


def make_live(disks=6, seed=31, error_rate=0.2, paused=True, speed=None, theme=None, record=None):
    """A live app on a seeded simulated run, paused at the start unless told otherwise."""
    config = SimConfig(seed=seed, error_rate=error_rate)
    session = new_session(RunConfig(disks=disks, k=3), SimulatedLLM(config), pricing_for("sim"), record=record)
    session.control.set_pace(speed)
    if paused:
        session.control.pause()
    app = live_app(session, expected_votes=config.expected_votes(3), theme=theme, clock=frozen_clock)
    return app, session


def make_replay(step=300, theme=None, demo=False):
    cursor = ReplayCursor(Recording.open(DEMO))
    app = replay_app(cursor, demo=demo, theme=theme, clock=frozen_clock)
    return app, cursor, step


async def wait_until(predicate, timeout=10.0):
    """Poll ``predicate`` until it holds (the engine runs in its own thread)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the engine")
        await asyncio.sleep(0.01)


def board(app: MakerApp):
    return app.screen_stack[-1]
