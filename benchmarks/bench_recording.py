"""Recording costs on a 20-disk run: size, open and seek times, and the overhead on the solve.

Runs the headless solve on the simulated model with and without a recording (alternating, best of
``--repeat``), then opens the recording and seeks 100 random steps.
Targets: size <= 64 MB, overhead <= 20%, open <= 1 s, seek <= 50 ms.

A shared virtual machine's speed drifts by +-30% from minute to minute, which swamps a 20% effect
measured one run after another. ``--paired N`` measures the overhead a second way: N times, the
two solves run at once, each in its own process pinned to its own CPU (then the CPUs swapped), so
both see the same machine; it prints the median of the time ratios.

    python benchmarks/bench_recording.py                       # 20 disks
    python benchmarks/bench_recording.py --disks 16            # a quicker look
    python benchmarks/bench_recording.py --disks 18 --paired 3 # the paired overhead only
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.models.sim import SimConfig, SimulatedLLM  # noqa: E402
from engine.recording.reader import Recording  # noqa: E402
from engine.run.config import RunConfig  # noqa: E402
from engine.run.session import new_session  # noqa: E402


def solve(disks: int, seed: int, record: Path | None) -> float:
    session = new_session(RunConfig(disks=disks, k=3), SimulatedLLM(SimConfig(seed=seed)), None, record=record)
    started = time.perf_counter()
    summary = asyncio.run(session.run())
    elapsed = time.perf_counter() - started
    assert summary.solved, summary.message
    return elapsed


def solve_pinned(disks: int, seed: int, record: bool, cpu: int) -> subprocess.Popen[str]:
    """Start one solve in a child process pinned to ``cpu``; it prints its time."""
    command = [sys.executable, __file__, "--disks", str(disks), "--seed", str(seed), "--one", "record" if record else "plain"]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    os.sched_setaffinity(child.pid, {cpu})  # before it has finished importing, long before it solves
    return child


def paired(disks: int, seed: int, pairs: int) -> None:
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        raise SystemExit("--paired needs two CPUs")
    ratios = []
    for _ in range(pairs):
        for plain_cpu, record_cpu in ((cpus[0], cpus[1]), (cpus[1], cpus[0])):
            plain = solve_pinned(disks, seed, False, plain_cpu)
            recorded = solve_pinned(disks, seed, True, record_cpu)
            plain_s, recorded_s = (float(child.communicate()[0]) for child in (plain, recorded))
            ratios.append(recorded_s / plain_s)
            print(f"  together: without {plain_s:6.2f} s, with {recorded_s:6.2f} s, ratio {ratios[-1]:.3f}", flush=True)
    print(f"recording overhead, paired: median {100 * (statistics.median(ratios) - 1):.1f} %  "
          f"(range {100 * (min(ratios) - 1):.1f} to {100 * (max(ratios) - 1):.1f} %, {len(ratios)} pairs; target <= 20%)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--disks", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--paired", type=int, default=0, metavar="N", help="measure the overhead with N paired runs only")
    parser.add_argument("--one", choices=["plain", "record"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        with tempfile.TemporaryDirectory() as folder:
            print(solve(args.disks, args.seed, Path(folder) / "run.maker" if args.one == "record" else None))
        return
    if args.paired:
        paired(args.disks, args.seed, args.paired)
        return
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
