"""Make the README's screenshots from the app itself: ``python docs/screenshots.py``.

Each picture is the app driven headless by a script, as a user would drive it, and saved as an SVG
by Textual: the live screen on a seeded simulated run paused mid-vote, the race on the shipped
recording's hardest step in the stage theme, a replay, the plots, and the demo's tour at the step
where one agent alone would have failed. With ``--animated`` it also records step 100's race from
the app in a pseudo-terminal and makes it an animated SVG (needs npx). Runs are seeded and the clock
is frozen, so the pictures change only when the app does.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from textual.pilot import Pilot  # noqa: E402

from engine.models.pricing import pricing_for  # noqa: E402
from engine.models.sim import SimConfig, SimulatedLLM  # noqa: E402
from engine.paths import demo_recording  # noqa: E402
from engine.recording.reader import Recording  # noqa: E402
from engine.run.config import RunConfig  # noqa: E402
from engine.run.control import RunControl  # noqa: E402
from engine.run.session import new_session  # noqa: E402
from engine.view.replay import ReplayCursor  # noqa: E402
from tui.app import MakerApp, live_app, replay_app  # noqa: E402

OUT = ROOT / "docs" / "images"
SIZE = (120, 40)
HARD_STEP = 100
"""The shipped recording's hardest step: 21 samples, five answers, four red flags."""


def frozen_clock() -> float:
    return 1000.0


async def settle(pilot: Pilot[None], until: Callable[[], bool]) -> None:
    """Wait for the engine's thread; give up after 30 s rather than hang."""
    for _ in range(3000):
        if until():
            break
        await asyncio.sleep(0.01)
    else:
        raise SystemExit("screenshots: the run did not get there in 30 s")
    await pilot.pause()


async def live(pilot: Pilot[None]) -> None:
    """Ten disks on a model that errs 20% of the time: 12 steps, then samples one at a time, up to
    a disagreement still being voted on."""
    screen = pilot.app.screen
    session = screen.session  # type: ignore[attr-defined]

    def done() -> int:
        return session.runner.totals_now()[0].steps

    for step in range(1, 13):
        await pilot.press("n")
        await settle(pilot, lambda step=step: done() == step and session.control.parked)
    for drawn in range(1, 5):
        await pilot.press("s")
        await settle(pilot, lambda drawn=drawn: len(screen.live.snapshot().samples) == drawn  # type: ignore[attr-defined]
                     and session.control.parked)
    screen.tick()  # type: ignore[attr-defined]
    await pilot.pause()


def at_step(step: int, plots: bool = False) -> Callable[[Pilot[None]], Awaitable[None]]:
    async def script(pilot: Pilot[None]) -> None:
        pilot.app.screen.seek(step)  # type: ignore[attr-defined]
        await pilot.pause()
        if plots:
            await pilot.press("p")
            await pilot.pause()

    return script


def live_app_for_pictures() -> MakerApp:
    config = SimConfig(seed=9, error_rate=0.2)
    control = RunControl(10.0, paused=True, clock=frozen_clock)
    session = new_session(RunConfig(disks=10, k=3), SimulatedLLM(config), pricing_for("sim"), control=control,
                          clock=frozen_clock)
    return live_app(session, expected_votes=config.expected_votes(3))


def replay_app_for_pictures(theme: str | None = None) -> MakerApp:
    return replay_app(ReplayCursor(Recording.open(demo_recording())), theme=theme, clock=frozen_clock)


def tour_stop(spaces: int) -> Callable[[Pilot[None]], Awaitable[None]]:
    async def script(pilot: Pilot[None]) -> None:
        await pilot.press("T", *["space"] * spaces)
        await pilot.pause()

    return script


def demo_app_for_pictures() -> MakerApp:
    return replay_app(ReplayCursor(Recording.open(demo_recording())), demo=True, playing=False, clock=frozen_clock)


PICTURES: dict[str, tuple[Callable[[], MakerApp], Callable[[Pilot[None]], Awaitable[None]]]] = {
    "live": (live_app_for_pictures, live),
    "race-stage": (lambda: replay_app_for_pictures("stage"), at_step(HARD_STEP)),
    "replay": (lambda: replay_app_for_pictures("maker-light"), at_step(700)),
    "plots": (replay_app_for_pictures, at_step(1023, plots=True)),
    "tour": (demo_app_for_pictures, tour_stop(4)),
}


async def take(name: str, out: Path) -> Path:
    make, script = PICTURES[name]
    app = make()
    path = out / f"{name}.svg"
    async with app.run_test(size=SIZE) as pilot:
        await script(pilot)
        app.save_screenshot(filename=path.name, path=str(out))
        await app.action_quit()
    return path


ANIMATION = "race-animated.svg"
SVG_TERM = "svg-term-cli@2.1.1"
"""The converter from a cast to an animated SVG, from the npm registry, run by npx for this script
only: never a dependency of the package."""
LARGEST_ANIMATION = 2_000_000


def animate(out: Path) -> Path:
    """Step 100's race, voted on sample by sample: a cast recorded by ``maker export --cast`` (the
    app itself in a pseudo-terminal), made into an animated SVG by svg-term. The cast ends where
    the app leaves the screen (svg-term would hold a blank frame). svg-term's optimiser collapses
    runs of spaces, which moves every figure next to its label: it is turned off."""
    import json
    import shutil
    import subprocess
    import tempfile

    if shutil.which("npx") is None:
        raise SystemExit("screenshots: the animation needs npx (Node.js) to run svg-term-cli")
    with tempfile.TemporaryDirectory() as scratch:
        cast = Path(scratch) / "race.cast"
        subprocess.run([sys.executable, "-m", "tui", "export", str(demo_recording()), "--cast", str(cast), "--steps",
                        str(HARD_STEP), "--size", "100x30", "--speed", "6"], check=True, cwd=ROOT)
        events = [json.loads(line) for line in cast.read_text().splitlines()[1:]]
        leaves = next(time for time, _, data in events if "\x1b[?1049l" in data)  # the app's last frame ends
        path = out / ANIMATION
        subprocess.run(["npx", "--yes", SVG_TERM, "--in", str(cast), "--out", str(path), "--window", "--no-cursor",
                        "--no-optimize", "--to", str(int(leaves * 1000) - 1)], check=True)
    if path.stat().st_size > LARGEST_ANIMATION:
        raise SystemExit(f"screenshots: {path} is {path.stat().st_size:,} bytes, over {LARGEST_ANIMATION:,}")
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"where the SVGs go (default {OUT.relative_to(ROOT)})")
    parser.add_argument("--animated", action="store_true",
                        help=f"also make {ANIMATION}: step {HARD_STEP}'s race as an animated SVG (needs npx)")
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"pictures to make (default all: {', '.join(PICTURES)})")
    args = parser.parse_args()
    unknown = [name for name in args.names if name not in PICTURES]
    if unknown:
        parser.error(f"no picture named {', '.join(unknown)} (there are {', '.join(PICTURES)})")
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.names or PICTURES:
        print(asyncio.run(take(name, args.out)))
    if args.animated:
        print(animate(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
