"""Lookahead against a server with a fixed 200 ms reply time, and the --rpm cap.

A 10-disk run (1,023 steps) at k = 3 through the real openai SDK to the test server (127.0.0.1):
one step at a time (--lookahead 0), then with --lookahead 64 --concurrency 192. Prints both wall
clocks and their ratio (target at least 10x; one round trip a step is 1,023 x 0.2 s, about 205 s),
the steps a second with lookahead against the bound C / (k x L) = 192 / (3 x 0.2 s) = 320, and
the samples thrown away on predictions the votes did not give. Then a 7-disk run with --rpm 600:
the requests a second the server saw over the run (target at most 10.5).

    python benchmarks/bench_lookahead.py            # about 5 minutes, most of it one step at a time
    python benchmarks/bench_lookahead.py --disks 8  # quicker
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

K = 3
MODEL = SimConfig(error_rate=0.0022, hard_steps=(100, 500), hard_error_rate=0.3, seed=1)
"""The paper's gpt-4.1-mini error rate, and two hard steps on which a prediction may fail."""


def solve(base_url: str, disks: int, *options: str) -> dict[str, object]:
    env = dict(os.environ, OPENAI_API_KEY="sk-bench")
    result = subprocess.run(
        [sys.executable, "-m", "engine.cli", "solve", "--headless", "--disks", str(disks), "--k", str(K),
         "--model", "flaky-model", "--base-url", base_url, "--json", *options],
        capture_output=True, text=True, env=env, cwd=ROOT,
    )
    if result.returncode != 0:
        raise SystemExit(f"the run failed ({result.returncode}): {result.stderr.strip()[-500:]}")
    summary: dict[str, object] = json.loads(result.stdout)
    if summary["errors"] or not summary["solved"]:
        raise SystemExit(f"the run was not solved without errors: {summary['message']}")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--disks", type=int, default=10)
    parser.add_argument("--delay", type=float, default=0.2, help="the server's reply time in seconds")
    parser.add_argument("--lookahead", type=int, default=64)
    parser.add_argument("--concurrency", type=int, default=192)
    parser.add_argument("--rpm", type=int, default=600)
    parser.add_argument("--rpm-disks", type=int, default=7)
    args = parser.parse_args()
    steps = total_steps(args.disks)
    with FakeOpenAIServer(MODEL, delay_s=args.delay) as server:
        ahead = solve(server.base_url, args.disks, "--lookahead", str(args.lookahead),
                      "--concurrency", str(args.concurrency))
        most_in_flight = server.most_active
    with FakeOpenAIServer(MODEL, delay_s=args.delay) as server:
        alone = solve(server.base_url, args.disks, "--lookahead", "0", "--concurrency", str(args.concurrency))
    bound = args.concurrency / (K * args.delay)
    rate = steps / float(ahead["wall_s"])  # type: ignore[arg-type]
    print(f"disks {args.disks}  steps {steps:,}  reply time {args.delay * 1000:.0f} ms  k {K}")
    print(f"one step at a time   {alone['wall_s']:8.1f} s  ({float(alone['wall_s']) / (steps * args.delay):.3f} x "
          f"steps x reply time)  samples {alone['samples']:,}")
    print(f"lookahead {args.lookahead:<3}        {ahead['wall_s']:8.1f} s  samples {ahead['samples']:,}  "
          f"wasted {ahead['wasted']:,}  most in flight at the server {most_in_flight}")
    print(f"speed-up             {float(alone['wall_s']) / float(ahead['wall_s']):8.2f} x  (target >= 10)")
    print(f"steps a second       {rate:8.1f}  against C / (k x L) = {bound:.0f}  ({rate / bound:.1%} of the bound)")
    same = (alone["samples"], alone["red_flags"]) == (ahead["samples"], ahead["red_flags"])
    print(f"votes and red flags  {'the same' if same else 'differ'} in both runs")

    with FakeOpenAIServer(MODEL) as server:
        capped = solve(server.base_url, args.rpm_disks, "--rpm", str(args.rpm), "--lookahead", str(args.lookahead),
                       "--concurrency", str(args.concurrency))
        times = server.request_times
    seen = (len(times) - 1) / (times[-1] - times[0])
    print(f"--rpm {args.rpm}: {len(times):,} requests in {times[-1] - times[0]:.1f} s = {seen:.2f} a second at the "
          f"server (target <= {args.rpm / 60 * 1.05:.2f}); run {capped['wall_s']:.1f} s")


if __name__ == "__main__":
    main()
