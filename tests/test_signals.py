"""SIGTERM (a kill) and SIGHUP (a closed terminal) stop a run as ``q`` and Ctrl-C do: every decided
step is recorded with the last stop, ``--json`` prints its summary, the terminal is restored, the
hint to resume is printed, and the run resumes to zero audit errors.

Each run is a real process: headless on pipes, the TUI on a pseudo-terminal. The simulated model
answers after a few milliseconds, so a run is still going when its first block is on disk; the
waits are bounded and only turn a hang into a failure.
"""

import contextlib
import fcntl
import json
import os
import pty
import re
import select
import signal
import sqlite3
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from engine.cli.terminal import signal_exit_status
from tests.tui_helpers import DEMO, ROOT

WAIT_S = 20.0
"""The most any step of these tests waits: for a run to start, to stop, or to resume."""
LATENCY = ["--latency", "0.005"]
"""Slow enough that a run is still going after its first block, fast enough to resume in seconds."""
RESTORED = {"leave the alternate screen": "\x1b[?1049l", "show the cursor": "\x1b[?25h",
            "stop mouse tracking": "\x1b[?1000l"}
SIZE = struct.pack("HHHH", 30, 100, 0, 0)


def _env():
    return {name: value for name, value in os.environ.items() if not name.startswith("OPENAI_")} | {
        "TERM": "xterm-256color", "TEXTUAL_ANIMATIONS": "none"}


def _until(predicate, what):
    deadline = time.monotonic() + WAIT_S
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def _blocks(record: Path) -> int:
    """Blocks of decided steps committed to a recording being written (0 before it has any)."""
    try:
        connection = sqlite3.connect(f"file:{record}?mode=ro", uri=True, timeout=0.1)
        try:
            return connection.execute("SELECT count(*) FROM blocks").fetchone()[0]
        finally:
            connection.close()
    except sqlite3.Error:
        return 0


def _maker(*args, timeout=WAIT_S):
    return subprocess.run([sys.executable, "-m", "engine.cli", *args], cwd=ROOT, env=_env(), capture_output=True,
                          text=True, timeout=timeout, check=False)


def _info(record: Path) -> dict:
    result = _maker("info", str(record), "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _decided_before_the_stop(info: dict) -> int:
    """The steps the engine had decided when it stopped, from its own last message ("stopped by
    request during step N" or "before step N"): the steps before N, for a run from step 1."""
    assert info["last_stop"] == "stopped", info["last_message"]
    found = re.search(r"(?:during|before) step ([\d,]+)", info["last_message"])
    assert found, info["last_message"]
    return int(found.group(1).replace(",", "")) - 1


def _resumes_to_zero_errors(record: Path) -> None:
    result = _maker("resume", str(record), "--headless", "--json", timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout)
    assert summary["solved"] and summary["errors"] == 0 and summary["steps"] == summary["total_steps"]
    info = _info(record)
    assert info["complete"] and info["errors"] == 0 and info["last_stop"] == "solved"


def _no_crash_logs() -> None:
    logs = Path(os.environ["XDG_STATE_HOME"]) / "maker" / "logs"
    assert not logs.exists() or not any(logs.iterdir()), "a crash log was written"


# -- headless ----------------------------------------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_signal_stops_a_headless_run_which_records_every_step_and_resumes(tmp_path, signum):
    record = tmp_path / "signalled.maker"
    command = [sys.executable, "-m", "engine.cli", "solve", "--headless", "--disks", "13", *LATENCY,
               "--record", str(record), "--json"]
    process = subprocess.Popen(command, cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        _until(lambda: _blocks(record) >= 1 or process.poll() is not None, "the first block")
        assert process.poll() is None, "the run ended before the signal"
        process.send_signal(signum)
        out, err = process.communicate(timeout=WAIT_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == signal_exit_status(signum) == 128 + signum, err[-2000:]
    summary = json.loads(out)
    assert summary["stopped"] == "stopped" and 0 < summary["steps"] < summary["total_steps"]
    info = _info(record)
    assert info["last_stop"] == "stopped" and info["steps_recorded"] == summary["steps"]
    assert _decided_before_the_stop(info) == summary["steps"]
    _no_crash_logs()
    _resumes_to_zero_errors(record)


def _start(record: Path, *extra: str, **popen) -> subprocess.Popen:
    command = [sys.executable, "-m", "engine.cli", "solve", "--headless", "--disks", "13", *LATENCY,
               "--record", str(record), *extra]
    return subprocess.Popen(command, cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **popen)


def test_ctrl_c_without_json_prints_the_summary_and_the_hint_and_exits_130(tmp_path):
    """Started as a shell starts a background job (Ctrl-C ignored): a SIGINT sent to it still stops it."""
    record = tmp_path / "interrupted.maker"

    def as_a_background_job():
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    process = _start(record, preexec_fn=as_a_background_job)
    try:
        _until(lambda: _blocks(record) >= 1 or process.poll() is not None, "the first block")
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=WAIT_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, err[-2000:]
    assert "stopped by request" in out and f"continue with: maker resume {record}" in out
    assert _info(record)["last_stop"] == "stopped"


def test_under_nohup_a_hang_up_leaves_the_run_going(tmp_path):
    """nohup ignores SIGHUP so that a long run outlives its terminal: it stays ignored."""
    record = tmp_path / "nohup.maker"

    def as_nohup_does():
        signal.signal(signal.SIGHUP, signal.SIG_IGN)

    process = _start(record, "--json", preexec_fn=as_nohup_does)
    try:
        _until(lambda: _blocks(record) >= 1 or process.poll() is not None, "the first block")
        process.send_signal(signal.SIGHUP)
        _until(lambda: _blocks(record) >= 3 or process.poll() is not None, "more blocks after the hang-up")
        assert process.poll() is None  # still going
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=WAIT_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 128 + signal.SIGTERM and json.loads(out)["stopped"] == "stopped"


# -- on a terminal -------------------------------------------------------------------------------


class Terminal:
    """A command on a pseudo-terminal of its own (its controlling terminal, as a shell's job has),
    and everything it writes there."""

    def __init__(self, *args: str) -> None:
        env = _env()
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: size its terminal, then become the command
            try:
                os.chdir(ROOT)
                fcntl.ioctl(0, termios.TIOCSWINSZ, SIZE)
                os.execve(sys.executable, [sys.executable, *args], env)
            finally:
                os._exit(127)
        self.output = bytearray()
        self.status: int | None = None

    def read(self, timeout: float) -> bool:
        """Read what the command wrote within ``timeout``; False at the end (the terminal closed)."""
        if self.fd < 0:
            return False
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return True
        try:
            data = os.read(self.fd, 65536)
        except OSError:  # EIO: the command has closed its side
            data = b""
        self.output.extend(data)
        return bool(data)

    def read_until(self, predicate, what: str) -> None:
        deadline = time.monotonic() + WAIT_S
        while not predicate():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            if not self.read(0.05):
                assert predicate(), f"the command ended before {what}: {self.text()[-1000:]!r}"

    def read_to_the_end(self) -> None:
        deadline = time.monotonic() + WAIT_S
        while self.read(0.2):
            assert time.monotonic() < deadline, "the command never closed its terminal"

    def hang_up(self) -> None:
        """Close the terminal, as closing its window does: the kernel sends the command SIGHUP."""
        os.close(self.fd)
        self.fd = -1

    def wait(self) -> int:
        """The command's exit status; fails if a signal killed it."""
        deadline = time.monotonic() + WAIT_S
        while True:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                break
            assert time.monotonic() < deadline, "the command did not exit"
            time.sleep(0.02)
        self.status = status
        assert os.WIFEXITED(status), f"killed by signal {os.WTERMSIG(status)}"
        return os.WEXITSTATUS(status)

    def text(self) -> str:
        return self.output.decode("utf-8", "replace")

    def close(self) -> None:
        if self.status is None:
            with contextlib.suppress(ProcessLookupError, ChildProcessError):
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _assert_restored(text: str) -> None:
    tail = text[text.rfind("\x1b[?1049h"):]  # after the app entered the alternate screen
    for what, sequence in RESTORED.items():
        assert sequence in tail, f"the terminal was not told to {what}"


def _live(record: Path) -> Terminal:
    return Terminal("-m", "tui.cli", "solve", "--disks", "12", *LATENCY, "--record", str(record), "--speed", "full")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_signal_quits_the_tui_as_q_does_and_the_run_resumes(tmp_path, signum):
    record = tmp_path / "live.maker"
    terminal = _live(record)
    try:
        terminal.read_until(lambda: _blocks(record) >= 1, "the first block")
        os.kill(terminal.pid, signum)
        terminal.read_to_the_end()
        status = terminal.wait()
    finally:
        terminal.close()
    text = terminal.text()
    assert status == 128 + signum, text[-2000:]
    _assert_restored(text)
    assert f"continue with: maker resume {record}" in text
    info = _info(record)
    assert 0 < info["steps_recorded"] < info["total_steps"]
    assert info["steps_recorded"] == _decided_before_the_stop(info)
    _no_crash_logs()
    _resumes_to_zero_errors(record)


@pytest.mark.parametrize("headless", [False, True], ids=["tui", "headless"])
def test_closing_the_terminal_stops_the_run_and_keeps_its_steps(tmp_path, headless):
    """The terminal goes away for real: the kernel sends SIGHUP (and SIGCONT), and every write to
    the terminal fails from then on. The run still stops cleanly, and nothing hangs on the writes."""
    record = tmp_path / "hung-up.maker"
    if headless:  # its progress bar is on the terminal
        terminal = Terminal("-m", "tui.cli", "solve", "--headless", "--disks", "13", *LATENCY, "--record", str(record))
    else:
        terminal = _live(record)
    try:
        terminal.read_until(lambda: _blocks(record) >= 1, "the first block")
        terminal.hang_up()
        status = terminal.wait()
    finally:
        terminal.close()
    assert status == 128 + signal.SIGHUP
    info = _info(record)
    assert 0 < info["steps_recorded"] == _decided_before_the_stop(info)
    _no_crash_logs()
    _resumes_to_zero_errors(record)


@pytest.mark.parametrize(("command", "signum"), [(["replay", str(DEMO), "--play"], signal.SIGTERM),
                                                 (["demo"], signal.SIGHUP)], ids=["replay-SIGTERM", "demo-SIGHUP"])
def test_a_signal_ends_a_replay_with_the_terminal_restored(command, signum):
    terminal = Terminal("-m", "tui.cli", *command)
    try:
        terminal.read_until(lambda: b"\x1b[?1049h" in terminal.output and len(terminal.output) > 4000,
                            "the first frame")
        os.kill(terminal.pid, signum)
        terminal.read_to_the_end()
        status = terminal.wait()
    finally:
        terminal.close()
    assert status == 128 + signum
    _assert_restored(terminal.text())
