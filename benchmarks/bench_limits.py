"""A served model's rate limit, found without --rpm: the wall clock against the rate-limit floor.

A test server on 127.0.0.1 limits requests as providers do: a bucket of R requests a minute (one
second's worth saved up at most), 429 with ``retry-after-ms`` past it, and, in some scenarios,
OpenAI's ``x-ratelimit-*`` headers. A run given no ``--rpm`` must find the limit itself. The floor
is the time the limit allows for the requests the server accepted: (accepted - the bucket's
starting burst) / R. Each scenario prints the run's wall clock divided by the floor.

Targets: at most 1.2x with the headers, at most 1.5x with 429s alone, and at most 1.5x when 5%
of replies take ten times the median (the default lookahead); the same slow replies are also
measured one step at a time (--lookahead 0), where every step waits for its slowest reply.

    python benchmarks/bench_limits.py                 # about 3 minutes
    python benchmarks/bench_limits.py --disks 7       # quicker, the burst weighs more
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_lookahead import solve  # noqa: E402

from engine.models.sim import SimConfig  # noqa: E402
from tests.fake_openai import FakeOpenAIServer, Faults  # noqa: E402

MODEL = SimConfig(error_rate=0.0022, seed=1)
"""The paper's gpt-4.1-mini error rate."""


def scenario(name: str, args: argparse.Namespace, *, headers: bool, slow: float = 0.0, lookahead: int | None = None,
             limited: bool = True) -> float:
    """Run one scenario and print its line; returns the wall clock."""
    faults = Faults(slow=slow, slow_s=10 * args.delay)
    rpm = args.rpm if limited else None
    options = [] if lookahead is None else ["--lookahead", str(lookahead)]
    with FakeOpenAIServer(MODEL, faults, rpm=rpm, rate_headers=headers, delay_s=args.delay, seed=3) as server:
        started = time.monotonic()
        summary = solve(server.base_url, args.disks, *options, "--concurrency", str(args.concurrency))
        wall = time.monotonic() - started
        accepted, rejected = server.counts["accepted"], server.counts["limited"]
        burst = server.burst if server.burst is not None else max(1.0, args.rpm / 60)
    wire = summary["wire"]
    assert isinstance(wire, dict)
    if limited:
        floor = max(accepted - burst, 1) / (args.rpm / 60)
        print(f"{name:<38} {summary['wall_s']:7.1f} s  floor {floor:6.1f} s  ratio {float(summary['wall_s']) / floor:5.2f}"
              f"  accepted {accepted:,}  429s {rejected:,}  learned {wire['limit_rpm']}/min")
    else:
        print(f"{name:<38} {summary['wall_s']:7.1f} s  (no limit)  requests {wire['requests']:,}")
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--disks", type=int, default=8)
    parser.add_argument("--rpm", type=int, default=3000, help="the server's limit, requests a minute")
    parser.add_argument("--delay", type=float, default=0.1, help="the server's median reply time in seconds")
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    print(f"disks {args.disks}  limit {args.rpm}/min  reply time {args.delay * 1000:.0f} ms  "
          f"concurrency {args.concurrency}  no --rpm given")
    scenario("with x-ratelimit headers (target <= 1.2)", args, headers=True)
    scenario("429s alone (target <= 1.5)", args, headers=False)
    scenario("429s, 5% of replies 10x slow (<= 1.5)", args, headers=False, slow=0.05)
    scenario("headers, 5% of replies 10x slow", args, headers=True, slow=0.05)
    print("what slow replies cost without a limit:")
    for lookahead in (0, None):
        label = "--lookahead 0" if lookahead == 0 else "default lookahead"
        fast = scenario(f"  {label}, replies on time", args, headers=False, lookahead=lookahead, limited=False)
        slow = scenario(f"  {label}, 5% 10x slow", args, headers=False, slow=0.05, lookahead=lookahead, limited=False)
        print(f"  {label}: slow replies cost {slow / fast:.2f}x the wall clock")


if __name__ == "__main__":
    main()
