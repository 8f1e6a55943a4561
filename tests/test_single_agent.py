"""One agent alone: each step's first sample (temperature 0), with no vote. ``maker info`` and
``maker solve`` say where it would have failed; the figures are checked here against a count
made independently from ``maker export``'s lines."""

import json
import math
from pathlib import Path

import pytest

from engine.run.single_agent import chance_text, single_agent_log10_chance, single_agent_text
from engine.task.verdict import right_answer
from tests.cli_run import maker

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "recordings" / "demo-10.maker"




@pytest.fixture(autouse=True)
def _eighty_columns(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")


def _as_state(pegs):
    return tuple(tuple(peg) for peg in pegs)


def count_alone(lines):
    """(first wrong step, wrong steps, steps) of the lone agent, from exported steps."""
    first_wrong, wrong, steps = None, 0, 0
    for line in lines:
        record = json.loads(line)
        firsts = [sample for sample in record["samples"] if sample["first"]]
        assert len(firsts) <= 1
        if not firsts or firsts[0]["cancelled"]:
            continue
        (first,) = firsts
        steps += 1
        previous = None if record["previous_move"] is None else tuple(record["previous_move"])
        right = right_answer(_as_state(record["state"]), previous)
        vote = first["vote"]
        if vote is None or right is None or (tuple(vote["move"]), _as_state(vote["next_state"])) != tuple(right):
            wrong += 1
            if first_wrong is None:
                first_wrong = record["step"]
    return first_wrong, wrong, steps


def exported_lines(capsys, path):
    status, out, err = maker(capsys, "export", path, "--jsonl")
    assert status == 0, err
    return out.splitlines()


def test_info_gives_the_lone_agent_of_the_shipped_recording(capsys):
    lines = exported_lines(capsys, DEMO)
    for line in lines[:50]:
        record = json.loads(line)
        assert all("first" in sample for sample in record["samples"])
        firsts = [sample for sample in record["samples"] if sample["first"]]
        assert len(firsts) == 1 and firsts[0]["index"] == 0
    first_wrong, wrong, steps = count_alone(lines)
    status, out, err = maker(capsys, "info", DEMO, "--json")
    assert status == 0, err
    facts = json.loads(out)
    assert facts["single_agent"] == {"first_wrong_step": first_wrong, "wrong_steps": wrong, "steps": steps}
    assert steps == facts["steps_recorded"]
    status, out, _ = maker(capsys, "info", DEMO)
    assert status == 0 and "one agent alone" in out
    flat = " ".join(out.split())
    assert single_agent_text(first_wrong, wrong, steps, facts["total_steps"], facts["errors"]) in flat


def test_a_solves_summary_gives_the_lone_agent_of_its_recording(capsys, tmp_path):
    record = tmp_path / "run.maker"
    status, out, err = maker(capsys, "solve", "--disks", 5, "--seed", 7, "--error-rate", 0.3, "--record", record,
                             "--json")
    assert status in (0, 1), err
    summary = json.loads(out)
    first_wrong, wrong, steps = count_alone(exported_lines(capsys, record))
    assert summary["single_agent"] == {"first_wrong_step": first_wrong, "wrong_steps": wrong, "steps": steps}
    assert wrong > 0 and steps == summary["steps"]  # at 30% errors, the lone agent fails somewhere in 31 steps
    status, out, _ = maker(capsys, "info", record, "--json")
    assert json.loads(out)["single_agent"] == summary["single_agent"]


def test_a_solves_text_summary_says_where_the_lone_agent_fails(capsys, tmp_path):
    status, out, err = maker(capsys, "solve", "--disks", 4, "--seed", 2, "--error-rate", 0.3)
    assert status in (0, 1), err
    assert "one agent alone" in out and "MAKER:" in " ".join(out.split())


def test_the_sentence():
    assert single_agent_text(212, 31, 1023, 1023, 0).startswith("fails at step 212 (wrong at 31 of 1,023 steps")
    assert single_agent_text(212, 31, 1023, 1023, 0).endswith("; MAKER: 0 errors")
    assert single_agent_text(None, 0, 1023, 1023) == "never wrong in 1,023 steps"
    assert "never wrong" in single_agent_text(None, 0, 10, 1023)
    assert single_agent_text(None, 0, 0, 1023) == "no step judged"
    assert "MAKER: 1 error" in single_agent_text(3, 1, 10, 10, 1)


def test_the_chance_to_finish():
    assert single_agent_log10_chance(0, 100, 1000) == 0.0
    assert single_agent_log10_chance(100, 100, 1000) == -math.inf
    assert 10 ** single_agent_log10_chance(1, 10, 2) == pytest.approx(0.81)
    assert single_agent_log10_chance(31, 1023, 2**20 - 1) == pytest.approx((2**20 - 1) * math.log10(1 - 31 / 1023))
    assert chance_text(math.log10(0.81)) == "81%"
    assert chance_text(math.log10(0.0042)) == "0.42%"
    assert chance_text(math.log10(1 / 5123)) == "1 in 5,100"
    assert chance_text(math.log10(3e-12)) == "1 in 3×10^11"
    assert chance_text(-12.0) == "1 in 10^12"
    assert chance_text(-math.inf) == "none"
    assert chance_text(single_agent_log10_chance(31, 1023, 2**20 - 1)).startswith("1 in ")
