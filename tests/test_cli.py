"""The headless command line: JSON output, exit codes, and one-line errors."""

import json
import subprocess
import sys

import pytest

REQUIRED_KEYS = {
    "disks", "k", "steps", "errors", "solved", "samples", "red_flags", "cancelled",
    "tokens_in", "tokens_out", "cost_usd", "wall_s",
}


def maker(*args):
    return subprocess.run([sys.executable, "-m", "engine.cli", *args], capture_output=True, text=True, timeout=120)


def test_solve_json_prints_one_object_with_the_summary_keys():
    result = maker("solve", "--headless", "--disks", "6", "--seed", "1", "--error-rate", "0.05", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert REQUIRED_KEYS <= summary.keys()
    assert summary["disks"] == 6 and summary["steps"] == 63 and summary["solved"] is True
    assert summary["errors"] == 0 and summary["samples"] >= 3 * 63
    assert set(summary["red_flags"]) == {"too_long", "no_move", "no_state", "bad_move", "bad_state", "empty"}
    assert summary["cost_usd"] > 0


def test_an_unsolved_run_exits_1_with_its_reason():
    result = maker(
        "solve", "--headless", "--disks", "5", "--k", "5", "--error-rate", "0", "--hard-steps", "9",
        "--hard-error-rate", "0.9", "--error-kinds", "wrong_state", "--json",
    )
    assert result.returncode == 1
    summary = json.loads(result.stdout)
    assert summary["stopped"] == "undecided" and summary["undecided"]["step"] == 9


@pytest.mark.parametrize(
    "args",
    [
        ["solve", "--disks", "zero"],
        ["solve", "--disks", "31"],
        ["solve", "--k", "0"],
        ["solve", "--error-rate", "1.5"],
        ["solve", "--error-kinds", "typo=1"],
        ["solve", "--hard-steps", "a,b"],
        ["solve", "--k", "5", "--max-votes", "3"],
        ["solve", "--model", "no-such-model"],
        ["solve", "--bogus"],
        ["plan", "--p", "two"],
        ["plan", "--steps", "100"],
        ["plan", "--disks", "5", "--steps", "3"],
    ],
)
def test_bad_input_gets_one_line_and_exit_2(args):
    result = maker(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("maker: error:"), result.stderr
    assert "Traceback" not in result.stderr


def test_plan_json_lists_the_paper_models_with_their_k_min():
    result = maker("plan", "--json")
    assert result.returncode == 0
    rows = json.loads(result.stdout)
    assert [row["k_min"] for row in rows] == [29, 4, 3, 3, 12, None, 6, 15, 6, 6]
    assert {"model", "p", "k_min", "cost_usd"} <= rows[0].keys()


def test_plan_for_one_model():
    result = maker("plan", "--p", "0.95", "--disks", "20", "--target", "0.95", "--json", "--model", "gpt-4.1-mini")
    (row,) = json.loads(result.stdout)
    assert row["k_min"] == 6 and row["cost_usd"] > 0
    unknown = json.loads(maker("plan", "--p", "0.95", "--steps", "1000", "--json").stdout)[0]
    assert unknown["cost_usd"] is None and unknown["k_min"] is not None


def test_plan_projects_the_wall_clock_with_and_without_lookahead():
    result = maker("plan", "--model", "gpt-4.1-mini", "--latency", "1.0", "--concurrency", "256", "--rpm", "10000",
                   "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [row["model"] for row in rows] == ["gpt-4.1-mini (temp 1.0)", "gpt-4.1-mini (temp 0.1)"]
    row = rows[1]
    steps, samples = 1_048_575, row["expected_samples_per_step"]
    # One step at a time: a 1 s round trip per round of k votes; 12 days, as the paper's authors say.
    assert row["wall_s"] == pytest.approx(steps * samples / 3 * 1.0)
    assert 11.5 < row["wall_s"] / 86400 < 13
    # Lookahead 32 (the default): (32 + 1) x 3 = 99 requests in flight, under the 256 allowed
    # and under 10,000 a minute (167 a second).
    assert row["wall_lookahead_s"] == pytest.approx(steps * samples / 99)
    filled = json.loads(maker("plan", "--model", "gpt-4.1-mini", "--latency", "1.0", "--concurrency", "256",
                              "--rpm", "10000", "--lookahead", "85", "--json").stdout)[1]
    assert filled["wall_lookahead_s"] == pytest.approx(steps * samples * 60 / 10000)  # the rpm binds
    text = maker("plan", "--model", "gpt-4.1-mini", "--latency", "1.0", "--concurrency", "256").stdout
    assert "12.2 days" in text and "--lookahead 85 would keep all 256 requests in flight" in text


def test_plan_wall_clock_options_need_a_latency_and_a_known_model():
    for args in (("--rpm", "600"), ("--model", "no-such-model", "--latency", "1")):
        result = maker("plan", *args)
        assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr


def test_help_explains_the_options():
    result = maker("solve", "--help")
    assert result.returncode == 0
    for option in ("--disks", "--k", "--error-rate", "--max-tokens", "--stop-on-error", "--json"):
        assert option in result.stdout
