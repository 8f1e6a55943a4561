"""The Textual app: themes, the first screen, help, theme picking and a clean quit."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen

from engine.run.session import Session
from engine.view.live import LiveView
from engine.view.replay import ReplayCursor
from themes import DEFAULT_THEME, STAGE_THEME, THEMES
from tui.commands import MakerCommands
from tui.screens.board import BoardScreen
from tui.screens.help import HelpScreen
from tui.screens.live import LiveScreen
from tui.screens.replay import ReplayScreen


class MakerApp(App[None]):
    """maker's terminal app; build it with :func:`live_app` or :func:`replay_app`."""

    CSS_PATH = "app.tcss"
    TITLE = "maker"
    COMMANDS = App.COMMANDS | {MakerCommands}
    VERTICAL_BREAKPOINTS: ClassVar[list[tuple[int, str]] | None] = [(0, "-short"), (32, "-tall")]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("t", "change_theme", "Theme"),
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
        Binding("ctrl+s", "save_screen", "Save SVG", show=False),
    ]

    def __init__(self, make_screen: Callable[[], BoardScreen], theme: str | None = None) -> None:
        super().__init__()
        self._make_screen = make_screen
        self._requested_theme = theme
        for maker_theme in THEMES:
            self.register_theme(maker_theme)
        self.theme = DEFAULT_THEME

    def on_mount(self) -> None:
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
        """Save the screen as it is now as an SVG in the working directory, and say where."""
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
    playing: bool = False,
    speed: float | None = 10.0,
    theme: str | None = None,
    frame_rate: float = 20.0,
    clock: Callable[[], float] = time.monotonic,
) -> MakerApp:
    """The replay screen on ``cursor``; ``demo`` loops it in the stage theme at an audience's pace."""
    return MakerApp(
        lambda: ReplayScreen(cursor, demo=demo, playing=playing, speed=speed, frame_rate=frame_rate, clock=clock),
        theme=theme or (STAGE_THEME if demo else None),
    )
