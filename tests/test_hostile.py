"""What a hostile user tries: odd paths, a key that cannot be sent, a run too big to start by
accident. Each gets one line and exit 2, or the right thing, never a traceback."""

import os
import subprocess
import sys

import pytest

from tests.test_openai import ROOT, maker


@pytest.mark.parametrize(("record", "said"), [
    ("newdir/", "names a folder, which does not exist"),
    ("", "needs a file name"),
    ("/dev/full", "is not a regular file"),
    (".", "is a folder"),
])
def test_a_recording_path_that_cannot_be_a_recording_is_one_line(tmp_path, record, said):
    result = maker("solve", "--headless", "--disks", "3", "--record", record, cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and said in result.stderr, result.stderr
    assert list(tmp_path.iterdir()) == []  # nothing was made (before: a file called "newdir")
    assert "maker resume" not in result.stderr


def test_an_unwritable_runs_folder_says_so_and_suggests_record(tmp_path):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the data folder should be")
    env = dict(os.environ, XDG_DATA_HOME=str(blocked), OPENAI_API_KEY="sk-test")
    result = subprocess.run([sys.executable, "-m", "tui.cli", "solve", "--model", "m", "--base-url",
                             "http://127.0.0.1:9/v1"], capture_output=True, text=True, env=env, timeout=60, cwd=ROOT)
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "cannot make the folder for this run's recording" in result.stderr and "--record FILE" in result.stderr


@pytest.mark.parametrize("key", ["sk-abc\u00e9def", "sk-abc\ndef", "sk-\u200babc"])
def test_a_key_an_http_header_cannot_carry_is_a_usage_error_that_never_shows_the_key(key):
    result = maker("solve", "--headless", "--model", "gpt-4.1-mini", key=key)
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "$OPENAI_API_KEY holds characters an HTTP header cannot carry" in result.stderr
    assert "abc" not in result.stderr and "position" not in result.stderr


def test_a_reversed_k_range_is_named():
    result = maker("revote", "recordings/demo-10.maker", "--k", "3-1")
    assert result.returncode == 2 and "the range runs backwards (did you mean 1-3?)" in result.stderr


def test_more_than_24_disks_ask_for_yes_and_say_what_they_would_take(tmp_path):
    result = maker("solve", "--headless", "--disks", "30", "--record", str(tmp_path / "big.maker"))
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "1,073,741,823 steps" in result.stderr and " h on the simulated model" in result.stderr
    assert "GiB" in result.stderr and "--yes" in result.stderr
    assert not os.path.exists(tmp_path / "big.maker")
    started = maker("solve", "--headless", "--disks", "25", "--yes", "--budget-usd", "0.001", "--json")
    assert started.returncode == 1 and '"stopped":"budget"' in started.stdout  # it ran
