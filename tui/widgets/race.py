"""The vote race drawn as lines of text: one lane per candidate, chips for samples, a finish line.

First-to-ahead-by-k as a race: each valid vote is a chip in its answer's lane, in arrival order,
marked with the temperature it was sampled at. The leader wins when its lane reaches the finish
line, which stands k votes beyond the runner-up, so it moves on whenever the runner-up gains.
Red-flagged samples run in a red lane of their own with their reasons, cancelled ones in a grey
lane. Nothing here wraps: every line is cut to the pane's width, lanes that do not fit are
summarised, a finish line too far off is drawn beyond a squeezed stretch, and long lanes show
their newest chips with a count of the older ones. Every lane is laid out alike, so the finish
line is one column.
"""

from __future__ import annotations

from collections import Counter
from typing import NamedTuple

from rich.style import Style
from rich.text import Text

from engine.task.hanoi import Move, State
from engine.view.snapshot import CandidateView, SampleView, top_two
from tui.widgets.format import move_text, short_state

WIDE_CHIP = 4
"""Cells a chip takes with its temperature written on it (three) and a gap."""
MEDIUM_CHIP = 3
"""Cells a chip takes with its temperature in two cells (``0``, ``.1``) and a gap."""
SMALL_CHIP = 2
"""Cells a chip takes with a mark for its temperature (the lead meter gives the legend) and a gap."""
NARROW_CHIP = 1
"""Cells a chip takes when no wider chip fits: the mark, no gap."""
CHIPS = (WIDE_CHIP, MEDIUM_CHIP, SMALL_CHIP, NARROW_CHIP)
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
    for text in (f"disk {disk} from peg {source} to peg {target}", f"disk {disk}: peg {source} → {target}"):
        if len(text) <= width:
            return text
    return f"{disk}: {source}→{target}"


def finish_slot(view: RaceView) -> int:
    """Votes the leader needs to win: the runner-up's votes plus k (what it had when it won, once
    decided)."""
    most, runner_up = top_two(view.candidates)
    return most if view.decided and most - runner_up >= view.k else runner_up + view.k


def _line() -> Text:
    return Text(no_wrap=True, overflow="crop")


def header(view: RaceView, styles: RaceStyles, width: int) -> Text:
    line = _line()
    line.append(f"Step {view.step:,} ", style=styles.title)
    shown = len(view.samples)
    if view.decided and view.leader is not None:
        line.append(f" {letter(view.leader)} WINS by {view.margin} ", style=styles.won)
    elif view.stuck:
        line.append(" UNDECIDED ", style=styles.flag)
    else:
        line.append(" voting" if view.samples else " waiting", style=styles.muted)
    count = f"  {shown} sample{'s' * (shown != 1)}"
    if line.cell_len + len(count) <= width:
        line.append(count, style=styles.muted)
    return line


def lead_meter(view: RaceView, styles: RaceStyles, width: int, legend: str = "") -> Text:
    """The leader's lead over the runner-up against the finish line at k: two cells a vote, or
    one, or fewer when k is wider than the pane; then the marks' legend when there is room."""
    line = _line()
    line.append("lead ", style=styles.muted)
    room = max(1, width - 20)
    per = 2 if 2 * view.k <= room else 1
    cells = min(view.k, room // per)
    filled = round(cells * min(view.margin, view.k) / view.k)
    line.append(" " * per * filled, style=styles.leader)
    line.append(" " * per * (cells - filled), style=styles.track)
    line.append(FINISH, style=styles.finish)
    line.append(f" {view.margin} of k={view.k}", style=styles.finish if view.decided else styles.muted)
    if legend and line.cell_len + 2 + len(legend) <= width:
        line.append(f"  {legend}", style=styles.muted)
    return line


class Lanes(NamedTuple):
    """How the lanes' tracks are laid out: every lane alike, so the finish line is one column."""

    chip: int
    """Cells a chip takes: one of CHIPS."""
    first: int
    """The first vote slot drawn; the older ones are counted in front of the track."""
    slots: int
    """Vote slots drawn."""
    squeezed: bool
    """The empty stretch up to the finish line is drawn as SQUEEZE, not to scale."""
    hidden_width: int
    """Cells in front of the track for the count of older chips (0 when none is hidden)."""


def plan_lanes(view: RaceView, room: int) -> Lanes:
    """The widest chips with which the race up to the finish line fits in ``room`` cells (a lane
    less its head); failing that, the longest lane to scale and the stretch beyond it squeezed;
    failing that, one-cell chips for the newest votes, the older ones counted."""
    room -= TRACK_ENDS
    finish = finish_slot(view)
    most = max(c.votes for c in view.candidates)
    for chip in CHIPS:
        if max(finish, most) * chip <= room:
            return Lanes(chip, 0, max(finish, most), False, 0)
    squeeze = len(SQUEEZE) if finish > most else 0
    for chip in CHIPS:
        if most * chip + squeeze <= room:
            return Lanes(chip, 0, most, squeeze > 0, 0)
    hidden_width = len(f"+{most}")
    slots = max(1, room - squeeze - hidden_width)
    return Lanes(NARROW_CHIP, most - slots, slots, squeeze > 0, hidden_width)


def _chip(line: Text, temperature: float, style: Style, chip: int, mark: str) -> None:
    """A sample's chip, ``chip`` cells wide: its temperature, or its mark on the smaller chips."""
    if chip <= SMALL_CHIP:
        line.append(mark, style=style)
        line.append(" " * (chip - 1))
    else:
        line.append(temperature_label(temperature, chip - 1).center(chip - 1), style=style)
        line.append(" ")


def lane(view: RaceView, index: int, lanes: Lanes, styles: RaceStyles, width: int) -> Text:
    """``A  5 ▕0  0.1 0.1     ┃``: the answer's votes as chips in arrival order, up to the finish."""
    candidate = view.candidates[index]
    leading = index == view.leader and view.margin > 0
    chip_style = styles.leader if leading else styles.rival
    line = _line()
    line.append(f"{letter(index):>2}", style=styles.leader if leading else styles.muted if view.decided else styles.title)
    line.append(f"{candidate.votes:>3} ", style=styles.title)
    if lanes.hidden_width:
        hidden = min(candidate.votes, lanes.first)
        line.append((f"+{hidden}" if hidden else "").rjust(lanes.hidden_width), style=styles.muted)
    line.append("▕", style=styles.muted)
    newest = len(view.samples) - 1
    votes = [n for n, sample in enumerate(view.samples) if sample.candidate == index]
    mark_of = marks(view.samples)
    for position in range(lanes.first, lanes.first + lanes.slots):
        if position < len(votes):
            sample = votes[position]
            temperature = view.samples[sample].temperature
            _chip(line, temperature, chip_style + styles.newest if sample == newest else chip_style, lanes.chip,
                  mark_of[temperature])
        else:
            line.append(" " * lanes.chip)
    if lanes.squeezed:
        line.append(SQUEEZE, style=styles.muted)
    line.append(FINISH, style=styles.finish)
    if view.decided and leading:
        line.append(" ✓", style=styles.finish)
    return line


def _indent(width: int) -> str:
    """Where a lane's second and third lines start: under its track when there is room."""
    return " " * (LANE_HEAD if width >= 40 else 2)


def describe(move: Move, width: int, styles: RaceStyles) -> Text:
    """The move in words, then as the model wrote it: ``disk 1 from peg 0 to peg 2  [1,0,2]``."""
    line = _line()
    indent = _indent(width)
    raw = move_text(move)
    line.append(indent)
    line.append(move_words(move, width - len(indent) - len(raw) - 2))
    line.append(f"  {raw}", style=styles.muted)
    return line


def mini_state(state: State, move: Move, styles: RaceStyles, width: int) -> Text:
    """The answer's next state as three small pegs, a cell a disk in the towers' colours, the moved
    disk marked; its short text form when the pegs do not fit."""
    line = _line()
    indent = _indent(width)
    line.append(indent)
    disks = sum(len(peg) for peg in state)
    largest = max((max(peg, default=0) for peg in state), default=0)
    if len(indent) + disks + 9 > width or largest >= len(styles.disks):
        line.append(short_state(state), style=styles.muted)
        return line
    for peg_number, peg in enumerate(state):
        line.append("▕", style=styles.muted)
        for disk in peg:
            moved = disk == move[0] and peg_number == move[2]
            line.append("●" if moved else " ", style=styles.moved if moved else styles.disks[disk])
        line.append("▏ ", style=styles.muted)
    return line


def _items(line: Text, items: list[tuple[str, int]], style: Style, more: Style, width: int) -> None:
    """Whole items while they fit, then ``+N`` for the samples the rest stand for: no item is ever
    cut in two. Each item is its text and the number of samples it stands for."""
    for number, (item, _) in enumerate(items):
        rest = sum(count for _, count in items[number + 1:])
        if line.cell_len + 1 + len(item) + (len(f" +{rest}") if rest else 0) > width:
            line.append(f" +{sum(count for _, count in items[number:])}", style=more)
            return
        line.append(" ")
        line.append(item, style=style)


def flag_lane(samples: tuple[SampleView, ...], styles: RaceStyles, width: int) -> Text | None:
    """Red flags in arrival order with their reasons, or counted by reason when that is shorter."""
    flags = [s.red_flag.value for s in samples if s.red_flag is not None and not s.cancelled]
    if not flags:
        return None
    line = _line()
    line.append(" ✗", style=styles.flag)
    line.append(f"{len(flags):>3}", style=styles.title)
    each = [(f" {reason} ", 1) for reason in flags]
    counted = [(f" {reason} ×{many} " if many > 1 else f" {reason} ", many)
               for reason, many in Counter(flags).most_common()]
    _items(line, min(counted, each, key=lambda items: sum(len(item) + 1 for item, _ in items)), styles.flag,
           styles.title, width)
    return line


def cancelled_lane(samples: tuple[SampleView, ...], styles: RaceStyles, width: int) -> Text | None:
    """Samples cancelled once the step was decided, greyed, with their temperatures."""
    cancelled = [s for s in samples if s.cancelled]
    if not cancelled:
        return None
    line = _line()
    line.append(" ⊘", style=styles.muted)
    line.append(f"{len(cancelled):>3} ", style=styles.title)
    line.append("cancelled", style=styles.muted)
    _items(line, [(temperature_label(s.temperature).center(3), 1) for s in cancelled], styles.cancelled,
           styles.title, width)
    return line


def shown_candidates(view: RaceView, lanes_room: int) -> list[int]:
    """The candidates that get a lane, in lane order: all when they fit, else those with the most
    votes (the leader always among them)."""
    order = list(range(len(view.candidates)))
    if len(order) <= lanes_room:
        return order
    keep = sorted(order, key=lambda i: (i != view.leader, -view.candidates[i].votes, i))[: max(1, lanes_room)]
    return sorted(keep)


def race(view: RaceView, styles: RaceStyles, width: int, height: int) -> list[Text]:
    """The race's lines for a pane ``width`` by ``height``: header, lead meter, the lanes, red flags
    and cancellations. Each candidate takes three lines (lane, move in words, next state), or two,
    or one, whichever lets every lane fit; lanes that still do not fit are summarised in one line."""
    bottom = [line for line in (flag_lane(view.samples, styles, width),
                                cancelled_lane(view.samples, styles, width)) if line is not None]
    if not view.candidates:
        top = [header(view, styles, width), lead_meter(view, styles, width)]
        return _fit([*top, _line(), Text("no valid vote yet", style=styles.muted), *bottom], width, height)
    lanes = plan_lanes(view, width - LANE_HEAD)
    legend = ""
    if lanes.chip <= SMALL_CHIP:
        legend = "  ".join(f"{mark} T{t:g}" for t, mark in sorted(marks(view.samples).items()) if mark in MARKS)
    top = [header(view, styles, width), lead_meter(view, styles, width, legend)]
    room = height - len(top) - len(bottom)
    count = len(view.candidates)
    gap = 1 if room > 3 * count else 0
    per = next((rows for rows in (3, 2, 1) if gap + rows * count <= room), 1)
    shown = shown_candidates(view, count if gap + per * count <= room else max(1, room - 1))
    lines = [*top] + ([_line()] if gap else [])
    for index in shown:
        answer = view.candidates[index].answer
        lines.append(lane(view, index, lanes, styles, width))
        if per >= 2:
            lines.append(describe(answer.move, width, styles))
        if per >= 3:
            lines.append(mini_state(answer.state, answer.move, styles, width))
    hidden = [i for i in range(count) if i not in shown]
    if hidden:
        votes = sum(view.candidates[i].votes for i in hidden)
        more = _line()
        more.append(f"   +{len(hidden)} more answer{'s' * (len(hidden) > 1)}, {votes} vote{'s' * (votes != 1)}",
                    style=styles.muted)
        lines.append(more)
    return _fit(lines + bottom, width, height)


def _fit(lines: list[Text], width: int, height: int) -> list[Text]:
    """At most ``height`` lines (one at least), none wider than ``width``, none wrapping."""
    kept = lines[: max(1, height)]
    for line in kept:
        line.no_wrap = True
        line.truncate(max(0, width))
    return kept
