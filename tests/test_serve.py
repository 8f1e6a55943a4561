"""``maker serve``: the app in a real browser (Debian's chromium, headless, driven by Selenium),
an app of its own for each visitor, q ending one visitor's app, Ctrl-C ending them all; and the
command's bad input, each one line and exit 2."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli_run import tui_maker
from tests.tui_helpers import ROOT

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
SHOTS = os.environ.get("MAKER_SERVE_SHOTS")
"""A folder to keep the browser's screenshot in, to look at it (default: the test's own folder)."""

CAPTURE = """
window.__maker = [];
const Native = window.WebSocket;
window.WebSocket = class extends Native {
  constructor(...args) {
    super(...args);
    this.addEventListener("message", (event) => {
      window.__maker.push(typeof event.data === "string" ? event.data : new TextDecoder().decode(event.data));
    });
  }
};
"""
"""Keeps what the server sends each page's terminal: the app's output, as the page draws it."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def apps_of(server: subprocess.Popen[str]) -> list[int]:
    """The visitors' apps the server runs: its processes running ``-m tui demo``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if b"tui" in command and b"demo" in command and int(stat[1]) in (server.pid, *found_shells(server.pid)):
            found.append(int(entry.name))
    return found


def found_shells(pid: int) -> list[int]:
    """The shells textual-serve starts each app through (its subprocesses are shell commands)."""
    shells = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    shells.append(int(entry.name))
            except OSError:
                continue
    return shells


def wait_for(predicate, timeout: float = 60.0, what: str = "the page"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def server(tmp_path):
    """``maker serve`` on a free port, its output in files (it logs every request)."""
    pytest.importorskip("textual_serve", reason="maker serve needs the serve extra (pip install 'maker[serve]')")
    port = free_port()
    out, err = tmp_path / "serve.out", tmp_path / "serve.err"
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "tui", "serve", "--port", str(port)], cwd=ROOT,
                                   stdout=stdout, stderr=stderr, text=True)
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: f"at {url}" in out.read_text() or process.poll() is not None, what="the server")
    assert f"at {url}" in out.read_text(), err.read_text()
    yield process, url, out
    if process.poll() is None:
        process.kill()
        process.wait()


def browser():
    """Headless chromium, or a skip saying what is missing: a failure where it must be there
    (MAKER_REQUIRE_BROWSER, which .ci/run sets once it has installed it)."""
    missing = ("the browser test needs Debian's chromium and chromium-driver (apt-get install chromium "
               "chromium-driver; .ci/run installs them)")
    if os.environ.get("MAKER_REQUIRE_BROWSER") and not (CHROMIUM and CHROMEDRIVER):
        pytest.fail(missing)
    webdriver = pytest.importorskip("selenium.webdriver", reason="the browser test needs selenium (the test extra)")
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip(missing)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": CAPTURE})
    return driver


def drawn(driver) -> str:
    return driver.execute_script("return window.__maker.join('')")


def test_a_browser_opens_the_demo_presses_space_and_q_and_ctrl_c_ends_every_app(server, tmp_path):
    process, url, out = server
    first, second = browser(), browser()
    try:
        for page in (first, second):
            page.get(url)
            wait_for(lambda page=page: "Towers" in drawn(page) and "Vote tally" in drawn(page),
                     what="the towers and the race on the page")
        assert len(wait_for(lambda: len(apps_of(process)) == 2 and apps_of(process), what="two apps")) == 2
        keys = first.find_element("css selector", ".xterm-helper-textarea")
        before = len(drawn(first))
        keys.send_keys(" ")  # the demo plays; space pauses it
        wait_for(lambda: "PAUSED" in drawn(first)[before:], what="the demo to pause")
        folder = Path(SHOTS) if SHOTS else tmp_path
        folder.mkdir(parents=True, exist_ok=True)
        assert first.save_screenshot(str(folder / "maker-serve.png"))
        keys.send_keys("q")  # ends this visitor's app, and only this one
        wait_for(lambda: "-closed" in (first.find_element("tag name", "body").get_attribute("class") or ""),
                 what="the first page's session to end")
        wait_for(lambda: len(apps_of(process)) == 1, what="one app left")
        assert "-closed" not in (second.find_element("tag name", "body").get_attribute("class") or "")
    finally:
        first.quit()
        second.quit()
    running = apps_of(process)
    assert len(running) == 1
    process.send_signal(signal.SIGINT)  # Ctrl-C: the server and every app it started
    assert process.wait(timeout=30) == 0
    assert "maker serve: stopped" in out.read_text()
    wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in running), what="the last app to end")


@pytest.mark.parametrize(("args", "says"), [
    (["serve", "export", "x.maker"], "'export' is not a command with a screen to serve"),
    (["serve", "solve", "--headless"], "'maker solve --headless' has no screen to serve"),
    (["serve", "replay"], "the following arguments are required: FILE"),
    (["serve", "--port", "70000"], "--port 70000: a port is 1 to 65535"),
    (["serve", "replay", "/nonexistent.maker"], "/nonexistent.maker: no such file"),
    (["serve", "replay", "recordings/demo-10.maker", "--at", "5000"], "--at 5000: recordings/demo-10.maker holds"),
    (["serve", "solve", "--record", "x.maker"], "--record: every visitor would write the same file"),
    (["serve", "resume", "x.maker"], "'resume' is not a command with a screen to serve"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, args, says):
    status, _, err = tui_maker(capsys, *args)
    assert status == 2 and err.count("\n") == 1 and says in err


def test_a_port_that_is_taken_is_one_line_and_exit_2(capsys):
    pytest.importorskip("textual_serve", reason="maker serve needs the serve extra (pip install 'maker[serve]')")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        status, _, err = tui_maker(capsys, "serve", "--port", port)
    assert status == 2 and err == f"maker: error: port {port} on 127.0.0.1 is taken: give another with --port\n"


def test_the_readmes_animation_moves_in_a_browser(tmp_path):
    """Two screenshots of the README's animated SVG, taken seconds apart, differ: the race moves."""
    animation = ROOT / "docs" / "images" / "race-animated.svg"
    assert "docs/images/race-animated.svg" in (ROOT / "README.md").read_text()
    assert animation.stat().st_size < 2_000_000
    page = browser()
    try:
        page.get(animation.as_uri())
        time.sleep(1.0)
        early = page.get_screenshot_as_png()
        time.sleep(3.0)
        late = page.get_screenshot_as_png()
    finally:
        page.quit()
    folder = Path(SHOTS) if SHOTS else tmp_path
    (folder / "animation-1s.png").write_bytes(early)
    (folder / "animation-4s.png").write_bytes(late)
    assert early != late


def test_the_address_browsers_are_sent_to():
    from tui.serve import public_url

    assert public_url("127.0.0.1", 8000, None) == "http://127.0.0.1:8000"
    assert public_url("::1", 8000, None) == "http://[::1]:8000"
    assert public_url("0.0.0.0", 8000, None) == f"http://{socket.getfqdn()}:8000"  # no address to open
    assert public_url("0.0.0.0", 8000, "https://talk.example.org/") == "https://talk.example.org"


async def test_ctrl_s_in_a_browser_is_the_visitors_download_not_a_file_on_the_server(tmp_path, monkeypatch):
    from tests.tui_helpers import make_replay
    from tui.app import MakerApp

    monkeypatch.chdir(tmp_path)
    delivered = []
    monkeypatch.setattr(MakerApp, "is_web", property(lambda self: True))
    monkeypatch.setattr(MakerApp, "deliver_screenshot", lambda self, *args, **kwargs: delivered.append(args))
    app, _, _ = make_replay()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+s")
    assert delivered and list(tmp_path.iterdir()) == []
