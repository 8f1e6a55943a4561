"""``maker export --cast``: the replay recorded from a pseudo-terminal, played back through a
terminal emulator (pyte) to see what it drew; and bad input as one line, with no file left."""

import json
import os
import re
import sys
from pathlib import Path

import pyte
import pytest

from tests.cli_run import tui_maker
from tests.tui_helpers import DEMO
from tui import cast


def _has_a_pty() -> bool:
    try:
        master, slave = os.openpty()
    except (AttributeError, OSError):
        return False
    os.close(master)
    os.close(slave)
    return True


pytestmark = pytest.mark.skipif(not _has_a_pty(), reason="no pseudo-terminal here to record the app in")

STEP_100_DECIDED = re.compile(r"Step 100 +B WINS by 3 +21 samples")
STEP_100_LANES = {"A": 4, "B": 7, "C": 4, "D": 1, "E": 1}
"""The race of step 100 of the shipped recording: each answer's valid votes."""


def frames(events, width, height):
    """What the screen showed after each event."""
    screen = pyte.Screen(width, height)
    stream = pyte.Stream(screen)
    for _, _, text in events:
        stream.feed(text)
        yield "\n".join(screen.display)


def lanes(frame):
    """The vote tally's lanes: answer letter -> votes."""
    return {letter: int(votes) for letter, votes in re.findall(r"\s([A-E]) +(\d+) ▕", frame)}


def test_a_cast_of_three_steps_is_the_app_drawing_them(capsys, tmp_path):
    out = tmp_path / "race.cast"
    status, said, err = tui_maker(capsys, "export", DEMO, "--cast", out, "--steps", "98-100", "--size", "100x30",
                                  "--speed", "200")
    assert (status, err) == (0, "")
    assert said.startswith(f"wrote {out}: steps 98-100") and said.count("\n") == 1
    header, *events = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert (header["version"], header["width"], header["height"]) == (2, 100, 30)
    assert header["title"] == f"maker replay {DEMO.name}, steps 98-100"  # no folder of the maker's own
    assert events and all(kind == "o" and isinstance(text, str) for _, kind, text in events)
    times = [t for t, _, _ in events]
    assert times == sorted(times) and times[0] == 0
    assert not list(tmp_path.glob(".*.part"))

    drawn = [frame for frame in frames(events, 100, 30) if "Vote tally" in frame]
    assert drawn, "the cast never drew the app"
    decided = [frame for frame in drawn if STEP_100_DECIDED.search(frame)]
    assert decided, "no frame shows step 100 decided:\n" + drawn[-1]
    assert lanes(decided[0]) == STEP_100_LANES
    assert " replay " in decided[0].splitlines()[0]
    assert re.search(r"steps +100/1,023", decided[0])
    # the replay ends on step 100, decided: no later step is ever drawn
    assert drawn[-1] == decided[-1]
    assert not any(re.search(r"Step 10[1-9]\b", frame) for frame in drawn)


@pytest.mark.parametrize(("args", "says"), [
    (["--steps", "2000-2100"], "--steps 2000-2100: {demo} holds steps 1 to 1,023"),
    (["--size", "12x"], "'12x' is not COLSxROWS"),
    (["--size", "10x10"], "10x10 is out of range"),
    (["--steps", "1024"], "--steps 1024: {demo} holds steps 1 to 1,023"),
    (["--theme", "nosuch"], "--theme nosuch: no such theme (there are "),
])
def test_bad_input_is_one_line_and_no_file(capsys, tmp_path, args, says):
    out = tmp_path / "x.cast"
    status, said, err = tui_maker(capsys, "export", DEMO, "--cast", out, *args)
    assert status == 2 and said == ""
    assert err.count("\n") == 1 and says.format(demo=DEMO) in err
    assert list(tmp_path.iterdir()) == []


def test_a_folder_that_is_not_there_is_one_line_and_no_file(capsys, tmp_path):
    out = tmp_path / "missing" / "x.cast"
    status, said, err = tui_maker(capsys, "export", DEMO, "--cast", out, "--steps", "1-2")
    assert status == 2 and said == ""
    assert err == f"maker: error: cannot write {out}: {out.parent} does not exist\n"
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_folder_is_one_line_and_no_file(capsys, tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir(mode=0o500)
    if os.access(folder, os.W_OK):  # root writes in any folder, but not in sysfs
        folder = Path("/sys")
        if not folder.is_dir():
            pytest.skip("root, and no /sys: no folder here that this user cannot write in")
    before = set(folder.iterdir())
    status, said, err = tui_maker(capsys, "export", DEMO, "--cast", folder / "x.cast", "--steps", "1-2")
    assert status == 2 and said == ""
    assert err == f"maker: error: cannot write {folder / 'x.cast'} (Permission denied)\n"
    assert set(folder.iterdir()) == before


def test_an_existing_file_is_kept(capsys, tmp_path):
    out = tmp_path / "x.cast"
    out.write_text("mine")
    status, _, err = tui_maker(capsys, "export", DEMO, "--cast", out, "--steps", "1-2")
    assert status == 2 and err == f"maker: error: {out} already exists\n"
    assert out.read_text() == "mine"


@pytest.mark.parametrize(("code", "status", "says"), [
    (2, 2, "maker: error: no such theme\n"),
    (3, 3, "maker: error: the replay failed (exit status 3): no such theme; no cast written\n"),
])
def test_a_replay_that_fails_is_one_line_and_no_file(capsys, tmp_path, monkeypatch, code, status, says):
    failing = f"import sys; print('\\x1b[1mmaker: error: no such theme\\x1b[0m', file=sys.stderr); sys.exit({code})"
    monkeypatch.setattr(cast, "_command", lambda *args: [sys.executable, "-c", failing])
    out = tmp_path / "x.cast"
    assert tui_maker(capsys, "export", DEMO, "--cast", out, "--steps", "1-2") == (status, "", says)
    assert list(tmp_path.iterdir()) == []


def test_a_replay_that_falls_silent_is_stopped_with_one_line_and_no_file(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(cast, "_command", lambda *args: [sys.executable, "-c", "import time; time.sleep(60)"])
    monkeypatch.setattr(cast, "QUIET_S", 0.5)
    out = tmp_path / "x.cast"
    status, said, err = tui_maker(capsys, "export", DEMO, "--cast", out, "--steps", "1-2", "--speed", "full")
    assert (status, said) == (3, "")
    assert err == f"maker: error: the replay wrote nothing for 0.5 s; no cast written to {out}\n"
    assert list(tmp_path.iterdir()) == []
