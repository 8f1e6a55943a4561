"""Parallel sampling against a server with a fixed 200 ms reply time.

A 6-disk run at k = 3 through the real openai SDK to the test server (127.0.0.1), first with the
first k samples of each step in flight together, then one sample at a time (--concurrency 1),
both one step at a time (--lookahead 0; benchmarks/bench_lookahead.py measures lookahead).
Targets: the parallel run takes at most 1.15 x (steps x 200 ms), one round trip per unanimous step,
and is at least 2.6x faster than one at a time.

    python benchmarks/bench_latency.py
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.models.sim import SimConfig  # noqa: E402
from engine.task.hanoi import total_steps  # noqa: E402
from tests.fake_openai import FakeOpenAIServer  # noqa: E402


def solve(base_url: str, disks: int, concurrency: int) -> dict[str, object]:
    env = dict(os.environ, OPENAI_API_KEY="sk-bench")
    result = subprocess.run(
        [sys.executable, "-m", "engine.cli", "solve", "--headless", "--disks", str(disks), "--k", "3",
         "--model", "flaky-model", "--base-url", base_url, "--concurrency", str(concurrency), "--lookahead", "0",
         "--json"],
        capture_output=True, text=True, env=env, cwd=ROOT, check=True,
    )
    return json.loads(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--disks", type=int, default=6)
    parser.add_argument("--delay", type=float, default=0.2)
    args = parser.parse_args()
    steps = total_steps(args.disks)
    with FakeOpenAIServer(SimConfig(error_rate=0.0), delay_s=args.delay) as server:
        parallel = solve(server.base_url, args.disks, concurrency=16)
        one_at_a_time = solve(server.base_url, args.disks, concurrency=1)
    floor = steps * args.delay
    print(f"disks {args.disks}  steps {steps}  reply time {args.delay * 1000:.0f} ms  k 3")
    print(f"parallel        {parallel['wall_s']:7.2f} s  = {parallel['wall_s'] / floor:.3f} x (steps x reply time)"
          f"  (target <= 1.15)  samples {parallel['samples']}")
    print(f"one at a time   {one_at_a_time['wall_s']:7.2f} s  samples {one_at_a_time['samples']}")
    print(f"speed-up        {one_at_a_time['wall_s'] / parallel['wall_s']:7.2f} x  (target >= 2.6)")


if __name__ == "__main__":
    main()
