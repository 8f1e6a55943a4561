"""Real models through the openai SDK, against a real HTTP server on 127.0.0.1 playing a flaky model."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from engine.models.sim import SimConfig
from engine.recording.reader import Recording
from engine.voting.plan import prompt_tokens
from tests.answer_forms import DECORATED
from tests.fake_openai import FakeOpenAIServer, Faults

ROOT = Path(__file__).resolve().parent.parent


def maker(*args, key="sk-test-key", cwd=ROOT, timeout=240, env=None):
    env = {name: value for name, value in os.environ.items() if not name.startswith("OPENAI_")} | (env or {})
    if key is not None:
        env["OPENAI_API_KEY"] = key
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout
    )


def solve(server, *extra, key="sk-test-key", cwd=ROOT):
    return maker("solve", "--headless", "--model", "flaky-model", "--base-url", server.base_url, *extra, key=key, cwd=cwd)


FLAKY = SimConfig(error_rate=0.10, error_kinds={"wrong_move": 0.5, "malformed": 0.5}, seed=3)
FAULTS = Faults(rate_limited=0.03, server_error=0.03, reset=0.01, garbage=0.01, empty=0.01, slow=0.005, slow_s=3.0)


def test_a_7_disk_solve_through_a_flaky_server_and_the_counts_reconcile():
    with FakeOpenAIServer(FLAKY, FAULTS, seed=5) as server:
        # A timeout shorter than a hedge's wait (engine.models.hedge): every slow reply times out.
        result = solve(server, "--disks", "7", "--timeout", "0.4", "--json")
        counts = server.counts
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout)
    assert summary["solved"] and summary["errors"] == 0 and summary["steps"] == 127
    faults = counts["rate_limited"] + counts["server_error"]
    requests = sum(counts[kind] for kind in ("completions", "rate_limited", "server_error", "reset", "slow",
                                             "slow_answered", "garbage", "empty"))
    assert faults >= 0.05 * requests, counts
    assert sum(summary["red_flags"].values()) >= 0.02 * requests
    # Every completion the server sent was judged: a vote or a red flag (none was cancelled here);
    # an empty one is the model's answer too, red-flagged empty.
    assert summary["cancelled"] == 0
    assert counts["completions"] + counts["empty"] == summary["samples"] + sum(summary["red_flags"].values())
    assert summary["red_flags"]["empty"] == counts["empty"] > 0
    # Every fault it injected was retried and counted by kind, never judged.
    errors = summary["wire"]["faults"]
    assert errors.get("rate_limited", 0) == counts["rate_limited"]
    assert errors.get("server_error", 0) == counts["server_error"]
    assert errors.get("connection", 0) == counts["reset"]
    assert errors.get("timeout", 0) == counts["slow"] > 0
    assert errors.get("bad_body", 0) == counts["garbage"]
    assert summary["cost_usd"] is None  # an unknown model: its cost is unknown, not zero


def test_the_api_key_is_never_written_anywhere(tmp_path):
    key = "sk-planted-" + os.urandom(12).hex()
    record = tmp_path / "run.maker"
    with FakeOpenAIServer(FLAKY, api_key=key) as server:
        result = solve(server, "--disks", "4", "--record", str(record), "--keep-text", "--json", key=key, cwd=tmp_path)
        assert key in server.keys_seen  # the key was really used
    assert result.returncode == 0, result.stderr
    exported = maker("export", str(record), "--jsonl", "--out", str(tmp_path / "run.jsonl"), key=key)
    info = maker("info", str(record), "--json", key=key)
    assert exported.returncode == 0 and info.returncode == 0
    written = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert len(written) >= 2
    for path in written:
        assert key.encode() not in path.read_bytes(), path
    for output in (result.stdout, result.stderr, info.stdout, exported.stdout):
        assert key not in output
    assert json.loads(info.stdout)["base_url_host"].startswith("127.0.0.1:")


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_unreachable_server_fails_fast_in_one_line():
    result = maker("solve", "--headless", "--model", "m", "--base-url", f"http://127.0.0.1:{_closed_port()}/v1", timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot reach the model server" in lines[0], result.stderr


def test_a_refused_key_is_one_line_and_exit_2():
    with FakeOpenAIServer(FLAKY, api_key="the-right-key") as server:
        result = solve(server, "--disks", "3", key="a-wrong-key")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "refused the API key from $OPENAI_API_KEY" in lines[0]
    assert "a-wrong-key" not in result.stderr


def test_no_key_for_openai_itself_is_a_usage_error():
    result = maker("solve", "--headless", "--model", "gpt-4.1-mini", key=None)
    assert result.returncode == 2 and "set $OPENAI_API_KEY" in result.stderr


def test_a_model_that_rejects_temperature_gets_a_hint_and_works_without_one():
    with FakeOpenAIServer(FLAKY, reject_temperature=True) as server:
        rejected = solve(server, "--disks", "3")
        accepted = solve(server, "--disks", "3", "--no-temperature", "--token-param", "max_completion_tokens", "--json")
        sent = server.requests[-1]
    assert rejected.returncode == 2 and "--no-temperature" in rejected.stderr
    assert len(rejected.stderr.strip().splitlines()) == 1
    assert accepted.returncode == 0, accepted.stderr
    assert "temperature" not in sent and sent["max_completion_tokens"] == 750 and "max_tokens" not in sent


def test_replies_without_usage_get_estimated_tokens_and_say_so():
    with FakeOpenAIServer(FLAKY, omit_usage=True) as server:
        result = solve(server, "--disks", "3", "--json", "--price-in", "0.4", "--price-out", "1.6")
    summary = json.loads(result.stdout)
    assert summary["usage_estimated"] >= summary["samples"] > 0
    assert summary["tokens_in"] > 0 and summary["tokens_out"] > 0 and summary["cost_usd"] > 0


def test_replies_without_prompt_tokens_get_them_estimated_and_say_so():
    """A server that counts only what it generates must not make the input free: cost and the
    budget would be undercounted."""
    with FakeOpenAIServer(FLAKY, omit_prompt_tokens=True) as server:
        result = solve(server, "--disks", "3", "--json", "--price-in", "0.4", "--price-out", "1.6")
        served = server.counts["completions"]
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["usage_estimated"] == served > 0
    prompt = prompt_tokens(3)
    assert summary["tokens_in"] >= served * prompt * 0.9
    assert summary["cost_usd"] > served * prompt * 0.4 / 1e6


def test_concurrency_bounds_the_requests_in_flight():
    with FakeOpenAIServer(FLAKY, delay_s=0.05) as server:
        result = solve(server, "--disks", "3", "--concurrency", "2", "--json")
        most = server.most_active
    summary = json.loads(result.stdout)
    assert result.returncode == 0 and summary["solved"]
    assert most == 2  # k = 3 go out at once, two at a time reach the server


def test_samples_no_longer_needed_are_cancelled_and_never_vote():
    with FakeOpenAIServer(FLAKY, delay_s=0.05) as server:
        result = solve(server, "--disks", "3", "--parallel", "6", "--json")
        completions = server.counts["completions"]
    summary = json.loads(result.stdout)
    assert result.returncode == 0 and summary["solved"]
    assert summary["cancelled"] > 0
    judged = summary["samples"] + sum(summary["red_flags"].values())
    # The server may finish a reply the client had already given up on: at most one per cancellation.
    assert judged <= completions <= judged + summary["cancelled"]


@pytest.mark.parametrize("model", ["flaky-model"])
def test_a_budget_stops_cleanly_and_a_resume_goes_on(tmp_path, model):
    record = tmp_path / "budget.maker"
    with FakeOpenAIServer(FLAKY) as server:
        stopped = solve(server, "--disks", "5", "--price-in", "0.4", "--price-out", "1.6", "--budget-usd", "0.004",
                        "--record", str(record), "--json")
        first = json.loads(stopped.stdout)
        assert stopped.returncode == 1 and first["stopped"] == "budget" and first["cost_usd"] <= 0.004
        assert 0 < first["steps"] < 31 and "budget of $0.00" in first["message"]
        resumed = maker("resume", str(record), "--budget-usd", "1", "--base-url", server.base_url, "--json")
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout)
    assert summary["solved"] and summary["steps"] == 31
    with Recording.open(record) as recording:
        assert recording.complete and recording.meta.model == "flaky-model"
        assert recording.meta.sampler["kind"] == "openai" and "sk-test-key" not in json.dumps(recording.meta.sampler)


def test_sim_options_are_refused_for_a_real_model():
    result = maker("solve", "--headless", "--model", "m", "--base-url", "http://127.0.0.1:9/v1", "--error-rate", "0.1")
    assert result.returncode == 2 and "--error-rate only apply" in result.stderr


def test_a_solve_through_a_server_that_decorates_every_answer_has_no_red_flag():
    """The paper's format and 44 other ways a model writes its answer, over HTTP: every one a vote."""
    with FakeOpenAIServer(SimConfig(error_rate=0.0, seed=2), decorate=True) as server:
        result = solve(server, "--disks", "5", "--json")
        used = server.forms_used
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["solved"] and summary["errors"] == 0 and summary["steps"] == 31
    assert sum(summary["red_flags"].values()) == 0
    assert set(used) == set(DECORATED) and sum(used.values()) == summary["samples"]


def test_a_server_too_slow_for_the_timeout_stops_after_the_patience_and_says_what_to_try():
    """A one-slot server's queue (llama.cpp's) keeps requests waiting past the timeout: they are
    tried again until the patience runs out, and the message says what the server last did."""
    with FakeOpenAIServer(delay_s=1.0) as server:
        result = solve(server, "--disks", "3", "--timeout", "0.2", "--patience", "2", "--json")
    assert result.returncode == 1, result.stderr
    summary = json.loads(result.stdout)
    assert summary["stopped"] == "sampler_error" and summary["steps"] == 0
    message = summary["message"]
    assert "no reply from the model server for 2 s" in message and "--patience 2 s" in message, message
    assert "no reply within 0.2 s" in message and "--concurrency 1" in message, message
    assert summary["wire"]["faults"]["timeout"] >= 2 and summary["wire"]["replies"] == 0
