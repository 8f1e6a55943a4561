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
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from openai import OpenAI
from textual.geometry import Region

from engine.cli import local_server
from engine.recording.reader import Recording
from engine.run.config import RunConfig
from engine.task.hanoi import start_state
from engine.task.parser import RedFlag
from engine.task.prompt import PromptBuilder, built_in
from engine.view.replay import ReplayCursor
from tests.tui_helpers import ROOT
from tui import cli
from tui.app import replay_app
from tui.widgets.tally import TallyPane

HAVE_EXTRA = (all(importlib.util.find_spec(name) for name in local_server.SERVER_MODULES)
              and local_server.packaged_model() is not None)
REQUIRED = bool(os.environ.get("MAKER_REQUIRE_LOCAL"))
"""Set by .ci/run, which installs the extra: there a missing extra fails instead of skipping."""
needs_server = pytest.mark.skipif(not HAVE_EXTRA, reason="needs the 'local' extra: pip install -e '.[local]'")
MAX_TOKENS = RunConfig.model_fields["max_tokens"].default


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def environment(**extra: str) -> dict[str, str]:
    """This environment with no API key, plus ``extra``."""
    env = {key: value for key, value in os.environ.items() if key not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
    return env | extra


def maker(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """``maker ...`` in a fresh process, with no API key in its environment."""
    return subprocess.run([sys.executable, "-m", "tui.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout, env=environment())


def start_server(state: Path, **env: str) -> tuple[subprocess.Popen[str], str, list[str]]:
    """``maker local-server`` on a free port, once it says where it serves (its log goes under
    ``state``); stopped again if it does not."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "tui.cli", "local-server", "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
                               env=environment(XDG_STATE_HOME=str(state), **env))
    lines: list[str] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        ready, _, _ = select.select([process.stdout], [], [], 0.5)
        if not ready:
            continue
        lines.append(process.stdout.readline().rstrip("\n"))
        if lines[-1].startswith("serving "):
            # The few lines after it are maker's own; the server writes to its log.
            return process, f"http://127.0.0.1:{port}/v1", lines
    local_server.stop(process)
    raise AssertionError(f"the server did not start: {lines}")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    process, url, _ = start_server(tmp_path_factory.mktemp("state"))
    yield url
    local_server.stop(process)


def test_the_extra_is_installed_where_ci_says_it_is():
    if not REQUIRED:
        pytest.skip("MAKER_REQUIRE_LOCAL is not set (.ci/run sets it)")
    assert HAVE_EXTRA, "MAKER_REQUIRE_LOCAL is set but the 'local' extra (or its model) is missing"


@needs_server
def test_the_server_says_where_it_is_and_ctrl_c_stops_it(tmp_path):
    """Started with HOST and PORT in the environment, which llama.cpp's server would obey: it
    still listens on 127.0.0.1 at the port asked for."""
    process, url, lines = start_server(tmp_path, HOST="0.0.0.0", PORT="1")
    try:
        assert lines[-1] == f"serving smollm2 (SmolLM2-135M-Instruct.Q4_1.gguf) at {url}"
        port = int(url.split(":")[-1].split("/")[0])
        log = (tmp_path / "maker" / "logs" / f"local-server-{port}.log").read_text()
        assert f"running on http://127.0.0.1:{port}" in log and "0.0.0.0" not in log
        process.send_signal(signal.SIGINT)
        began = time.monotonic()
        assert process.wait(30) == 0 and time.monotonic() - began < 10
        with socket.socket() as probe, pytest.raises(ConnectionRefusedError):  # nothing left listening
            probe.connect(("127.0.0.1", port))
    finally:
        local_server.stop(process)


@needs_server
def test_calibrating_on_twenty_samples_says_no_k_can_help(server, tmp_path):
    out = tmp_path / "smollm2.json"
    result = maker("calibrate", "--model", "smollm2", "--base-url", server, "--concurrency", "1", "--samples", "20",
                   "--disks", "3", "--temperature", "0", "--out", str(out))
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
    # What was recorded is the server's own count: the prompt of step 1, asked again, is as many
    # tokens by its usage, and each kept reply is as many tokens by its tokenizer (give or take the
    # end-of-text token).
    messages = PromptBuilder(built_in("paper", 3)).messages(None, start_state(3))
    reply = OpenAI(base_url=server, api_key="no-key").chat.completions.create(
        model="smollm2", messages=messages, temperature=0, max_tokens=1)
    assert {s.tokens_in for s in first.samples if not s.cancelled} == {reply.usage.prompt_tokens}
    for kept in samples:
        assert abs(token_count(server, kept.text) - kept.tokens_out) <= 1, (kept.text, kept.tokens_out)

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


def token_count(server: str, text: str) -> int:
    """Tokens in ``text`` by the server's own tokenizer (llama-cpp-python's /extras endpoint)."""
    request = urllib.request.Request(f"{server.removesuffix('/v1')}/extras/tokenize/count",
                                     data=json.dumps({"input": text, "add_special": False}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as reply:
        return json.load(reply)["count"]


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
    installed = local_server.SERVER_MODULES
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object() if name in installed else None)
    bogus = tmp_path / "model.gguf"
    bogus.write_text("not a model")
    assert cli.main(["local-server", "--model-path", str(bogus)]) == 2
    assert capsys.readouterr().err == f"maker: error: --model-path {bogus}: not a GGUF model file\n"


@needs_server
def test_a_damaged_model_file_is_one_line_naming_the_log(tmp_path):
    damaged = tmp_path / "damaged.gguf"
    damaged.write_bytes(b"GGUF" + bytes(range(256)) * 4)
    env = environment(XDG_STATE_HOME=str(tmp_path))
    result = subprocess.run([sys.executable, "-m", "tui.cli", "local-server", "--port", str(free_port()),
                             "--model-path", str(damaged)], capture_output=True, text=True, cwd=ROOT, timeout=120,
                            env=env)
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "before it served" in lines[0] and str(tmp_path / "maker" / "logs") in lines[0], lines
