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
from engine.task.hanoi import apply_move, is_legal, optimal_move, state_before_step, total_steps
from engine.task.parser import Answer
from engine.view.replay import ReplayCursor
from engine.view.snapshot import SampleOutcome, Snapshot, tally
from tui.app import MakerApp, live_app, replay_app
from tui.screens.board import BoardScreen

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


class StillBoard(BoardScreen):
    """The board on one fixed snapshot: a race drawn exactly as a test composed it."""

    mode = "replay"

    def __init__(self, snapshot: Snapshot) -> None:
        super().__init__()
        self.fixed = snapshot

    def take_snapshot(self) -> Snapshot:
        return self.fixed

    def cost_series(self) -> list[tuple[int, float]]:
        return []


def race_snapshot(step: int, outcomes: list[SampleOutcome], *, decided: bool, disks: int = 10, k: int = 3) -> Snapshot:
    """A run of ``disks`` paused on ``step`` with these samples: the candidates and sample views
    come from the engine's own :func:`tally`, the towers from the state before the step."""
    candidates, samples = tally(outcomes)
    steps_done = step - 1
    return Snapshot(
        disks=disks, k=k, model="sim", total_steps=total_steps(disks),
        state=state_before_step(step, disks), last_move=optimal_move(step - 1, disks) if step > 1 else None,
        step=step, step_decided=decided, candidates=candidates, samples=samples,
        steps_done=steps_done, errors=0, votes=3 * steps_done + 4, red_flags={"too_long": 2, "bad_state": 1},
        cancelled=2, tokens_in=1_291 * steps_done, tokens_out=160 * steps_done, cost_usd=0.00077 * steps_done,
        steps_over_k=5, expected_votes=3.087, spend=(0.0023,) * 40 + (0.0105,) + (0.0023,) * 19, elapsed_s=61.0,
        eta_s=None, status="paused", message="", speed=10.0,
    )


def answers(step: int, disks: int = 10) -> tuple[Answer, Answer, Answer, Answer, Answer]:
    """The right answer at ``step`` and four wrong ones a model gives: the two other legal moves, the
    right move with the pegs' order reversed in the state, and the right move with the state left
    as it was."""
    state = state_before_step(step, disks)
    right = optimal_move(step, disks)
    legal = [(disk, source, target) for source, peg in enumerate(state) if peg for disk in (peg[-1],)
             for target in range(3) if target != source and is_legal(state, (disk, source, target))]
    wrong = [move for move in legal if move != right]
    others = [Answer(move, apply_move(state, move)) for move in wrong]
    right_answer = Answer(right, apply_move(state, right))
    swapped = Answer(right, tuple(reversed(right_answer.state)))
    return (right_answer, others[0], swapped, others[1], Answer(right, state))
