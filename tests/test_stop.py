"""A user's stop is sacred: q in the TUI, Ctrl-C headless and a budget stop return at once, however
slow the server, and a recorded run stays resumable.

The server here takes a minute per reply. The engine is asked to come back within a second; the
tests allow two (three for a subprocess, whose interpreter has to shut down too), which tells
"does not wait for the server" from "waits" without depending on this machine's speed.
"""

import json
import os
import signal
import subprocess
import sys
import time

from engine.models.factory import ServerOptions, make_sampler
from engine.models.sim import SimConfig
from engine.recording.reader import Recording
from engine.run.config import RunConfig
from engine.run.session import new_session
from tests.fake_openai import FakeOpenAIServer
from tests.tui_helpers import ROOT, wait_until
from tui.app import live_app

SLOW_S = 60.0
MODEL = SimConfig(error_rate=0.0, seed=1)


def _env():
    return {name: value for name, value in os.environ.items() if not name.startswith("OPENAI_")}


def _until(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


async def test_q_quits_at_once_while_the_server_is_slow(tmp_path):
    record = tmp_path / "quit.maker"
    with FakeOpenAIServer(MODEL, delay_s=SLOW_S) as server:
        sampler = make_sampler("slow-model", server=ServerOptions(base_urls=(server.base_url,)))
        session = new_session(RunConfig(disks=4, k=3), sampler, None, record=record)
        app = live_app(session)
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_until(lambda: server.active >= 3)  # the first round is at the server
            pressed = time.monotonic()
            await pilot.press("q")
            await wait_until(lambda: session.summary is not None, timeout=SLOW_S)
        took = time.monotonic() - pressed
    assert took < 2.0, f"q took {took:.2f} s"
    assert session.summary.stopped == "stopped" and session.summary.cancelled == 3
    with Recording.open(record) as recording:
        assert recording.meta.last_stop == "stopped" and not recording.complete


def test_ctrl_c_stops_a_headless_run_at_once_and_it_resumes(tmp_path):
    record = tmp_path / "interrupted.maker"
    with FakeOpenAIServer(MODEL) as server:
        command = [sys.executable, "-m", "engine.cli", "solve", "--headless", "--model", "slow-model",
                   "--base-url", server.base_url, "--disks", "4", "--record", str(record), "--json"]
        process = subprocess.Popen(command, cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True)
        _until(lambda: server.counts["completions"] >= 20)
        server.delay_s = SLOW_S  # from now on every reply takes a minute
        slow_from = server.started
        _until(lambda: server.started > slow_from)  # a request that will take a minute is in flight
        pressed = time.monotonic()
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=SLOW_S)
        took = time.monotonic() - pressed
        server.delay_s = 0.0
        assert process.returncode == 130, err[-2000:]
        assert took < 3.0, f"Ctrl-C took {took:.2f} s"
        summary = json.loads(out)
        assert summary["stopped"] == "stopped" and 0 < summary["steps"] < 15 and summary["cancelled"] > 0
        resumed = subprocess.run([sys.executable, "-m", "engine.cli", "resume", str(record), "--base-url",
                                  server.base_url, "--json"], cwd=ROOT, env=_env(), capture_output=True, text=True,
                                 timeout=120)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert json.loads(resumed.stdout)["solved"]
    with Recording.open(record) as recording:
        assert recording.complete and len(list(recording)) == 15


def test_a_budget_stop_does_not_wait_for_a_slow_server(tmp_path):
    """The budget leaves room for two samples at their worst, k = 3 needs three: the two in flight
    get a short grace to show what they cost, then the budget stops the run and cancels them."""
    record = tmp_path / "budget.maker"
    with FakeOpenAIServer(MODEL, delay_s=SLOW_S) as server:
        command = [sys.executable, "-m", "engine.cli", "solve", "--headless", "--model", "slow-model",
                   "--base-url", server.base_url, "--disks", "4", "--price-in", "1", "--price-out", "1",
                   "--max-tokens", "100", "--budget-usd", "0.0015", "--record", str(record), "--json"]
        started = time.monotonic()
        result = subprocess.run(command, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=SLOW_S * 2)
        took = time.monotonic() - started
    summary = json.loads(result.stdout)
    assert result.returncode == 1 and summary["stopped"] == "budget", result.stderr[-2000:]
    assert took < 3.0 + 1.0, f"the budget stop took {took:.2f} s"  # interpreter start-up included
    assert summary["steps"] == 0 and summary["cancelled"] == 2 and summary["cost_usd"] == 0
    with Recording.open(record) as recording:
        assert recording.meta.last_stop == "budget" and len(recording) == 0
