"""Short text forms of moves, states and numbers, shared by the panes."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text

from engine.task.hanoi import Move, State


def short_peg(peg: tuple[int, ...]) -> str:
    """A peg's disks with runs of consecutive sizes collapsed: ``(9, 8, 7, 6, 2)`` -> ``9…6,2``."""
    parts: list[str] = []
    start = 0
    while start < len(peg):
        end = start
        while end + 1 < len(peg) and peg[end + 1] == peg[end] - 1:
            end += 1
        if end - start >= 2:
            parts.append(f"{peg[start]}…{peg[end]}")
        else:
            parts.extend(str(disk) for disk in peg[start : end + 1])
        start = end + 1
    return ",".join(parts)


def short_state(state: State) -> str:
    return " ".join(f"[{short_peg(peg)}]" for peg in state)


def move_text(move: Move | None) -> str:
    return "none" if move is None else f"[{move[0]},{move[1]},{move[2]}]"


def count(value: int) -> str:
    """A count, shortened past a million: 1,234 / 12.3M."""
    return f"{value / 1e6:.1f}M" if value >= 10_000_000 else f"{value:,}"


def compact(value: int) -> str:
    """A count in five cells or fewer, for a narrow pane: 1,234 / 43.9k / 262k / 7.6M."""
    if value < 10_000:
        return f"{value:,}"
    for unit, size in (("k", 1e3), ("M", 1e6), ("G", 1e9)):
        scaled = value / size
        if scaled < 999.5:
            return f"{scaled:.1f}{unit}" if scaled < 99.95 else f"{scaled:.0f}{unit}"
    return f"{value / 1e12:.0f}T"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "--"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"


def usd(value: float | None) -> str:
    if value is None:
        return "unknown"
    if value >= 100:
        return f"${value:,.0f}"
    return f"${value:,.4f}" if value < 1 else f"${value:,.2f}"


FIGURE_GAP = 3
"""Cells at most between the longest label and the longest value: on a wide pane the figures stay
next to their labels rather than at its far edge."""


def label_rows(rows: list[tuple[str, Text | str]], width: int, label_style: str | Style = "dim") -> Text:
    """Rows of ``label ... value`` with the values flush right, no further right than the labels
    need (:data:`FIGURE_GAP`): a table without a table's cost."""
    out = Text(no_wrap=True, overflow="ellipsis")
    if rows:
        widest = max(len(label) for label, _ in rows) + max(Text(value).cell_len if isinstance(value, str)
                                                            else value.cell_len for _, value in rows)
        width = min(width, widest + FIGURE_GAP)
    for number, (label, value) in enumerate(rows):
        if number:
            out.append("\n")
        value_text = value if isinstance(value, Text) else Text(value)
        gap = max(1, width - len(label) - value_text.cell_len)
        out.append(label, style=label_style)
        out.append(" " * gap)
        out.append_text(value_text)
    return out
