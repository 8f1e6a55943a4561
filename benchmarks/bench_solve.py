"""Headless solve against its floor: a bare first-to-ahead-by-k loop over the same moves.

The floor is the least any implementation must do: walk the optimal solution and, for every step,
draw random right/wrong votes until one leads by k. The solve does everything the engine does on the
simulated model: prompt, raw text, strict parser, red flags, voting, audit. Both run in this process;
the script prints their times, the ratio (target <= 15x, goal 5x) and the peak RSS (target <= 300 MB).

    python benchmarks/bench_solve.py                # the full 20-disk task
    python benchmarks/bench_solve.py --disks 16     # a quicker look
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.models.pricing import pricing_for  # noqa: E402
from engine.models.sim import SimConfig, SimulatedLLM  # noqa: E402
from engine.run.config import RunConfig  # noqa: E402
from engine.run.runner import Runner  # noqa: E402
from engine.task.hanoi import optimal_moves, total_steps  # noqa: E402


def floor(disks: int, k: int, p: float, seed: int) -> int:
    """First-to-ahead-by-k over the optimal moves with random right/wrong votes; returns votes cast."""
    rand = random.Random(seed).random
    votes_cast = 0
    for move in optimal_moves(disks):
        wrong = (move[0], move[2], move[1])
        votes: dict[tuple[int, int, int], int] = {}
        while True:
            candidate = move if rand() < p else wrong
            count = votes.get(candidate, 0) + 1
            votes[candidate] = count
            votes_cast += 1
            rival = max((v for c, v in votes.items() if c != candidate), default=0)
            if count - rival >= k:
                break
    return votes_cast


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--disks", type=int, default=20)
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--error-rate", type=float, default=0.0022)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    steps = total_steps(args.disks)

    started = time.perf_counter()
    floor_votes = floor(args.disks, args.k, 1 - args.error_rate, args.seed)
    floor_s = time.perf_counter() - started

    runner = Runner(
        RunConfig(disks=args.disks, k=args.k),
        SimulatedLLM(SimConfig(error_rate=args.error_rate, seed=args.seed)),
        pricing=pricing_for("sim"),
    )
    started = time.perf_counter()
    summary = asyncio.run(runner.run())
    solve_s = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"disks {args.disks}  steps {steps:,}  k {args.k}  error rate {args.error_rate}")
    print(f"floor   {floor_s:8.2f} s  {floor_s / steps * 1e6:6.2f} us/step  {floor_votes:,} votes")
    print(
        f"solve   {solve_s:8.2f} s  {solve_s / steps * 1e6:6.2f} us/step  {summary.samples:,} votes  "
        f"{sum(summary.red_flags.values()):,} red flags  errors {summary.errors}  solved {summary.solved}"
    )
    print(f"ratio   {solve_s / floor_s:8.2f} x  (target <= 15x, goal 5x)")
    print(f"peak RSS {peak_mb:7.1f} MB (target <= 300 MB)")


if __name__ == "__main__":
    main()
