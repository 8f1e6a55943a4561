"""The command palette (ctrl+p): every action of the screen in front, each theme, help and quit."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from tui.screens.board import BoardScreen


class MakerCommands(Provider):
    """Commands of the active board screen, plus themes, help and quit."""

    def _commands(self) -> list[tuple[str, str, object]]:
        app = self.app
        screen = app.screen_stack[0] if not isinstance(app.screen, BoardScreen) else app.screen
        for candidate in reversed(app.screen_stack):
            if isinstance(candidate, BoardScreen):
                screen = candidate
                break
        commands: list[tuple[str, str, object]] = []
        if isinstance(screen, BoardScreen):
            commands += screen.palette_commands()
        for name in sorted(app.available_themes):
            commands.append((f"Theme: {name}", "Switch to this theme", partial(setattr, app, "theme", name)))
        commands.append(("Help", "What each pane shows and which key does what", app.action_help))
        commands.append(("Quit", "Stop the run, close the recording and leave", app.action_quit))
        return commands

    async def discover(self) -> Hits:
        for title, help_text, callback in self._commands():
            yield DiscoveryHit(title, callback, help=help_text)  # type: ignore[arg-type]

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)  # type: ignore[arg-type]
