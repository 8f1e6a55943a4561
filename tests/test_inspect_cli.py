"""``maker inspect`` and ``maker export --steps``, run in-process through the ``maker`` entry point.

Figures of the shipped recording are never written down here: the recording is remade now and
then, so every expected value is computed from the task itself or read from the recording."""

import json
import re
from pathlib import Path

import pytest

from engine.recording.reader import Recording
from engine.task.hanoi import format_move, format_state, optimal_move, state_before_step
from tests.cli_run import maker

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "recordings" / "demo-10.maker"
SAMPLE_KEYS = {"index", "temperature", "text", "move", "next_state", "red_flag", "tokens_in", "tokens_out", "verdict"}




@pytest.fixture(autouse=True)
def _eighty_columns(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.delenv("FORCE_COLOR", raising=False)


def demo_steps():
    with Recording.open(DEMO) as recording:
        return len(recording)


def words(text):
    return " ".join(text.split())


def test_inspect_json_shows_the_messages_as_sent_and_judges_every_sample(capsys):
    status, out, err = maker(capsys, "inspect", DEMO, "--step", 100, "--json")
    assert status == 0, err
    facts = json.loads(out)
    roles = [message["role"] for message in facts["messages"]]
    assert roles == ["system", "user"]
    user = facts["messages"][1]["content"]
    shown = state_before_step(100, 10)
    assert format_state(shown) in user and format_move(optimal_move(99, 10)) in user
    right = (list(optimal_move(100, 10)), [list(peg) for peg in state_before_step(101, 10)])
    assert facts["samples"] and facts["undecided"] is False
    for sample in facts["samples"]:
        assert SAMPLE_KEYS <= sample.keys()
        assert {"correct", "why"} <= sample["verdict"].keys() and sample["verdict"]["why"]
        if sample["red_flag"] is not None:
            assert sample["move"] is None and sample["verdict"]["correct"] is False
        elif sample["move"] is not None:
            assert sample["verdict"]["correct"] == ((sample["move"], sample["next_state"]) == right)
    assert any(sample["text"] for sample in facts["samples"])
    assert [sample["index"] for sample in facts["samples"]] == list(range(len(facts["samples"])))
    assert sum(sample.get("first", False) for sample in facts["samples"]) == 1


def test_inspect_one_sample_as_json(capsys):
    status, out, _ = maker(capsys, "inspect", DEMO, "--step", 100, "--sample", 0, "--json")
    assert status == 0
    (sample,) = json.loads(out)["samples"]
    assert sample["index"] == 0


def test_inspect_text_at_80_columns_says_every_verdict(capsys):
    status, out, err = maker(capsys, "inspect", DEMO, "--step", 100)
    assert status == 0, err
    _, facts, _ = maker(capsys, "inspect", DEMO, "--step", 100, "--json")
    facts = json.loads(facts)
    assert all(len(line) <= 80 for line in out.splitlines())
    flat = words(out)
    assert "system message" in flat and "user message" in flat
    assert words(facts["messages"][1]["content"]) in flat
    for sample in facts["samples"]:
        assert words(sample["verdict"]["why"]) in flat
        assert f"sample {sample['index']}:" in flat
    if any(sample["verdict"]["correct"] is False for sample in facts["samples"]):
        assert "wrong:" in flat


def test_inspect_text_of_one_sample(capsys):
    status, out, _ = maker(capsys, "inspect", DEMO, "--step", 1, "--sample", 0)
    assert status == 0
    assert "sample 0:" in out and "sample 1:" not in out and "verdict" in out


@pytest.mark.parametrize("args", [
    ["--step", "0"],
    ["--step", "beyond"],
    ["--step", "100", "--sample", "many"],
    ["--step", "100", "--sample", "-1"],
    ["--step", "x"],
    [],
])
def test_inspect_bad_input_is_one_line_and_exit_2(capsys, args):
    count = json.loads(maker(capsys, "inspect", DEMO, "--step", 100, "--json")[1])["samples"]
    args = [{"beyond": str(demo_steps() + 1), "many": str(len(count))}.get(arg, arg) for arg in args]
    status, _, err = maker(capsys, "inspect", DEMO, *args)
    assert status == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("maker: error:"), err
    assert "Traceback" not in err


@pytest.mark.parametrize("name", ["missing.maker", "not-a-recording.maker"])
def test_inspect_a_bad_file_is_one_line_and_exit_2(capsys, tmp_path, name):
    path = tmp_path / name
    if name.startswith("not"):
        path.write_text("hello\n" * 100)
    status, _, err = maker(capsys, "inspect", path, "--step", 1)
    assert status == 2 and len(err.strip().splitlines()) == 1 and err.startswith("maker: error:")
    assert "Traceback" not in err


def test_inspect_the_undecided_step_a_run_stopped_on(capsys, tmp_path):
    record = tmp_path / "stuck.maker"
    status, out, err = maker(capsys, "solve", "--disks", 5, "--k", 5, "--error-rate", 0, "--hard-steps", 9,
                             "--hard-error-rate", 0.9, "--error-kinds", "wrong_state", "--record", record, "--json")
    assert status == 1 and json.loads(out)["stopped"] == "undecided", err
    with Recording.open(record) as recording:
        decided, keep_text = len(recording), recording.meta.keep_text
    assert not keep_text
    status, out, err = maker(capsys, "inspect", record, "--step", decided + 1, "--json")
    assert status == 0, err
    facts = json.loads(out)
    assert facts["undecided"] is True and facts["decided"] is None and facts["step"] == decided + 1
    not_kept = [sample for sample in facts["samples"] if sample["text"] is None]
    assert not_kept and all("not kept" in sample["text_note"] for sample in not_kept)
    status, out, _ = maker(capsys, "inspect", record, "--step", decided + 1)
    assert status == 0
    flat = words(out)
    assert "undecided" in flat and "--keep-text keeps all" in flat and "not kept" in flat
    status, _, err = maker(capsys, "inspect", record, "--step", decided + 2)
    assert status == 2 and err.startswith("maker: error:")


def test_inspect_help_has_an_example(capsys):
    status, out, _ = maker(capsys, "inspect", "--help")
    assert status == 0 and "example: maker inspect" in out and "--sample" in out


def exported(capsys, *args):
    status, out, err = maker(capsys, "export", DEMO, "--jsonl", *args)
    assert status == 0, err
    return [json.loads(line) for line in out.splitlines()]


def test_export_a_range_of_steps(capsys):
    assert [step["step"] for step in exported(capsys, "--steps", "100-102")] == [100, 101, 102]
    assert [step["step"] for step in exported(capsys, "--steps", "5")] == [5]
    last = demo_steps()
    assert [step["step"] for step in exported(capsys, "--steps", f"{last - 1}-{last}")] == [last - 1, last]


def test_export_of_a_range_reads_no_step_after_it(capsys, monkeypatch):
    made = []
    original = Recording._record

    def counting(self, step, *args):
        made.append(step)
        return original(self, step, *args)

    monkeypatch.setattr(Recording, "_record", counting)
    assert len(exported(capsys, "--steps", "100-102")) == 3
    assert max(made) == 102


@pytest.mark.parametrize("steps", ["0", "5-3", "x", "1-", "-4", "2-y", "beyond", "1-beyond"])
def test_export_bad_ranges_are_one_line_and_exit_2(capsys, steps):
    steps = steps.replace("beyond", str(demo_steps() + 1))
    status, out, err = maker(capsys, "export", DEMO, "--jsonl", f"--steps={steps}")
    assert status == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("maker: error:"), err


def test_export_needs_no_format_flag_and_maker_says_its_version(capsys):
    status, out, err = maker(capsys, "export", DEMO, "--steps", "7")
    assert status == 0, err
    assert [json.loads(line)["step"] for line in out.splitlines()] == [7]
    status, out, _ = maker(capsys, "--version")
    assert status == 0 and re.fullmatch(r"maker (\d+\.\d+\.\d+\S*|unknown)\n", out)
    status, out, _ = maker(capsys, "calibrate", "--help")
    assert status == 0 and "95% Wilson" in out and "%%" not in out
