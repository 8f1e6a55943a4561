"""The towers: three pegs with their disks drawn to scale, the last move highlighted."""

from __future__ import annotations

from contextlib import suppress
from functools import lru_cache
from typing import NamedTuple

from rich.segment import Segment
from rich.style import Style
from textual.color import Color, ColorParseError
from textual.reactive import reactive
from textual.strip import Strip
from textual.theme import Theme
from textual.widget import Widget

from engine.task.hanoi import Move, State

GAP = 2
"""Columns between two pegs."""
THICKEST = 4
"""Rows a disk takes at most, when the pane is tall enough for it."""


class Scene(NamedTuple):
    """What the towers draw."""

    state: State
    last_move: Move | None
    disks: int


class Palette(NamedTuple):
    """The towers' styles in one theme."""

    disks: tuple[Style, ...]
    """Fill of disk d at index d (index 0 unused)."""
    labels: tuple[Style, ...]
    """The number written on disk d."""
    moved: Style
    moved_label: Style
    pole: Style
    base: Style
    label: Style
    label_from: Style
    label_to: Style
    background: Style


class _Layout(NamedTuple):
    column: int
    """Width of one peg's column."""
    widths: tuple[int, ...]
    """Width of disk d at index d."""
    rows: int
    """Rows of disks the area holds."""
    per_row: int
    """Disks drawn per row: 1, or 2 with half blocks when the area is too low for one per row."""
    thickness: int = 1
    """Rows a disk takes, one disk a row or more: disks grow in height as they do in width."""


_PALETTES: dict[tuple[str, int], Palette] = {}


def palette(theme: Theme, disks: int) -> Palette:
    """The towers' styles in ``theme`` for ``disks`` disks: each disk's colour a blend from the
    theme's ``disk-small`` to its ``disk-large`` by size, the moved disk in ``disk-moved``. The race
    pane draws candidates' next states with the same styles."""
    key = (theme.name, disks)
    if key in _PALETTES:
        return _PALETTES[key]
    variables = theme.variables
    small = Color.parse(variables.get("disk-small", theme.accent or theme.primary))
    large = Color.parse(variables.get("disk-large", theme.primary))
    background = Color.parse(theme.background or ("#000000" if theme.dark else "#FFFFFF"))
    foreground = Color.parse(theme.foreground or ("#FFFFFF" if theme.dark else "#000000"))
    moved = Color.parse(variables.get("disk-moved", foreground.hex))
    n = max(1, disks)
    fills = [Style()]
    labels = [Style()]
    for disk in range(1, n + 1):
        colour = small.blend(large, (disk - 1) / (n - 1)) if n > 1 else small
        fills.append(Style(color=colour.rich_color, bgcolor=colour.rich_color))
        labels.append(Style(color=colour.get_contrast_text(1.0).rich_color, bgcolor=colour.rich_color, bold=True))
    muted = foreground.blend(background, 0.55)
    quiet = foreground.blend(background, 0.3)  # the peg labels: the theme's muted text when it names a colour
    with suppress(ColorParseError):
        quiet = Color.parse(variables.get("text-muted", quiet.hex))
    _PALETTES[key] = Palette(
        disks=tuple(fills),
        labels=tuple(labels),
        moved=Style(color=moved.rich_color, bgcolor=moved.rich_color),
        moved_label=Style(color=moved.get_contrast_text(1.0).rich_color, bgcolor=moved.rich_color, bold=True),
        pole=Style(color=muted.rich_color, bgcolor=background.rich_color),
        base=Style(color=foreground.rich_color, bgcolor=background.rich_color),
        label=Style(color=quiet.rich_color, bgcolor=background.rich_color),
        label_from=Style(color=foreground.rich_color, bgcolor=background.rich_color, italic=True),
        label_to=Style(color=moved.rich_color, bgcolor=background.rich_color, bold=True),
        background=Style(bgcolor=background.rich_color),
    )
    return _PALETTES[key]


@lru_cache(maxsize=32)
def _layout(width: int, height: int, disks: int) -> _Layout:
    """An odd column and odd disk widths, so that every disk centres exactly on its pole with a
    whole number of cells each side; widths never shrink as disks grow, and narrow columns give
    neighbouring disks the same width (their colours still tell them apart)."""
    column = max(3, (width - 2 * GAP) // 3)
    column -= 1 - column % 2
    rows = max(1, height - 2)
    per_row = 1 if rows >= disks else 2
    thickness = max(1, min(THICKEST, rows // max(1, disks)))
    smallest = 3 if column >= 5 else 1
    largest = column
    steps = (largest - smallest) // 2
    if disks == 1:
        widths: tuple[int, ...] = (0, largest)
    else:
        widths = (0, *(smallest + 2 * round((d - 1) * steps / (disks - 1)) for d in range(1, disks + 1)))
    return _Layout(column, widths, rows, per_row, thickness)


def _strip(pegs: list[list[Segment]], width: int, layout: _Layout, palette: Palette) -> Strip:
    """One line of the drawing: the three pegs' columns GAP apart, in the middle of the pane."""
    gap = Segment(" " * GAP, palette.background)
    margin = max(0, (width - 3 * layout.column - 2 * GAP) // 2)
    segments = [Segment(" " * margin, palette.background), *pegs[0], gap, *pegs[1], gap, *pegs[2]]
    used = margin + 3 * layout.column + 2 * GAP
    if used < width:
        segments.append(Segment(" " * (width - used), palette.background))
    return Strip(segments, width).simplify()


class Towers(Widget):
    """Three pegs drawn to scale for 3 to 20 disks.

    One disk a row when there is room, two a row with half-block characters when there is not, so
    that 20 disks fit in an 80x24 terminal. Disk colours blend from the theme's ``disk-small`` to
    ``disk-large``; the disk that moved last is drawn in ``disk-moved`` and its pegs are labelled
    "from" and "to".
    """

    DEFAULT_CSS = """
    Towers {
        height: 1fr;
        min-height: 5;
    }
    """

    scene: reactive[Scene | None] = reactive(None)
    """The state drawn, the move that made it, and the number of disks."""

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.refresh())

    def show(self, state: State, last_move: Move | None, disks: int) -> None:
        """Draw ``state``; the widget redraws only when the scene changed."""
        self.scene = Scene(state, last_move, disks)

    @property
    def _state(self) -> State | None:
        return None if self.scene is None else self.scene.state

    @property
    def _last_move(self) -> Move | None:
        return None if self.scene is None else self.scene.last_move

    @property
    def _disks(self) -> int:
        return 0 if self.scene is None else self.scene.disks

    @property
    def state(self) -> State | None:
        return self._state

    @property
    def palette(self) -> Palette:
        return palette(self.app.current_theme, self._disks)

    def render_line(self, y: int) -> Strip:
        width, height = self.size
        if self._state is None or width < 9 or height < 3:
            return Strip.blank(width)
        palette = self.palette
        layout = _layout(width, height, self._disks)
        if y == height - 1:
            return self._labels(width, layout, palette)
        if y == height - 2:
            return self._base(width, layout, palette)
        from_top = height - 3 - y  # rows above the base, counted from the bottom: 0 is the lowest
        if from_top >= layout.rows:
            return Strip.blank(width, palette.background)
        moved_disk = self._last_move[0] if self._last_move else 0
        if layout.per_row == 2:
            return _strip([self._half_row(self._state[peg], from_top, layout, palette, moved_disk, peg)
                           for peg in range(3)], width, layout, palette)
        level, within = divmod(from_top, layout.thickness)
        labelled = within == (layout.thickness - 1) // 2  # the number on a thick disk's middle row
        return _strip([self._full_row(self._state[peg], level, layout, palette, moved_disk, peg, labelled)
                       for peg in range(3)], width, layout, palette)

    def _is_moved(self, disk: int, peg: int, moved_disk: int) -> bool:
        return disk == moved_disk and self._last_move is not None and self._last_move[2] == peg

    def _full_row(
        self, stack: tuple[int, ...], level: int, layout: _Layout, palette: Palette, moved_disk: int, peg: int,
        labelled: bool = True,
    ) -> list[Segment]:
        column = layout.column
        if level >= len(stack):
            centre = column // 2
            return [
                Segment(" " * centre, palette.background),
                Segment("│", palette.pole),
                Segment(" " * (column - centre - 1), palette.background),
            ]
        disk = stack[level]
        size = layout.widths[disk]
        left = (column - size) // 2
        moved = self._is_moved(disk, peg, moved_disk)
        label = str(disk)
        if moved:
            label = f"▶{disk}◀"
        if labelled and len(label) + 2 <= size:
            pad = size - len(label)
            body = [
                Segment(" " * (pad // 2), palette.moved if moved else palette.disks[disk]),
                Segment(label, palette.moved_label if moved else palette.labels[disk]),
                Segment(" " * (pad - pad // 2), palette.moved if moved else palette.disks[disk]),
            ]
        else:
            body = [Segment(" " * size, palette.moved if moved else palette.disks[disk])]
        return [
            Segment(" " * left, palette.background),
            *body,
            Segment(" " * (column - size - left), palette.background),
        ]

    def _half_row(
        self, stack: tuple[int, ...], row: int, layout: _Layout, palette: Palette, moved_disk: int, peg: int
    ) -> list[Segment]:
        column = layout.column
        lower = stack[2 * row] if 2 * row < len(stack) else 0
        upper = stack[2 * row + 1] if 2 * row + 1 < len(stack) else 0

        def span(disk: int) -> tuple[int, int]:
            if not disk:
                return (0, 0)
            size = layout.widths[disk]
            left = (column - size) // 2
            return (left, left + size)

        def colour(disk: int) -> Style:
            return palette.moved if self._is_moved(disk, peg, moved_disk) else palette.disks[disk]

        low, high = span(lower), span(upper)
        centre = column // 2
        segments = []
        for x in range(column):
            in_low = low[0] <= x < low[1]
            in_high = high[0] <= x < high[1]
            if in_low and in_high:
                segments.append(Segment("▀", Style(color=colour(upper).color, bgcolor=colour(lower).bgcolor)))
            elif in_low:
                segments.append(Segment("▄", Style(color=colour(lower).color, bgcolor=palette.background.bgcolor)))
            elif in_high:
                segments.append(Segment("▀", Style(color=colour(upper).color, bgcolor=palette.background.bgcolor)))
            elif x == centre and not lower:
                segments.append(Segment("│", palette.pole))
            else:
                segments.append(Segment(" ", palette.background))
        return segments

    def _base(self, width: int, layout: _Layout, palette: Palette) -> Strip:
        return _strip([[Segment("━" * layout.column, palette.base)]] * 3, width, layout, palette)

    def _labels(self, width: int, layout: _Layout, palette: Palette) -> Strip:
        column = layout.column
        pegs = []
        for peg in range(3):
            text, style = f"peg {peg}", palette.label
            if self._last_move is not None and self._last_move[1] == peg:
                text, style = f"peg {peg} (from)", palette.label_from
            elif self._last_move is not None and self._last_move[2] == peg:
                text, style = f"peg {peg} (to)", palette.label_to
            text = text[:column]
            left = (column - len(text)) // 2
            pegs.append([
                Segment(" " * left, palette.background),
                Segment(text, style),
                Segment(" " * (column - len(text) - left), palette.background),
            ])
        return _strip(pegs, width, layout, palette)
