"""Prompts: the paper's, the guided one and a user's template; the simulated model reads each;
recordings and calibrations know which prompt they were made with; caps can be lifted."""

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.models.sim import SimConfig, SimulatedLLM
from engine.recording.reader import Recording
from engine.run.session import resume_session
from engine.task.hanoi import format_move, format_state, optimal_move, state_before_step
from engine.task.parser import parse_answer
from engine.task.prompt import PromptBuilder, PromptTemplate, built_in
from tests.conftest import run_sim

ROOT = Path(__file__).resolve().parent.parent

TEMPLATE = '''\
system = """You move disks between three pegs. Answer with ```move = [disk, from, to]``` and
```next_state = [[...], [...], [...]]```."""
user = """Last time you played {previous_move}. The pegs hold {current_state} now. Your move?"""
no_previous_move = "nothing yet"
'''


def maker(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "engine.cli", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


def _messages(template, step, disks):
    previous = optimal_move(step - 1, disks) if step > 1 else None
    return PromptBuilder(template).messages(previous, state_before_step(step, disks))


def test_the_paper_prompt_gives_what_the_paper_gives_and_nothing_more():
    system, user = (message["content"] for message in _messages(built_in("paper", 20), 5, 20))
    assert "[[1, 0, 2], [2, 0, 1], [1, 2, 1], [3, 0, 2], [1, 1, 0], [2, 1, 2], [1, 0, 2]]" in system
    assert "```move = [disk id, from peg, to peg]```" in system
    assert "```next_state = [[...], [...], [...]]```" in system
    assert f"Previous move: {format_move(optimal_move(4, 20))}" in user
    assert f"Current State: {format_state(state_before_step(5, 20))}" in user
    assert "clockwise (0 -> 1 -> 2 -> 0)" in user
    for help_the_paper_never_gives in ("20 disks", "compare the top", "exactly once", "short"):
        assert help_the_paper_never_gives not in system + user
    odd = _messages(built_in("paper", 7), 1, 7)[1]["content"]
    assert "counterclockwise (0 -> 2 -> 1 -> 0)" in odd and "Previous move: none" in odd


def test_the_guided_prompt_adds_the_disk_count_and_a_procedure():
    user = _messages(built_in("guided", 20), 1, 20)[1]["content"]
    assert "This puzzle has 20 disks" in user and "compare the top disks" in user
    assert "Previous move: none (this is the first move)" in user
    assert built_in("guided", 20).digest != built_in("paper", 20).digest


FILE_TEMPLATES = {
    "unlabelled": "Last time you played {previous_move}. The pegs hold {current_state} now. Your move?",
    "labels on their own lines": "Last move:\n{previous_move}\nCurrent state:\n{current_state}\nGo.",
    "state first, in backticks": "Current state: `{current_state}`\nPrior move: `{previous_move}`",
    "an example after the values": ("Previous move: {previous_move}\nCurrent state: {current_state}\n"
                                    "For example, from [[3, 2, 1], [], []] one writes move = [1, 0, 2]."),
}


@pytest.mark.parametrize("style", ["paper", "guided", *FILE_TEMPLATES])
def test_the_simulated_model_reads_the_state_in_every_style(style):
    template = built_in(style, 9) if style in ("paper", "guided") else PromptTemplate(
        style="file", system="Answer with ```move = [d, f, t]```.", user=FILE_TEMPLATES[style],
        no_previous_move="nothing yet")
    sim = SimulatedLLM(SimConfig(error_rate=0.0))
    for step in (1, 2, 3, 4, 200, 511):
        reply = sim.complete_now(_messages(template, step, 9), 0.0, 750)
        assert parse_answer(reply.text, 9).move == optimal_move(step, 9), (style, step, reply.text)
    summary = run_sim(disks=6, seed=1, error_rate=0.05, runner_options={"prompt": template})
    assert summary.solved


def test_a_prompt_file_runs_and_is_recorded_whole(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(TEMPLATE)
    record = tmp_path / "run.maker"
    result = maker("solve", "--headless", "--disks", "5", "--prompt-file", str(path), "--record", str(record), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["solved"]
    info = json.loads(maker("info", str(record), "--json").stdout)
    with Recording.open(record) as recording:
        template = recording.meta.run.template()
    assert template.style == "file" and template.no_previous_move == "nothing yet"
    assert info["prompt_style"] == "file" and info["prompt_digest"] == template.digest


def test_a_resumed_run_asks_with_the_recorded_prompt_even_without_its_file(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(TEMPLATE)
    record = tmp_path / "run.maker"
    stopped = maker("solve", "--headless", "--disks", "6", "--prompt-file", str(path), "--budget-usd", "0.004",
                    "--record", str(record), "--json")
    assert json.loads(stopped.stdout)["stopped"] == "budget", stopped.stderr
    path.unlink()
    with Recording.open(record) as recording:
        recorded = recording.meta.run.template()
    session = resume_session(record, budget_usd=100.0)
    assert session.runner.config.template() == recorded and recorded.style == "file"
    assert asyncio.run(session.run()).solved


@pytest.mark.parametrize("text, reason", [
    ('system = "x"\nuser = "no placeholders here"', "{previous_move} exactly once"),
    ('system = "x"\nuser = "{previous_move} only"', "{current_state} exactly once"),
    ('system = "x"\nuser = "{previous_move} {current_state} {current_state}"', "exactly once (it holds it 2"),
    ('user = "{previous_move} {current_state}"', "system"),
    ('system = "x"\nuser = "{previous_move} {current_state}"\ncolour = "red"', "colour"),
    ("this is not toml = = =", "not a TOML prompt template"),
])
def test_a_bad_template_is_one_line_and_exit_2(tmp_path, text, reason):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    result = maker("solve", "--headless", "--disks", "3", "--prompt-file", str(path))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("maker: error:") and reason in lines[0], result.stderr


def test_a_missing_template_and_two_prompts_at_once_are_usage_errors(tmp_path):
    missing = maker("solve", "--headless", "--prompt-file", str(tmp_path / "none.toml"))
    both = maker("solve", "--headless", "--prompt", "paper", "--prompt-file", str(tmp_path / "none.toml"))
    assert missing.returncode == 2 and "no such file" in missing.stderr
    assert both.returncode == 2 and "not allowed with" in both.stderr


def test_a_calibration_made_with_another_prompt_is_said_so(tmp_path):
    out = tmp_path / "guided.json"
    made = maker("calibrate", "--prompt", "guided", "--error-rate", "0.1", "--samples", "200", "--disks", "8",
                 "--out", str(out), "--json")
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["prompt_style"] == "guided"
    run = maker("solve", "--headless", "--disks", "6", "--k", "auto", "--calibration", str(out), "--json")
    assert run.returncode == 0 and "made with guided" in run.stderr and "this run asks with paper" in run.stderr
    same = maker("solve", "--headless", "--disks", "8", "--prompt", "guided", "--k", "auto", "--calibration", str(out),
                 "--json")
    assert same.returncode == 0 and "note" not in same.stderr
    plan = maker("plan", "--calibration", str(out), "--json")
    assert plan.returncode == 0 and "made with guided" in plan.stderr


def test_plan_counts_the_input_tokens_of_the_chosen_prompt():
    paper = json.loads(maker("plan", "--json").stdout)
    guided = json.loads(maker("plan", "--prompt", "guided", "--json").stdout)
    assert paper[0]["tokens_in"] < guided[0]["tokens_in"]
    assert [row["k_min"] for row in paper] == [row["k_min"] for row in guided]


def test_without_a_vote_cap_a_hard_step_is_sampled_until_it_is_decided():
    """Step 9 is answered right 30% of the time, the wrong answers scattered: with a cap of 5 votes
    it stays open; with no cap (the paper's way) the right answer gets ahead by k."""
    hard = {"hard_steps": (9,), "hard_error_rate": 0.7, "error_kinds": {"wrong_state": 1.0}, "error_rate": 0.0}
    capped = run_sim(disks=5, k=2, seed=1, runner_options={"max_votes_per_step": 5}, **hard)
    free = run_sim(disks=5, k=2, seed=1, runner_options={"max_votes_per_step": None}, **hard)
    assert capped.stopped == "undecided" and capped.undecided.step == 9
    assert free.solved and free.votes_histogram and max(free.votes_histogram) > 5


@pytest.mark.parametrize("cap, flag", [("--max-votes", "wrong_state"), ("--max-red-flags", "malformed")])
def test_zero_lifts_a_cap_on_the_command_line(cap, flag):
    """The same hard step, capped at 5 and uncapped: the first run ends undecided, the second solves."""
    hard = ["--disks", "5", "--k", "2", "--hard-steps", "9", "--hard-error-rate", "0.7", "--error-rate", "0",
            "--error-kinds", flag, "--seed", "1", "--json"]
    capped = maker("solve", "--headless", cap, "5", *hard)
    free = maker("solve", "--headless", cap, "0", *hard)
    assert capped.returncode == 1 and json.loads(capped.stdout)["undecided"]["step"] == 9, capped.stderr
    assert free.returncode == 0 and json.loads(free.stdout)["solved"], free.stderr
