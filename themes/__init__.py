"""maker's own themes, registered by the app at start-up.

Each theme names its disk colours in two variables, ``disk-small`` and ``disk-large``; the towers
blend between them by disk size. ``stage`` is for projectors: black on white would wash out, so it
is pure white on black with saturated, widely spaced colours and no dim text.
"""

from __future__ import annotations

from textual.theme import BUILTIN_THEMES, Theme

MAKER_DARK = Theme(
    name="maker-dark",
    primary="#4FA3E0",
    secondary="#9B7BE0",
    accent="#F2B84B",
    warning="#F2B84B",
    error="#F0605D",
    success="#5FCB8A",
    foreground="#E6E6E6",
    background="#14171C",
    surface="#1C2028",
    panel="#252B36",
    dark=True,
    variables={
        "disk-small": "#F2B84B",
        "disk-large": "#4FA3E0",
        "disk-moved": "#FFFFFF",
        "footer-key-foreground": "#F2B84B",
    },
)

MAKER_LIGHT = Theme(
    name="maker-light",
    primary="#1F6FB2",
    secondary="#6E4BC2",
    accent="#B3541E",
    warning="#A86500",
    error="#C22F2B",
    success="#2C8A4B",
    foreground="#1E2329",
    background="#F7F5F0",
    surface="#EDEAE3",
    panel="#E2DED4",
    dark=False,
    variables={
        "disk-small": "#D9822B",
        "disk-large": "#1F6FB2",
        "disk-moved": "#1E2329",
        "footer-key-foreground": "#B3541E",
    },
)

STAGE = Theme(
    name="stage",
    primary="#00C8FF",
    secondary="#FF4FD8",
    accent="#FFE000",
    warning="#FFE000",
    error="#FF3030",
    success="#00FF66",
    foreground="#FFFFFF",
    background="#000000",
    surface="#000000",
    panel="#101010",
    dark=True,
    luminosity_spread=0.0,
    text_alpha=1.0,
    variables={
        "disk-small": "#FFE000",
        "disk-large": "#00C8FF",
        "disk-moved": "#FF4FD8",
        "text-muted": "#FFFFFF",
        "footer-key-foreground": "#FFE000",
        "block-cursor-text-style": "bold",
    },
)

THEMES: tuple[Theme, ...] = (MAKER_DARK, MAKER_LIGHT, STAGE)
DEFAULT_THEME = MAKER_DARK.name
STAGE_THEME = STAGE.name


def large_forms(theme: str) -> bool:
    """Whether panes take their larger forms (taller chips, bold labels) on any pane with the room
    for them, not only on a large one: the stage theme's, for a projector."""
    return theme == STAGE_THEME


def theme_names() -> list[str]:
    """Every theme the app knows: maker's own and Textual's."""
    return sorted({*BUILTIN_THEMES, *(theme.name for theme in THEMES)})
