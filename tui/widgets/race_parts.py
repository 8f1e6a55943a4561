"""The race's parts: its view and styles, chip sizes, lane names, temperature labels, and the
lanes of red flags and cancelled samples (see :mod:`tui.widgets.race`)."""

from __future__ import annotations

from collections import Counter
from typing import NamedTuple

from rich.style import Style
from rich.text import Text

from engine.task.hanoi import Move
from engine.task.parser import Answer
from engine.task.verdict import move_words as verdict_move_words
from engine.view.snapshot import CandidateView, SampleView, top_two

WIDE_CHIP = 4
"""Cells a chip takes with its temperature written on it (three) and a gap."""
MEDIUM_CHIP = 3
"""Cells a chip takes with its temperature in two cells (``0``, ``.1``) and a gap."""
SMALL_CHIP = 2
"""Cells a chip takes with a mark for its temperature (the lead meter gives the legend) and a gap."""
NARROW_CHIP = 1
"""Cells a chip takes when no wider chip fits: the mark, no gap."""
CHIPS = (WIDE_CHIP, MEDIUM_CHIP, SMALL_CHIP, NARROW_CHIP)
SCALES = ((3, 8, (90, 28)), (2, 6, (60, 18)))
"""The race's larger forms, largest first: (rows a lane's chips take, cells a chip takes, the
smallest pane in columns and rows that takes it). The next state's picture takes as many cells a
disk as the lane takes rows. The stage takes each form on the pane the next form needs."""
STAGE_PANE = (40, 12)
"""The smallest pane on which the stage takes the smallest larger form."""
MARKS = ("•", "◆", "▲", "◇", "△", "○")
"""Marks for a step's fractional temperatures, lowest first, on chips too small for them; a whole
temperature (0, 1) is its own digit."""
FINISH = "┃"
SQUEEZE = "… "
"""Drawn for the empty stretch before a finish line too far off to draw to scale."""
LANE_HEAD = 6
"""Cells of a lane before its track: the answer's letter (two) and its votes (three), a space."""
TRACK_ENDS = 4
"""Cells of a lane's track besides its chips: its start, the finish line and the winner's tick."""


class RaceStyles(NamedTuple):
    """The theme's styles for the race, read when the pane is drawn."""

    title: Style
    muted: Style
    leader: Style
    """A leading (or winning) lane's label and chips."""
    rival: Style
    """Every other lane's chips."""
    flag: Style
    cancelled: Style
    track: Style
    """The part of the lead meter still to go."""
    finish: Style
    won: Style
    """The winner's banner once the step is decided."""
    newest: Style
    """Added to the chip of the sample that arrived last."""
    disks: tuple[Style, ...]
    """A disk's colour in the towers pane, by size (index 0 unused)."""
    moved: Style


class RaceView(NamedTuple):
    """What the race shows of a snapshot: the step, its candidates and samples, and k."""

    step: int
    decided: bool
    candidates: tuple[CandidateView, ...]
    samples: tuple[SampleView, ...]
    k: int
    leader: int | None
    margin: int
    stuck: bool = False
    """The run stopped on this step, undecided at its cap."""
    right: Answer | None = None
    right_known: bool = False
    """The audit's answer is known (a replay; a live step once decided): lanes are marked ✓ or ✗."""
    selected: int | None = None
    """The sample (arrival position) picked out for the inspector, drawn reversed."""


def letter(index: int) -> str:
    """A candidate's name: A to Z, then numbers."""
    return chr(ord("A") + index) if index < 26 else str(index + 1)


def temperature_label(temperature: float, cells: int = 3) -> str:
    """The temperature in ``cells`` cells or fewer, rounded if need be, never cut: ``0``, ``0.1``
    (``.1`` in two), ``.25``, ``1.2`` for 1.25 in three."""
    plain, tenths = f"{temperature:g}", f"{temperature:.1f}"
    for text in (plain, plain.lstrip("0") or "0", tenths, tenths.lstrip("0") or "0", f"{temperature:.0f}"):
        if len(text) <= cells:
            return text
    return "#" * cells


def marks(samples: tuple[SampleView, ...]) -> dict[float, str]:
    """What the small chips show for each temperature of the step: its digit when it is a whole
    number below 10, else a mark (lowest first) that the lead meter's legend explains."""
    fractional = sorted({s.temperature for s in samples if not (s.temperature.is_integer() and s.temperature < 10)})
    whole = {s.temperature: f"{s.temperature:.0f}" for s in samples if s.temperature not in fractional}
    return whole | {t: MARKS[n % len(MARKS)] for n, t in enumerate(fractional)}


def move_words(move: Move, width: int) -> str:
    """The move in words, as long as the width allows: "disk 3 from peg 0 to peg 2"."""
    disk, source, target = move
    for text in (verdict_move_words(move), f"disk {disk}: peg {source} → {target}"):
        if len(text) <= width:
            return text
    return f"{disk}: {source}→{target}"


def finish_slot(view: RaceView) -> int:
    """Votes the leader needs to win: the runner-up's votes plus k (what it had when it won, once
    decided)."""
    most, runner_up = top_two(view.candidates)
    return most if view.decided and most - runner_up >= view.k else runner_up + view.k


def new_line() -> Text:
    return Text(no_wrap=True, overflow="crop")


def inspect_on_click(sample: int) -> Style:
    """A style that names ``sample`` to a click: the pane opens the inspector on it."""
    return Style.from_meta({"sample": sample})


SELECTED = Style(reverse=True)


def _items(line: Text, items: list[tuple[str, int, int]], style: Style, more: Style, width: int,
           selected: int | None = None) -> None:
    """Whole items while they fit, then ``+N`` for the samples the rest stand for: no item is ever
    cut in two. Each item is its text, the number of samples it stands for, and the first of them
    (a click opens the inspector on it)."""
    for number, (item, _, sample) in enumerate(items):
        rest = sum(count for _, count, _ in items[number + 1:])
        if line.cell_len + 1 + len(item) + (len(f" +{rest}") if rest else 0) > width:
            line.append(f" +{sum(count for _, count, _ in items[number:])}", style=more)
            return
        line.append(" ")
        line.append(item, style=style + (SELECTED if sample == selected else Style()) + inspect_on_click(sample))


def flag_lane(samples: tuple[SampleView, ...], styles: RaceStyles, width: int,
              selected: int | None = None) -> Text | None:
    """Red flags in arrival order with their reasons, or counted by reason when that is shorter."""
    flags = [(n, s.red_flag.value) for n, s in enumerate(samples) if s.red_flag is not None and not s.cancelled]
    if not flags:
        return None
    line = new_line()
    line.append(" ✗", style=styles.flag)
    line.append(f"{len(flags):>3}", style=styles.title)
    each = [(f" {reason} ", 1, n) for n, reason in flags]
    first = {}
    for n, reason in flags:
        first.setdefault(reason, n)
    counted = [(f" {reason} ×{many} " if many > 1 else f" {reason} ", many, first[reason])
               for reason, many in Counter(reason for _, reason in flags).most_common()]
    _items(line, min(counted, each, key=lambda items: sum(len(item) + 1 for item, _, _ in items)), styles.flag,
           styles.title, width, selected)
    return line


def cancelled_lane(samples: tuple[SampleView, ...], styles: RaceStyles, width: int,
                   selected: int | None = None) -> Text | None:
    """Samples cancelled once the step was decided, greyed, with their temperatures."""
    cancelled = [(n, s) for n, s in enumerate(samples) if s.cancelled]
    if not cancelled:
        return None
    line = new_line()
    line.append(" ⊘", style=styles.muted)
    line.append(f"{len(cancelled):>3} ", style=styles.title)
    line.append("cancelled", style=styles.muted)
    _items(line, [(temperature_label(s.temperature).center(3), 1, n) for n, s in cancelled], styles.cancelled,
           styles.title, width, selected)
    return line
