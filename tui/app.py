"""The Textual app: themes, the first screen, help, theme picking and a clean quit, on ``q`` or on
SIGTERM and SIGHUP."""

from __future__ import annotations

import asyncio
import errno
import signal
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.driver import Driver
from textual.screen import Screen

from engine.cli.terminal import SignalStop, discard, left_to_nohup
from engine.run.control import STOP_SIGNALS
from engine.run.session import Session
from engine.view.live import LiveView
from engine.view.replay import ReplayCursor
from themes import DEFAULT_THEME, STAGE_THEME, THEMES, large_forms
from tui.commands import MakerCommands
from tui.screens.board import BoardScreen
from tui.screens.help import HelpScreen
from tui.screens.live import LiveScreen
from tui.screens.replay import ReplayScreen
from tui.bindings import SAVE_SCREEN


class MakerApp(App[None]):
    """maker's terminal app; build it with :func:`live_app` or :func:`replay_app`."""

    CSS_PATH = "app.tcss"
    TITLE = "maker"
    COMMANDS = App.COMMANDS | {MakerCommands}
    VERTICAL_BREAKPOINTS: ClassVar[list[tuple[int, str]] | None] = [(0, "-short"), (32, "-tall")]
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]] | None] = [(0, "-narrow"), (150, "-wide")]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("t", "change_theme", "Theme"),
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
        SAVE_SCREEN,
    ]

    def __init__(self, make_screen: Callable[[], BoardScreen], theme: str | None = None) -> None:
        super().__init__()
        self._make_screen = make_screen
        self._requested_theme = theme
        self.signalled: int | None = None
        """The signal (SIGTERM or SIGHUP) that made the app quit; None otherwise."""
        self.outer: SignalStop | None = None
        """The command line's signal catcher around the app, if any (see :meth:`on_load`)."""
        self._previous_handlers: dict[int, Any] = {}
        for maker_theme in THEMES:
            self.register_theme(maker_theme)
        self.theme = DEFAULT_THEME

    def watch_theme(self, theme: str) -> None:
        """The stage's larger forms reach the style sheet as a class (bold labels)."""
        self.set_class(large_forms(theme), "-large-forms")

    def get_driver_class(self) -> type[Driver]:
        """Textual's driver for this terminal, made to survive the terminal going away (below)."""
        driver_class = super().get_driver_class()
        try:
            from textual.drivers.linux_driver import LinuxDriver
        except ImportError:  # Windows: no SIGHUP, no hang-up
            return driver_class
        return _hang_up_proof(driver_class) if issubclass(driver_class, LinuxDriver) else driver_class

    def on_load(self) -> None:
        """SIGTERM (a kill) and SIGHUP (a closed terminal) quit as ``q`` does: the engine stops, its
        recording closes, the terminal is restored. Textual leaves both at their default, which ends
        the process on the spot, on the alternate screen. Installed before the terminal enters
        application mode; a signal the command line caught before that (:attr:`outer`) quits the app
        as soon as it is mounted."""
        loop = asyncio.get_running_loop()
        for signum in STOP_SIGNALS:
            previous = signal.getsignal(signum)
            if left_to_nohup(signum):
                continue
            try:
                loop.add_signal_handler(signum, self._quit_on_signal, signum)
            except (NotImplementedError, RuntimeError, ValueError):  # no signals here, or not the main thread
                continue
            self._previous_handlers[signum] = previous

    def on_unmount(self) -> None:
        """Give the signals back to whoever held them before (the command line's handlers, which see
        a repeated SIGHUP through while the recording closes and the hint is printed)."""
        loop = asyncio.get_running_loop()
        held = set(self._previous_handlers)
        if held and hasattr(signal, "pthread_sigmask"):  # a signal in the swap waits for the old handler
            signal.pthread_sigmask(signal.SIG_BLOCK, held)
        try:
            for signum, previous in self._previous_handlers.items():
                loop.remove_signal_handler(signum)
                signal.signal(signum, signal.SIG_DFL if previous is None else previous)
        finally:
            if held and hasattr(signal, "pthread_sigmask"):
                signal.pthread_sigmask(signal.SIG_UNBLOCK, held)
        self._previous_handlers.clear()

    def _quit_on_signal(self, signum: int) -> None:
        """The event loop's side of a SIGTERM or SIGHUP; a repeat is ignored, the quit is under way
        (a closed terminal often sends two SIGHUPs)."""
        if self.signalled is None:
            self.signalled = signum
            self.call_later(self.action_quit)

    def on_mount(self) -> None:
        if self.outer is not None and self.outer.signum is not None:  # it came before the app took over
            self._quit_on_signal(self.outer.signum)
        requested = self._requested_theme
        if requested is not None:
            if requested in self.available_themes:
                self.theme = requested
            else:
                self.notify(f"no theme {requested!r}; using {self.theme}", severity="warning", timeout=6)
        self.push_screen(self._make_screen())

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Textual's own commands, but a screenshot goes where ``ctrl+s`` puts it (Textual's goes
        to the downloads folder, where someone at a projector will not look for it)."""
        for command in super().get_system_commands(screen):
            if command.title == "Screenshot":
                yield SystemCommand("Screenshot", "Save the screen as an SVG in the working directory (ctrl+s)",
                                    self.action_save_screen)
            else:
                yield command

    def action_save_screen(self) -> None:
        """Save the screen as it is now as an SVG in the working directory, and say where. In a
        browser (``maker serve``) the picture is the visitor's download, never a file on the server."""
        if self.is_web:
            self.deliver_screenshot()
            return
        folder = Path.cwd()
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = folder / f"maker-{stamp}.svg"
        copy = 1
        while path.exists():
            copy += 1
            path = folder / f"maker-{stamp}-{copy}.svg"
        try:
            self.save_screenshot(filename=path.name, path=str(folder))
        except OSError as exc:
            self.notify(f"could not save the screen: {exc.strerror or exc}", severity="error", timeout=8)
            return
        self.notify(f"saved {path}", title="Screen saved", timeout=8)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    async def action_quit(self) -> None:
        """Stop the engine (its recording closes) before leaving: no thread is left running."""
        for screen in self.screen_stack:
            if isinstance(screen, BoardScreen):
                await screen.shutdown()
        self.exit()


def live_app(
    session: Session,
    *,
    expected_votes: float | None = None,
    theme: str | None = None,
    frame_rate: float = 20.0,
) -> MakerApp:
    """The live screen on ``session`` (whose runner's clock times it)."""
    live = LiveView(session.runner, expected_votes=expected_votes)
    return MakerApp(lambda: LiveScreen(session, live, frame_rate=frame_rate), theme=theme)


def replay_app(
    cursor: ReplayCursor,
    *,
    demo: bool = False,
    playing: bool | None = None,
    speed: float | None = 10.0,
    theme: str | None = None,
    frame_rate: float = 20.0,
    clock: Callable[[], float] = time.monotonic,
    tour: bool = False,
    until: int | None = None,
) -> MakerApp:
    """The replay screen on ``cursor``; ``demo`` loops it in the stage theme at an audience's pace;
    ``tour`` opens it on the guided tour."""
    return MakerApp(
        lambda: ReplayScreen(cursor, demo=demo, playing=playing, speed=speed, frame_rate=frame_rate, clock=clock,
                             tour=tour, until=until),
        theme=theme or (STAGE_THEME if demo else None),
    )


class _HangUpProofOutput:
    """The terminal as Textual's writer thread sees it, except that a write to a terminal that went
    away (EIO once its window is closed) is dropped and the stream pointed at /dev/null. Textual's
    thread dies of that error, and the app then hangs on its next writes, once their queue is full."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except OSError:
            discard(self._stream)
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError:
            discard(self._stream)

    def fileno(self) -> int:
        return self._stream.fileno()

    def isatty(self) -> bool:
        return self._stream.isatty()


def _hang_up_proof(driver_class: type[Driver]) -> type[Driver]:
    """``driver_class`` (Textual's LinuxDriver) for a terminal that may close under the app: its
    output survives the hang-up, and the SIGCONT that comes with a hang-up does not re-enter
    application mode on a terminal that is gone (which would start a second input thread)."""

    class HangUpProofDriver(driver_class):  # type: ignore[valid-type,misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._file = _HangUpProofOutput(self._file)

        def _sigcont_application(self, *args: Any) -> None:
            if not _hung_up(self.fileno):
                super()._sigcont_application(*args)

    return HangUpProofDriver


def _hung_up(fd: int) -> bool:
    """Whether the terminal on ``fd`` has hung up (its window closed): it then fails with EIO."""
    import termios

    try:
        termios.tcgetattr(fd)
    except termios.error as exc:
        return exc.args[0] == errno.EIO
    return False
