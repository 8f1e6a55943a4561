"""A real model on this machine: llama.cpp's OpenAI-compatible server with SmolLM2-135M-Instruct.

Everything goes through ``maker local-server``, ``maker calibrate`` and ``maker solve`` as a user
types them. The model is far below p = 0.5, so the runs must end cleanly and say why. These tests
need the 'local' extra (``pip install -e '.[local]'``), which ``.ci/run`` installs; elsewhere they
are skipped, saying so.
"""

import asyncio
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from openai import OpenAI
from textual.geometry import Region

from engine.cli import local_server
from engine.recording.reader import Recording
from engine.task.hanoi import start_state
from engine.task.parser import RedFlag
from engine.task.prompt import PromptBuilder, built_in
from engine.view.replay import ReplayCursor
from tests.tui_helpers import ROOT
from tui import cli
from tui.app import replay_app
from tui.widgets.tally import TallyPane

HAVE_EXTRA = importlib.util.find_spec("llama_cpp") is not None and local_server.packaged_model() is not None
needs_server = pytest.mark.skipif(not HAVE_EXTRA, reason="needs the 'local' extra: pip install -e '.[local]'")
MAX_TOKENS = 750


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def maker(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """``maker ...`` in a fresh process, with no API key in its environment."""
    env = {key: value for key, value in os.environ.items() if key not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
    return subprocess.run([sys.executable, "-m", "tui.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout, env=env)


def start_server(log: Path) -> tuple[subprocess.Popen[str], str, list[str]]:
    """``maker local-server`` on a free port, once it says where it serves."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "tui.cli", "local-server", "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=log.open("w"), text=True, cwd=ROOT)
    lines: list[str] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if line.startswith("serving "):
            return process, f"http://127.0.0.1:{port}/v1", lines
    process.kill()
    raise AssertionError(f"the server did not start: {lines} {log.read_text()[-2000:]}")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    process, url, _ = start_server(tmp_path_factory.mktemp("server") / "server.log")
    yield url
    local_server.stop(process)


@needs_server
def test_the_server_says_where_it_is_and_ctrl_c_stops_it(tmp_path):
    process, url, lines = start_server(tmp_path / "server.log")
    assert lines[-1] == f"serving smollm2 (SmolLM2-135M-Instruct.Q4_1.gguf) at {url}"
    process.send_signal(signal.SIGINT)
    began = time.monotonic()
    assert process.wait(30) == 0 and time.monotonic() - began < 30
    with socket.socket() as probe, pytest.raises(ConnectionRefusedError):  # nothing left listening
        probe.connect(("127.0.0.1", int(url.split(":")[-1].split("/")[0])))


@needs_server
def test_calibrating_on_twenty_samples_says_no_k_can_help(server, tmp_path):
    out = tmp_path / "smollm2.json"
    result = maker("calibrate", "--model", "smollm2", "--base-url", server, "--concurrency", "1", "--samples", "20",
                   "--disks", "3", "--out", str(out))
    assert result.returncode == 0, result.stderr
    calibration = json.loads(out.read_text())
    assert calibration["samples"] == 20
    assert calibration["valid"] + sum(calibration["red_flags"].values()) == 20
    assert calibration["mean_tokens_in"] > 100  # the server's count of the prompt, not ours
    assert calibration["p_vote"] <= 0.5 and all(row["k_min"] is None for row in calibration["projections"])
    assert "No k can help smollm2" in result.stdout


@needs_server
def test_a_three_disk_solve_ends_cleanly_records_real_tokens_and_replays(server, tmp_path):
    record = tmp_path / "smollm2.maker"
    result = maker("solve", "--headless", "--json", "--model", "smollm2", "--base-url", server, "--concurrency", "1",
                   "--lookahead", "0", "--disks", "3", "--max-votes", "10", "--max-red-flags", "10", "--stop-on-error",
                   "--keep-text", "--record", str(record))
    assert result.returncode == 1, result.stderr  # unsolved, and said so; never a traceback
    summary = json.loads(result.stdout)
    assert not summary["solved"] and summary["stopped"] in ("undecided", "audit_error")
    assert summary["message"] and "Traceback" not in result.stderr
    with Recording.open(record) as recording:
        recording.verify()
        steps, attempts = list(recording), recording.undecided()
    if summary["stopped"] == "undecided":  # the attempt it stopped on is kept, with every sample
        assert attempts[-1].step == len(steps) + 1 and len(attempts[-1].samples) >= 10
    first = (steps or attempts)[0]
    samples = [s for r in [*steps, *attempts] for s in r.samples if not s.cancelled]
    assert samples and all(s.tokens_in > 100 for s in samples)
    for sample in samples:  # a reply cut at the limit is what the server called "length"
        if sample.cut:
            assert sample.red_flag is RedFlag.TOO_LONG and sample.tokens_out == MAX_TOKENS
    # The first sample of step 1 is at temperature 0: asked again, the server gives the same reply
    # and the same usage, so what was recorded is the server's own count.
    messages = PromptBuilder(built_in("paper", 3)).messages(None, start_state(3))
    reply = OpenAI(base_url=server, api_key="no-key").chat.completions.create(
        model="smollm2", messages=messages, temperature=0, max_tokens=MAX_TOKENS)
    sample = next(s for s in first.samples if s.temperature == 0)
    assert sample.text == reply.choices[0].message.content
    assert (sample.tokens_in, sample.tokens_out) == (reply.usage.prompt_tokens, reply.usage.completion_tokens)

    async def watch(pilot):
        screen = pilot.app.screen
        screen.seek(screen.cursor.last_step)
        await pilot.pause()
        pane = pilot.app.screen.query_one(TallyPane)
        lines = [strip.text for strip in pane.render_lines(Region(0, 0, pane.size.width, pane.size.height))]
        assert any(f"Step {screen.cursor.step:,}" in line for line in lines)
        if summary["stopped"] == "undecided":
            assert screen.snapshot.stopped == "undecided" and not screen.snapshot.step_decided
        await pilot.press("q")

    with Recording.open(record) as recording:
        app = replay_app(ReplayCursor(recording))
        asyncio.run(_run(app, watch))


async def _run(app, script):
    async with app.run_test(size=(120, 40)) as pilot:
        await script(pilot)


def test_without_the_extra_local_server_says_what_to_install(monkeypatch, capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "llama_cpp" else real(name, *a))
    assert cli.main(["local-server"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install -e '.[local]'" in err


def test_a_model_path_that_is_not_gguf_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object() if name == "llama_cpp" else None)
    bogus = tmp_path / "model.gguf"
    bogus.write_text("not a model")
    assert cli.main(["local-server", "--model-path", str(bogus)]) == 2
    assert capsys.readouterr().err == f"maker: error: --model-path {bogus}: not a GGUF model file\n"
