"""Recording costs on a 20-disk run: size, open and seek times, and the overhead on the solve.

Runs the headless solve on the simulated model with and without a recording (alternating, best of
``--repeat``), then opens the recording and seeks 100 random steps.
Targets: size <= 64 MB, overhead <= 20%, open <= 1 s, seek <= 50 ms.

``--keep-text`` also records the run keeping every reply's text, and prints its size, its bytes a
step, and its overhead over the same run recorded without texts (targets <= 150 MB, <= 20%). The
simulated model's replies are short (about 60 tokens); ``--long-replies`` (implied by
``--keep-text``) packs replies of real length through the same text store: some 260 tokens of
reasoning that follow each step's state, made here and never by the engine (see long_reply).

A shared virtual machine's speed drifts by +-30% from minute to minute, which swamps a 20% effect
measured one run after another. ``--paired N`` measures the overhead a second way: N times, the
two solves run at once, each in its own process pinned to its own CPU (then the CPUs swapped), so
both see the same machine; it prints the median of the time ratios.

    python benchmarks/bench_recording.py                       # 20 disks
    python benchmarks/bench_recording.py --disks 16            # a quicker look
    python benchmarks/bench_recording.py --disks 18 --paired 3 # the paired overhead only
    python benchmarks/bench_recording.py --keep-text           # the cost of keeping every text
    python benchmarks/bench_recording.py --long-replies        # replies of real length only (quick)
    python benchmarks/bench_recording.py --keep-text --paired 3  # with texts against without, paired
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.models.sampler import estimate_tokens  # noqa: E402
from engine.models.sim import SimConfig, SimulatedLLM  # noqa: E402
from engine.recording.format import BLOCK_STEPS  # noqa: E402
from engine.recording.reader import Recording  # noqa: E402
from engine.recording.texts import BLOCK_TEXTS_TABLE, BlockTexts  # noqa: E402
from engine.run.config import RunConfig  # noqa: E402
from engine.run.session import new_session  # noqa: E402
from engine.run.totals import Totals  # noqa: E402
from engine.task.hanoi import (  # noqa: E402
    State,
    apply_move,
    format_move,
    format_state,
    optimal_move,
    state_before_step,
    total_steps,
)


def solve(disks: int, seed: int, record: Path | None, keep_text: bool = False) -> float:
    session = new_session(RunConfig(disks=disks, k=3), SimulatedLLM(SimConfig(seed=seed)), None, record=record,
                          keep_text=keep_text)
    started = time.perf_counter()
    summary = asyncio.run(session.run())
    elapsed = time.perf_counter() - started
    assert summary.solved, summary.message
    return elapsed


def solve_pinned(disks: int, seed: int, kind: str, cpu: int) -> subprocess.Popen[str]:
    """Start one solve (``plain``, ``record`` or ``text``) in a child process pinned to ``cpu``;
    it prints its time."""
    command = [sys.executable, __file__, "--disks", str(disks), "--seed", str(seed), "--one", kind]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    os.sched_setaffinity(child.pid, {cpu})  # before it has finished importing, long before it solves
    return child


def solve_apart(disks: int, seed: int, kind: str, record: Path | None) -> float:
    """One solve (``plain``, ``record`` or ``text``, recorded to ``record``) in a child process:
    a solve after others in one process runs in a heap they left behind."""
    command = [sys.executable, __file__, "--disks", str(disks), "--seed", str(seed), "--one", kind]
    if record is not None:
        command += ["--to", str(record)]
    return float(subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True).stdout)


def paired(disks: int, seed: int, pairs: int, keep_text: bool = False) -> None:
    """Without keep_text, a solve recorded against one not recorded; with it, a solve recorded with
    every text against one recorded without. (Pinned to one CPU each, a recording's texts cannot be
    compressed beside the engine: this is the overhead on a machine with no CPU to spare.)"""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        raise SystemExit("--paired needs two CPUs")
    base, measured = ("record", "text") if keep_text else ("plain", "record")
    what = "keeping every text" if keep_text else "recording"
    ratios = []
    for _ in range(pairs):
        for base_cpu, measured_cpu in ((cpus[0], cpus[1]), (cpus[1], cpus[0])):
            first = solve_pinned(disks, seed, base, base_cpu)
            second = solve_pinned(disks, seed, measured, measured_cpu)
            base_s, measured_s = (float(child.communicate()[0]) for child in (first, second))
            ratios.append(measured_s / base_s)
            print(f"  together: without {base_s:6.2f} s, with {measured_s:6.2f} s, ratio {ratios[-1]:.3f}", flush=True)
    print(f"{what} overhead, paired: median {100 * (statistics.median(ratios) - 1):.1f} %  "
          f"(range {100 * (min(ratios) - 1):.1f} to {100 * (max(ratios) - 1):.1f} %, {len(ratios)} pairs; target <= 20%)")


def _peg_words(state: State, peg: int) -> str:
    disks = state[peg]
    if not disks:
        return f"Peg {peg} is empty."
    return f"Peg {peg} holds disks {', '.join(map(str, disks))} from bottom to top, so its top disk is {disks[-1]}."


def long_reply(step: int, disks: int, rng: random.Random) -> str:
    """A reply of real length to step ``step``'s prompt: the reasoning a model following the paper's
    prompt writes (about 260 tokens at 20 disks), each sentence in one of a few wordings that
    ``rng`` picks, then the two answer lines. Made by this benchmark only, to measure the store."""
    state = state_before_step(step, disks)
    previous = optimal_move(step - 1, disks) if step > 1 else None
    disk, source, target = move = optimal_move(step, disks)
    after = apply_move(state, move)

    def pick(*wordings: str) -> str:
        return rng.choice(wordings)

    parts = [pick("Let me look at the current state carefully.", "First, the current configuration of the pegs.",
                  "I will start by reading the state I was given.")]
    parts += [_peg_words(state, peg) for peg in range(3)]
    if previous is None:
        parts.append(pick("There is no previous move, so this is the first move of the puzzle.",
                          "No move has been made yet."))
    else:
        parts.append(pick(f"The previous move was {format_move(previous)}: disk {previous[0]} went from peg "
                          f"{previous[1]} to peg {previous[2]}.",
                          f"Last time disk {previous[0]} moved from peg {previous[1]} to peg {previous[2]}."))
    parts.append(pick("The rule is: if the previous move did not move disk 1, move disk 1 one peg in its fixed "
                      "direction; otherwise make the only legal move that does not involve disk 1.",
                      "By the strategy, disk 1 moves on every other move, always in the same direction, and in "
                      "between the one legal move without disk 1 is made."))
    if disk == 1:
        parts.append(pick(f"The previous move did not move disk 1, so disk 1 moves now. It sits on peg {source}, "
                          f"and its next peg in that direction is peg {target}.",
                          f"Disk 1 did not move last, so it is disk 1's turn: from peg {source} it goes to peg "
                          f"{target}."))
        parts.append(pick(f"Disk 1 is the smallest disk, so it can go on top of anything on peg {target}.",
                          "Nothing is smaller than disk 1, so the move is legal."))
    else:
        parts.append(pick(f"Disk 1 moved last, so I leave it where it is. Of the other two pegs, {source} and "
                          f"{target}, the smaller top disk is disk {disk}, on peg {source}.",
                          f"Disk 1 just moved, so the other move is made: comparing the tops of pegs {source} "
                          f"and {target}, disk {disk} is smaller."))
        parts.append(pick(f"A larger disk may never sit on a smaller one, so disk {disk} moves from peg {source} "
                          f"to peg {target}.",
                          f"So the legal move is disk {disk} from peg {source} onto peg {target}."))
    parts.append(pick(f"After the move, {_peg_words(after, source).lower()} {_peg_words(after, target)}",
                      f"Moving disk {disk} leaves this: {_peg_words(after, source)} {_peg_words(after, target)}"))
    parts.append(pick(f"Let me double-check: each peg is still largest at the bottom, and all {disks} disks "
                      "are there.", f"Checking again: no disk is on a smaller one and I count {disks} disks."))
    parts.append(f"move = {format_move(move)}\nnext_state = {format_state(after)}")
    return "\n".join(parts)


def long_replies(disks: int, seed: int, record_bytes: float | None, blocks: int = 32, samples: int = 3,
                 reworded: float = 0.5) -> None:
    """Pack replies of real length through the text store: ``blocks`` blocks spread over the run,
    ``samples`` samples a step (k=3 unanimous, the common step); the first sample's wording is the
    step's own, each later one (a higher temperature) a rewording (``reworded`` of the time) or the same.
    Prints the bytes a step, and what a whole run's texts would come to at that rate."""
    steps = total_steps(disks)
    starts = sorted({1 + (steps // blocks * i) // BLOCK_STEPS * BLOCK_STEPS for i in range(blocks)})
    packed = one_by_one = chars = kept = made = 0
    pack_s = 0.0
    folder = tempfile.TemporaryDirectory()
    store = sqlite3.connect(Path(folder.name) / "texts.maker")  # what the blobs take in a file, pages and all
    store.execute(BLOCK_TEXTS_TABLE)
    for first in starts:
        texts = BlockTexts()
        for offset, step in enumerate(range(first, min(first + BLOCK_STEPS, steps + 1))):
            first_text = long_reply(step, disks, random.Random(f"{seed}-{step}"))
            replies = [first_text]
            for index in range(1, samples):
                rng = random.Random(f"{seed}-{step}-{index}")
                replies.append(long_reply(step, disks, rng) if rng.random() < reworded else first_text)
            texts.add(offset, list(enumerate(replies)))
            one_by_one += sum(len(zlib.compress(reply.encode())) for reply in replies)
            chars += sum(map(len, replies))
            kept += len(replies)
            made += 1
        started = time.perf_counter()
        blob = texts.pack()
        pack_s += time.perf_counter() - started
        packed += len(blob)
        store.execute("INSERT INTO block_texts VALUES (?, ?)", (first, blob))
    store.commit()
    (pages,) = store.execute("PRAGMA page_count").fetchone()
    (page_size,) = store.execute("PRAGMA page_size").fetchone()
    store.close()
    folder.cleanup()
    per_step = packed / made
    on_disk = (pages - 2) * page_size / made  # less the file's first page and the table's root
    print(f"replies of real length  {made:,} steps in {len(starts)} blocks spread over the run, {samples} samples "
          f"a step, about {estimate_tokens('x' * (chars // kept))} tokens ({chars // kept} characters) a reply "
          "(made by this benchmark, see long_reply)")
    print(f"  texts a step          {per_step:8.1f} bytes  ({pack_s / len(starts) * 1000:.2f} ms to pack a block; "
          f"{on_disk:.1f} bytes in the file's pages; one by one, as before schema 4: {one_by_one / made:.0f} bytes)")
    whole = on_disk * steps / 2**20
    line = f"  a whole run's texts   {whole:8.1f} MB  at that rate (pages and all) over {steps:,} steps"
    if record_bytes is not None:
        line += f"; with the recording without texts, about {(whole + record_bytes * steps / 2**20):.0f} MB"
    print(line)


def look(path: Path, seed: int) -> tuple[float, list[float], Totals, float]:
    """Open a recording, seek 100 random steps and add up its totals: the times of each."""
    started = time.perf_counter()
    recording = Recording.open(path)
    open_s = time.perf_counter() - started
    seeks = []
    for step in random.Random(seed).sample(range(1, len(recording) + 1), 100):
        started = time.perf_counter()
        recording.seek(step)
        seeks.append(time.perf_counter() - started)
    started = time.perf_counter()
    totals = recording.totals()
    totals_s = time.perf_counter() - started
    recording.close()
    return open_s, seeks, totals, totals_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--disks", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--paired", type=int, default=0, metavar="N", help="measure the overhead with N paired runs only")
    parser.add_argument("--keep-text", action="store_true",
                        help="also record keeping every text, and measure what it costs over recording without")
    parser.add_argument("--long-replies", action="store_true",
                        help="only pack replies of real length (some 260 tokens) through the text store")
    parser.add_argument("--one", choices=["plain", "record", "text"], help=argparse.SUPPRESS)
    parser.add_argument("--to", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        with tempfile.TemporaryDirectory() as folder:
            record = (args.to or Path(folder) / "run.maker") if args.one != "plain" else None
            print(solve(args.disks, args.seed, record, keep_text=args.one == "text"))
        return
    if args.paired:
        paired(args.disks, args.seed, args.paired, keep_text=args.keep_text)
        return
    if args.long_replies:
        long_replies(args.disks, args.seed, None)
        return
    with tempfile.TemporaryDirectory() as folder:
        plain, recorded, with_texts = [], [], []
        path, text_path = Path(folder) / "run.maker", Path(folder) / "texts.maker"
        for _ in range(args.repeat):  # each solve in a fresh process (see solve_apart)
            plain.append(solve_apart(args.disks, args.seed, "plain", None))
            path.unlink(missing_ok=True)
            recorded.append(solve_apart(args.disks, args.seed, "record", path))
            if args.keep_text:
                text_path.unlink(missing_ok=True)
                with_texts.append(solve_apart(args.disks, args.seed, "text", text_path))
        size = path.stat().st_size
        open_s, seeks, totals, totals_s = look(path, args.seed)
        if args.keep_text:
            text_size = text_path.stat().st_size
            _, text_seeks, _, _ = look(text_path, args.seed)

    best_plain, best_recorded = min(plain), min(recorded)
    print(f"disks {args.disks}  steps {totals.steps:,}  samples {totals.samples:,}")
    print(f"solve without recording {best_plain:8.2f} s   (runs: {', '.join(f'{t:.2f}' for t in plain)})")
    print(f"solve with recording    {best_recorded:8.2f} s   (runs: {', '.join(f'{t:.2f}' for t in recorded)})")
    print(f"recording overhead      {100 * (best_recorded / best_plain - 1):8.1f} %  (target <= 20%)")
    print(f"size                    {size / 2**20:8.1f} MB  (target <= 64 MB)")
    print(f"open                    {open_s * 1000:8.1f} ms  (target <= 1000 ms)")
    print(f"seek median / worst     {statistics.median(seeks) * 1000:8.2f} / {max(seeks) * 1000:.2f} ms  "
          f"over 100 random steps (target <= 50 ms)")
    print(f"totals of the whole run {totals_s * 1000:8.1f} ms")
    if args.keep_text:
        best_texts = min(with_texts)
        print(f"solve keeping all texts {best_texts:8.2f} s   (runs: {', '.join(f'{t:.2f}' for t in with_texts)})")
        print(f"keeping texts overhead  {100 * (best_texts / best_recorded - 1):8.1f} %  over the run recorded "
              "without texts (target <= 20%)")
        print(f"size with texts         {text_size / 2**20:8.1f} MB  (target <= 150 MB)")
        print(f"bytes a step with texts {text_size / totals.steps:8.1f}     ({(text_size - size) / totals.steps:.1f} "
              f"for the texts; {size / totals.steps:.1f} without them)")
        print(f"seek with texts         {statistics.median(text_seeks) * 1000:8.2f} / {max(text_seeks) * 1000:.2f} ms  "
              "median / worst")
        long_replies(args.disks, args.seed, size / totals.steps)


if __name__ == "__main__":
    main()
