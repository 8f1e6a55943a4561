"""The TUI's cost: a full-speed solve inside the app against the same solve headless, and how long
a key press takes to show on screen while the engine runs flat out.

Both solves time themselves (the runner's wall clock, start to finish); the app runs headless
(Textual's test driver) at 120x40 with its normal frame schedule. They alternate, ``--repeat``
times each, and the medians are compared (this machine's clock is noisy). For the latency, space
is posted as a key event while a run goes at full speed, and the time is taken until the status
line says PAUSED (or running) and the screen has been composited after that. Targets: the app run
<= 1.25x the headless one; key to screen < 100 ms.

    python benchmarks/bench_tui.py                # 20 disks
    python benchmarks/bench_tui.py --disks 16     # a quicker look
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from textual import events  # noqa: E402
from textual.screen import Screen  # noqa: E402

from engine.models.pricing import pricing_for  # noqa: E402
from engine.models.sim import SimConfig, SimulatedLLM  # noqa: E402
from engine.run.config import RunConfig  # noqa: E402
from engine.run.session import Session, new_session  # noqa: E402
from tui.app import live_app  # noqa: E402
from tui.screens.live import LiveScreen  # noqa: E402
from tui.widgets.status import StatusLine  # noqa: E402

_last_paint = 0.0
_composite = Screen._compositor_refresh


def _timed_composite(self: Screen, *args: object, **kwargs: object) -> object:  # instrumentation only
    global _last_paint
    result = _composite(self, *args, **kwargs)
    _last_paint = time.perf_counter()
    return result


Screen._compositor_refresh = _timed_composite  # type: ignore[method-assign]


def session(disks: int, seed: int) -> tuple[Session, SimConfig]:
    config = SimConfig(seed=seed)
    return new_session(RunConfig(disks=disks, k=3), SimulatedLLM(config), pricing_for("sim")), config


def headless(disks: int, seed: int) -> float:
    run, _ = session(disks, seed)
    return asyncio.run(run.run()).wall_s


async def in_app(disks: int, seed: int) -> float:
    run, config = session(disks, seed)
    app = live_app(run, expected_votes=config.expected_votes(3))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, LiveScreen)
        while screen.summary is None:
            await asyncio.sleep(0.2)
        summary = screen.summary
        await pilot.press("q")
    assert summary.solved, summary.message
    return summary.wall_s


async def key_latencies(disks: int, seed: int, presses: int) -> list[float]:
    """Seconds from posting space to a composited screen that shows the new state."""
    run, config = session(disks, seed)
    app = live_app(run, expected_votes=config.expected_votes(3))
    latencies: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        status = app.screen.query_one(StatusLine)
        await asyncio.sleep(1.0)
        for _ in range(presses):
            if run.runner.finished is not None:
                break  # a small tower is solved before all the presses: measure what there was
            expected = "running" if run.control.paused else "PAUSED"
            started = time.perf_counter()
            app.post_message(events.Key("space", " "))
            while expected not in str(status.render()) and run.runner.finished is None:
                await asyncio.sleep(0.0005)
            if run.runner.finished is not None:
                break
            shown = time.perf_counter()
            while _last_paint < shown:
                await asyncio.sleep(0.0005)
            latencies.append(_last_paint - started)
            await asyncio.sleep(0.4)
        await pilot.press("q")
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--disks", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    plain: list[float] = []
    app: list[float] = []
    for _ in range(args.repeat):
        plain.append(headless(args.disks, args.seed))
        app.append(asyncio.run(in_app(args.disks, args.seed)))
    latencies = asyncio.run(key_latencies(args.disks, args.seed, presses=20))
    ratio = statistics.median(app) / statistics.median(plain)
    print(f"disks {args.disks}")
    print(f"headless solve      median {statistics.median(plain):8.2f} s  (runs: {', '.join(f'{t:.2f}' for t in plain)})")
    print(f"solve in the app    median {statistics.median(app):8.2f} s  (runs: {', '.join(f'{t:.2f}' for t in app)})")
    print(f"ratio               {ratio:8.3f} x  (target <= 1.25x)")
    if latencies:
        print(f"key to screen       median {statistics.median(latencies) * 1000:.1f} ms, "
              f"worst {max(latencies) * 1000:.1f} ms over {len(latencies)} presses of space "
              f"while the engine runs at full speed (target < 100 ms)")
    else:
        print("key to screen       not measured: the run ended before the first press (use more disks)")


if __name__ == "__main__":
    main()
