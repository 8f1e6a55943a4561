"""How long a stop takes while the server takes a minute per reply: q in the TUI, Ctrl-C on a
headless run, and a budget stop. Target: each within 1 s, whatever the server does.

q is timed in-process, from the key to the end of the run (the recording closed). Ctrl-C is timed
from the signal to the end of the process, and the budget stop from its last reply going out to the
end of the process, so both include the interpreter's own shut-down. Each is the median of
``--repeat`` runs.

    python benchmarks/bench_stop.py
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.models.factory import ServerOptions, make_sampler  # noqa: E402
from engine.models.sim import SimConfig  # noqa: E402
from engine.run.config import RunConfig  # noqa: E402
from engine.run.session import new_session  # noqa: E402
from tests.fake_openai import FakeOpenAIServer  # noqa: E402
from tui.app import live_app  # noqa: E402

SLOW_S = 60.0
MODEL = SimConfig(error_rate=0.0, seed=1)


def _env() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if not name.startswith("OPENAI_")}


def _until(predicate, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError
        time.sleep(0.005)


async def quit_in_app(folder: Path) -> float:
    with FakeOpenAIServer(MODEL, delay_s=SLOW_S) as server:
        sampler = make_sampler("slow-model", server=ServerOptions(base_urls=(server.base_url,)))
        session = new_session(RunConfig(disks=4, k=3), sampler, None, record=folder / "q.maker")
        app = live_app(session)
        async with app.run_test(size=(100, 30)) as pilot:
            while server.active < 3:
                await asyncio.sleep(0.005)
            pressed = time.perf_counter()
            await pilot.press("q")
            while session.summary is None:
                await asyncio.sleep(0.001)
            return time.perf_counter() - pressed


def ctrl_c(folder: Path) -> float:
    with FakeOpenAIServer(MODEL) as server:
        command = [sys.executable, "-m", "engine.cli", "solve", "--headless", "--model", "slow-model", "--base-url",
                   server.base_url, "--disks", "4", "--record", str(folder / "c.maker"), "--json"]
        process = subprocess.Popen(command, cwd=ROOT, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _until(lambda: server.counts["completions"] >= 20)
        server.delay_s = SLOW_S
        slow_from = server.started
        _until(lambda: server.started > slow_from)
        pressed = time.perf_counter()
        process.send_signal(signal.SIGINT)
        process.wait(timeout=SLOW_S * 2)
        return time.perf_counter() - pressed


def budget(folder: Path) -> float:
    with FakeOpenAIServer(MODEL, delay_s=SLOW_S) as server:
        command = [sys.executable, "-m", "engine.cli", "solve", "--headless", "--model", "slow-model", "--base-url",
                   server.base_url, "--disks", "4", "--price-in", "1", "--price-out", "1", "--max-tokens", "100",
                   "--budget-usd", "0.0015", "--record", str(folder / "b.maker"), "--json"]
        process = subprocess.Popen(command, cwd=ROOT, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _until(lambda: server.active >= 2)  # both samples the budget allows are at the server
        blocked = time.perf_counter()
        process.wait(timeout=SLOW_S * 2)
        return time.perf_counter() - blocked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, list[float]] = {"q in the TUI": [], "Ctrl-C headless": [], "budget stop": []}
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as folder:
            results["q in the TUI"].append(asyncio.run(quit_in_app(Path(folder))))
            results["Ctrl-C headless"].append(ctrl_c(Path(folder)))
            results["budget stop"].append(budget(Path(folder)))
    print(f"server reply time {SLOW_S:.0f} s; target: each stop within 1 s")
    for name, times in results.items():
        runs = ", ".join(f"{t:.3f}" for t in times)
        print(f"{name:18} median {statistics.median(times):6.3f} s  (runs: {runs})")


if __name__ == "__main__":
    main()
