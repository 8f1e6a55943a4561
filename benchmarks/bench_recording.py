"""Recording costs on a 20-disk run: size, open and seek times, and the overhead on the solve.

Runs the headless solve on the simulated model with and without a recording (alternating, best of
``--repeat``; this machine's clock is noisy), then opens the recording and seeks 100 random steps.
Targets: size <= 64 MB, overhead <= 20%, open <= 1 s, seek <= 50 ms.

    python benchmarks/bench_recording.py               # 20 disks
    python benchmarks/bench_recording.py --disks 16    # a quicker look
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.recording import Recording  # noqa: E402
from engine.runner import RunConfig  # noqa: E402
from engine.session import new_session  # noqa: E402
from engine.sim import SimConfig, SimulatedLLM  # noqa: E402


def solve(disks: int, seed: int, record: Path | None) -> float:
    session = new_session(RunConfig(disks=disks, k=3), SimulatedLLM(SimConfig(seed=seed)), None, record=record)
    started = time.perf_counter()
    summary = asyncio.run(session.run())
    elapsed = time.perf_counter() - started
    assert summary.solved, summary.message
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--disks", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        plain, recorded = [], []
        path = Path(folder) / "run.maker"
        for _ in range(args.repeat):
            plain.append(solve(args.disks, args.seed, None))
            path.unlink(missing_ok=True)
            recorded.append(solve(args.disks, args.seed, path))
        size_mb = path.stat().st_size / 2**20

        started = time.perf_counter()
        recording = Recording.open(path)
        open_s = time.perf_counter() - started
        steps = random.Random(args.seed).sample(range(1, len(recording) + 1), 100)
        seeks = []
        for step in steps:
            started = time.perf_counter()
            recording.seek(step)
            seeks.append(time.perf_counter() - started)
        started = time.perf_counter()
        totals = recording.totals()
        totals_s = time.perf_counter() - started
        recording.close()

    best_plain, best_recorded = min(plain), min(recorded)
    print(f"disks {args.disks}  steps {len(steps) and totals.steps:,}  samples {totals.samples:,}")
    print(f"solve without recording {best_plain:8.2f} s   (runs: {', '.join(f'{t:.2f}' for t in plain)})")
    print(f"solve with recording    {best_recorded:8.2f} s   (runs: {', '.join(f'{t:.2f}' for t in recorded)})")
    print(f"recording overhead      {100 * (best_recorded / best_plain - 1):8.1f} %  (target <= 20%)")
    print(f"size                    {size_mb:8.1f} MB  (target <= 64 MB)")
    print(f"open                    {open_s * 1000:8.1f} ms  (target <= 1000 ms)")
    print(f"seek median / worst     {statistics.median(seeks) * 1000:8.2f} / {max(seeks) * 1000:.2f} ms  "
          f"over 100 random steps (target <= 50 ms)")
    print(f"totals of the whole run {totals_s * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
