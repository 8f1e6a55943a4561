"""The vote race drawn as lines of text: one lane per candidate, chips for samples, a finish line.

First-to-ahead-by-k as a race: each valid vote is a chip in its answer's lane, in arrival order,
marked with the temperature it was sampled at. The leader wins when its lane reaches the finish
line, which stands k votes beyond the runner-up, so it moves on whenever the runner-up gains.
Red-flagged samples run in a red lane of their own with their reasons, cancelled ones in a grey
lane. Nothing here wraps: every line is cut to the pane's width, lanes that do not fit are
summarised, and long lanes show their newest chips with a count of the older ones.
"""

from __future__ import annotations

from collections import Counter
from typing import NamedTuple

from rich.style import Style
from rich.text import Text

from engine.task.hanoi import Move, State
from engine.view.snapshot import CandidateView, SampleView
from tui.widgets.format import move_text, short_state

WIDE_CHIP = 4
"""Cells a chip takes with its temperature written on it (three) and a gap."""
MEDIUM_CHIP = 3
"""Cells a chip takes with its temperature in two cells (``0``, ``.1``) and a gap."""
SMALL_CHIP = 2
"""Cells a chip takes with the temperature's last digit (``0``, ``1`` for 0.1) and a gap."""
NARROW_CHIP = 1
"""Cells a chip takes when no wider chip fits: the last digit, no gap."""
CHIPS = (WIDE_CHIP, MEDIUM_CHIP, SMALL_CHIP, NARROW_CHIP)
FINISH = "┃"


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


def letter(index: int) -> str:
    """A candidate's name: A to Z, then numbers."""
    return chr(ord("A") + index) if index < 26 else str(index + 1)


def temperature_label(temperature: float, cells: int = 3) -> str:
    """The temperature in ``cells`` cells or fewer: ``0``, ``0.1`` (``.1`` in two), ``.25``."""
    text = f"{temperature:g}"
    return text if len(text) <= cells else (text.lstrip("0") or "0")[:cells]


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
    votes = sorted((c.votes for c in view.candidates), reverse=True) + [0, 0]
    return votes[0] if view.decided and votes[0] - votes[1] >= view.k else votes[1] + view.k


def _line() -> Text:
    return Text(no_wrap=True, overflow="crop")


def header(view: RaceView, styles: RaceStyles, width: int) -> Text:
    line = _line()
    line.append(f"Step {view.step:,}  ", style=styles.title)
    shown = len(view.samples)
    if view.decided and view.leader is not None:
        line.append(f" {letter(view.leader)} WINS by {view.margin} ", style=styles.won)
    elif view.samples:
        line.append("voting", style=styles.muted)
    else:
        line.append("waiting", style=styles.muted)
    count = f"  {shown} sample{'s' * (shown != 1)}"
    if line.cell_len + len(count) <= width:
        line.append(count, style=styles.muted)
    return line


def lead_meter(view: RaceView, styles: RaceStyles, width: int) -> Text:
    """The leader's lead over the runner-up, a cell a vote, against the finish line at k."""
    line = _line()
    line.append("lead ", style=styles.muted)
    room = max(1, width - 20)
    per = 2 if 2 * view.k <= room else 1
    cells = min(view.k, room // per)
    lead = min(view.margin, view.k)
    filled = round(cells * lead / view.k)
    line.append(" " * per * filled, style=styles.leader)
    line.append(" " * per * (cells - filled), style=styles.track)
    line.append(FINISH, style=styles.finish)
    line.append(f" {view.margin} of k={view.k}", style=styles.finish if view.decided else styles.muted)
    return line


class Lanes(NamedTuple):
    """How the lanes are laid out across the pane."""

    chip: int
    """Cells a chip takes: WIDE_CHIP or NARROW_CHIP."""
    first: int
    """The first vote slot shown (older chips are counted, not drawn)."""
    slots: int
    """Vote slots shown."""


def plan_lanes(view: RaceView, room: int) -> Lanes:
    """Wide chips when the race to the finish line fits, narrow ones when not, and when even those
    do not fit, the newest slots up to the finish line."""
    need = max([finish_slot(view), *(c.votes for c in view.candidates)])
    for chip in CHIPS:
        if need * chip <= room:
            return Lanes(chip, 0, need)
    room = max(1, room)
    return Lanes(NARROW_CHIP, need - room, room)


def _chip(line: Text, temperature: float, style: Style, chip: int) -> None:
    """A sample's chip, ``chip`` cells wide, marked with its temperature."""
    if chip <= SMALL_CHIP:
        line.append(f"{temperature:g}"[-1], style=style)
        line.append(" " * (chip - 1))
    else:
        line.append(temperature_label(temperature, chip - 1).center(chip - 1), style=style)
        line.append(" ")


def lane(view: RaceView, index: int, lanes: Lanes, styles: RaceStyles, width: int) -> Text:
    """``A  5 ▕0  0.1 0.1 ┃``: the candidate's votes as chips in arrival order, up to the finish."""
    candidate = view.candidates[index]
    is_leader = index == view.leader
    chip_style = styles.leader if is_leader else styles.rival
    line = _line()
    name = styles.leader if is_leader else styles.muted if view.decided else styles.title
    line.append(f"{letter(index):>2}", style=name)
    line.append(f"{candidate.votes:>3} ", style=styles.title)
    hidden = min(candidate.votes, lanes.first)
    line.append(f"+{hidden}" if hidden else "", style=styles.muted)
    line.append("▕" if not hidden else "", style=styles.muted)
    newest = len(view.samples) - 1
    votes = [n for n, sample in enumerate(view.samples) if sample.candidate == index]
    finish = finish_slot(view) - lanes.first
    for slot in range(lanes.slots):
        if slot == finish:
            line.append(FINISH, style=styles.finish)
        position = lanes.first + slot
        if position < len(votes):
            sample = votes[position]
            style = chip_style + styles.newest if sample == newest else chip_style
            _chip(line, view.samples[sample].temperature, style, lanes.chip)
        else:
            line.append(" " * lanes.chip)
    if finish >= lanes.slots:
        line.append(FINISH, style=styles.finish)
    if view.decided and is_leader:
        line.append(" ✓", style=styles.finish)
    line.truncate(width)
    return line


def _prefix_width(view: RaceView, lanes_first: int) -> int:
    """Cells before the first chip: name, votes, and the hidden count or the lane's start."""
    most = max((c.votes for c in view.candidates), default=0)
    return 2 + 4 + (len(f"+{min(most, lanes_first)}") if lanes_first else 1)


def _indent(width: int) -> str:
    """Where a lane's second and third lines start: under its first chip when there is room."""
    return " " * (6 if width >= 40 else 2)


def describe(move: Move, width: int, styles: RaceStyles) -> Text:
    """The move in words, then as the model wrote it: ``disk 1 from peg 0 to peg 2  [1,0,2]``."""
    line = _line()
    indent = _indent(width)
    raw = move_text(move)
    line.append(indent)
    line.append(move_words(move, width - len(indent) - len(raw) - 2))
    line.append(f"  {raw}", style=styles.muted)
    line.truncate(width)
    return line


def mini_state(state: State, move: Move, styles: RaceStyles, width: int) -> Text:
    """The answer's next state as three small pegs, a cell a disk in the towers' colours, the moved
    disk marked; its short text form when the pegs do not fit."""
    line = _line()
    indent = _indent(width)
    line.append(indent)
    disks = sum(len(peg) for peg in state)
    if len(indent) + disks + 9 > width or len(styles.disks) <= max((max(peg, default=0) for peg in state), default=0):
        line.append(short_state(state), style=styles.muted)
        line.truncate(width)
        return line
    for peg_number, peg in enumerate(state):
        line.append("▕", style=styles.muted)
        for disk in peg:
            moved = disk == move[0] and peg_number == move[2]
            line.append("●" if moved else " ", style=styles.moved if moved else styles.disks[disk])
        line.append("▏ ", style=styles.muted)
    return line


def flag_lane(samples: tuple[SampleView, ...], styles: RaceStyles, width: int) -> Text | None:
    """Red flags in arrival order with their reasons; counted by reason when they do not fit."""
    flags = [s.red_flag.value for s in samples if s.red_flag is not None and not s.cancelled]
    if not flags:
        return None
    line = _line()
    line.append(" ✗", style=styles.flag)
    line.append(f"{len(flags):>3} ", style=styles.title)
    chips = " ".join(f" {reason} " for reason in flags)
    if 6 + len(chips) <= width:
        for number, reason in enumerate(flags):
            if number:
                line.append(" ")
            line.append(f" {reason} ", style=styles.flag)
    else:
        for number, (reason, many) in enumerate(Counter(flags).most_common()):
            if number:
                line.append(" ")
            line.append(f" {reason} ×{many} ", style=styles.flag)
    line.truncate(width, overflow="ellipsis")
    return line


def cancelled_lane(samples: tuple[SampleView, ...], styles: RaceStyles, width: int) -> Text | None:
    """Samples cancelled once the step was decided, greyed, with their temperatures."""
    cancelled = [s for s in samples if s.cancelled]
    if not cancelled:
        return None
    line = _line()
    line.append(" ⊘", style=styles.muted)
    line.append(f"{len(cancelled):>3} ", style=styles.title)
    line.append("cancelled ", style=styles.muted)
    room = (width - 16) // WIDE_CHIP
    for sample in cancelled[:room]:
        _chip(line, sample.temperature, styles.cancelled, WIDE_CHIP)
    if len(cancelled) > room:
        line.append(f"+{len(cancelled) - room}", style=styles.muted)
    line.truncate(width)
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
    top = [header(view, styles, width), lead_meter(view, styles, width)]
    bottom = [line for line in (flag_lane(view.samples, styles, width),
                                cancelled_lane(view.samples, styles, width)) if line is not None]
    if not view.candidates:
        return _fit([*top, _line(), Text("no valid vote yet", style=styles.muted), *bottom], width, height)
    room = height - len(top) - len(bottom)
    count = len(view.candidates)
    gap = 1 if room > 3 * count else 0
    per = next((rows for rows in (3, 2, 1) if gap + rows * count <= room), 1)
    lanes_room = count if gap + per * count <= room else max(1, room - 1)
    shown = shown_candidates(view, lanes_room)
    after = 1 + 2  # the finish line, and the winner's tick
    first_guess = plan_lanes(view, width - _prefix_width(view, 0) - after)
    lanes = plan_lanes(view, width - _prefix_width(view, first_guess.first) - after)
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
        more.append(f"   +{len(hidden)} more answers, {votes} votes", style=styles.muted)
        lines.append(more)
    return _fit(lines + bottom, width, height)


def _fit(lines: list[Text], width: int, height: int) -> list[Text]:
    """At most ``height`` lines, none wider than ``width``, none wrapping."""
    for line in lines[:height]:
        line.no_wrap = True
        line.truncate(width)
    return lines[: max(1, height)]
