"""What ``maker info`` says of a recording's state: being written, interrupted, stopped."""

import json
import os
import signal
import subprocess
import sys
import time

from tests.test_openai import ROOT, maker

SLOW = ["--latency", "0.02", "--lookahead", "0", "--seed", "2"]
"""A simulated model slow enough (20 ms a reply, one step at a time) to be caught mid-run."""


def start(*args):
    return subprocess.Popen([sys.executable, "-m", "engine.cli", *args], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def wait_for_steps(record, at_least, process, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        result = maker("info", str(record), "--json")
        if result.returncode == 0 and json.loads(result.stdout)["steps_recorded"] >= at_least:
            return json.loads(result.stdout)
        time.sleep(0.1)
    raise AssertionError("the run never got that far")


def test_a_recording_under_way_says_so_and_one_that_died_says_interrupted(tmp_path):
    record = tmp_path / "run.maker"
    process = start("solve", "--headless", "--disks", "10", "--record", str(record), *SLOW)
    try:
        facts = wait_for_steps(record, 1, process)
        assert facts["being_written"] and facts["last_stop"] is None  # before: "resumable (interrupted)"
        shown = maker("info", str(record))
        assert "being written by a maker process now" in shown.stdout
    finally:
        process.kill()
        process.wait()
    facts = json.loads(maker("info", str(record), "--json").stdout)
    assert not facts["being_written"] and facts["last_stop"] is None
    assert "interrupted" in maker("info", str(record)).stdout


def test_a_resumed_run_that_dies_is_interrupted_not_the_last_sessions_stop(tmp_path):
    record = tmp_path / "run.maker"
    first = maker("solve", "--headless", "--disks", "10", "--record", str(record), "--budget-usd", "0.02",
                  "--json", *SLOW)
    assert json.loads(first.stdout)["stopped"] == "budget"
    before = json.loads(maker("info", str(record), "--json").stdout)
    assert before["last_stop"] == "budget"
    process = start("resume", str(record), "--headless", "--budget-usd", "10")
    try:
        wait_for_steps(record, before["steps_recorded"] + 1, process)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
    facts = json.loads(maker("info", str(record), "--json").stdout)
    assert facts["last_stop"] is None and facts["steps_recorded"] > before["steps_recorded"]
    shown = maker("info", str(record)).stdout
    assert "interrupted" in shown and "budget" not in shown  # before: the first session's "budget"
