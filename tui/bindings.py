"""Keys bound on more than one screen."""

from textual.binding import Binding

SAVE_SCREEN = Binding("ctrl+s", "app.save_screen", "Save SVG", show=False)
"""ctrl+s saves the screen, on every screen. A modal screen (help, go to) stops Textual's search
for bindings before the app's, so it binds this again."""
