"""Odd replies over HTTP, through the fake server: each is a red flag or a retried fault, never a
crash, and never a vote."""

import json

from engine.models.sim import SimConfig
from tests.fake_openai import FakeOpenAIServer, Faults
from tests.test_openai import solve

RIGHT = SimConfig(error_rate=0.0, seed=3)
"""A model that is always right: every red flag below is one the server was made to send."""


def test_empty_replies_cut_at_the_limit_are_too_long_and_tool_calls_and_empty_ones_are_empty():
    odd = Faults(empty_cut=0.1, tool_calls=0.1, empty=0.05)
    with FakeOpenAIServer(RIGHT, odd, seed=2) as server:
        result = solve(server, "--disks", "5", "--json")
        counts = server.counts
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout)
    assert summary["solved"] and summary["errors"] == 0
    flags = summary["red_flags"]
    assert flags["too_long"] == counts["empty_cut"] > 0
    assert flags["empty"] == counts["tool_calls"] + counts["empty"] > counts["tool_calls"] > 0
    assert sum(flags.values()) == flags["too_long"] + flags["empty"]  # nothing else was flagged
    assert not summary["wire"]["faults"]  # red flags, not faults: nothing was retried


def test_a_megabyte_reply_is_too_long_whatever_usage_the_server_claims():
    with FakeOpenAIServer(RIGHT, Faults(huge=0.1), seed=4) as server:
        result = solve(server, "--disks", "4", "--json")
        huge = server.counts["huge"]
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout)
    assert summary["solved"] and summary["red_flags"]["too_long"] == huge > 0
    assert summary["samples"] == 3 * 15  # every vote a right one; none of the huge replies voted


def test_a_stream_nobody_asked_for_is_a_bad_body_retried():
    with FakeOpenAIServer(RIGHT, Faults(stream=0.1), seed=5) as server:
        result = solve(server, "--disks", "4", "--json")
        streams = server.counts["stream"]
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout)
    assert summary["solved"] and summary["wire"]["faults"]["bad_body"] == streams > 0
    assert sum(summary["red_flags"].values()) == 0


def test_a_server_that_only_streams_ends_the_run_in_one_clear_line():
    with FakeOpenAIServer(RIGHT, Faults(stream=1.0)) as server:
        result = solve(server, "--disks", "3", "--retries", "2", "--json")
    assert result.returncode == 1, result.stderr[-2000:]
    summary = json.loads(result.stdout)
    assert summary["stopped"] == "sampler_error" and "Traceback" not in result.stderr
    assert "kept sending unusable replies (bad_body" in summary["message"] and "after 2 retries" in summary["message"]
