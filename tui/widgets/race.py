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

from typing import NamedTuple

from rich.style import Style
from rich.text import Text

from engine.task.hanoi import Move, State
from engine.task.verdict import state_difference
from tui.widgets.format import move_text, short_state
from tui.widgets.race_parts import (
    CHIPS,
    FINISH,
    LANE_HEAD,
    MARKS,
    NARROW_CHIP,
    SCALES,
    SELECTED,
    SMALL_CHIP,
    SQUEEZE,
    STAGE_PANE,
    TRACK_ENDS,
    RaceStyles,
    RaceView,
    cancelled_lane,
    finish_slot,
    flag_lane,
    inspect_on_click,
    letter,
    marks,
    move_words,
    new_line,
    temperature_label,
)


def header(view: RaceView, styles: RaceStyles, width: int) -> Text:
    line = new_line()
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


def lead_meter(view: RaceView, styles: RaceStyles, width: int, legends: tuple[str, ...] = ()) -> Text:
    """The leader's lead over the runner-up against the finish line at k: two cells a vote, or
    one (to leave the legend room, or when k is wide), or fewer when k is wider than the pane;
    then the chips' legend: the first of ``legends`` that fits."""
    room = max(1, width - 20)
    line = new_line()
    for per in (2, 1) if 2 * view.k <= room else (1,):
        line = new_line()
        line.append("lead ", style=styles.muted)
        cells = min(view.k, room // per)
        filled = round(cells * min(view.margin, view.k) / view.k)
        line.append(" " * per * filled, style=styles.leader)
        line.append(" " * per * (cells - filled), style=styles.track)
        line.append(FINISH, style=styles.finish)
        line.append(f" {view.margin} of k={view.k}", style=styles.finish if view.decided else styles.muted)
        legend = next((form for form in legends if line.cell_len + 2 + len(form) <= width), "")
        if legend:
            line.append(f"  {legend}", style=styles.muted)
            break
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
    rows: int = 1
    """Rows a lane's chips take: more than one on a pane large enough for the larger forms."""


def plan_lanes(view: RaceView, room: int, rows: int = 1) -> Lanes:
    """The widest chips with which the race up to the finish line fits in ``room`` cells (a lane
    less its head); failing that, the longest lane to scale and the stretch beyond it squeezed;
    failing that, one-cell chips for the newest votes, the older ones counted. Lanes ``rows``
    high take the chips of that larger form (:data:`SCALES`), which :func:`larger_form` found to fit."""
    room -= TRACK_ENDS
    finish = finish_slot(view)
    most = max(c.votes for c in view.candidates)
    if rows > 1:
        return Lanes(next(cells for tall, cells, _ in SCALES if tall == rows), 0, max(finish, most), False, 0, rows)
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


def lane(view: RaceView, index: int, lanes: Lanes, styles: RaceStyles, width: int) -> list[Text]:
    """``A  5 ▕0  0.1 0.1     ┃``: the answer's votes as chips in arrival order, up to the finish;
    taller lanes carry on their chips' blocks on the rows below."""
    candidate = view.candidates[index]
    leading = index == view.leader and view.margin > 0
    chip_style = styles.leader if leading else styles.rival
    line = new_line()
    votes = [n for n, sample in enumerate(view.samples) if sample.candidate == index]
    head = inspect_on_click(votes[0]) if votes else Style()
    line.append(f"{letter(index):>2}", style=(styles.leader if leading else styles.muted if view.decided
                                              else styles.title) + head)
    line.append(f"{candidate.votes:>3} ", style=styles.title + head)
    if lanes.hidden_width:
        hidden = min(candidate.votes, lanes.first)
        line.append((f"+{hidden}" if hidden else "").rjust(lanes.hidden_width), style=styles.muted)
    line.append("▕", style=styles.muted)
    newest = len(view.samples) - 1
    mark_of = marks(view.samples)
    for position in range(lanes.first, lanes.first + lanes.slots):
        if position < len(votes):
            sample = votes[position]
            temperature = view.samples[sample].temperature
            style = chip_style + styles.newest if sample == newest else chip_style
            if sample == view.selected:
                style += SELECTED
            _chip(line, temperature, style + inspect_on_click(sample), lanes.chip, mark_of[temperature])
        else:
            line.append(" " * lanes.chip)
    if lanes.squeezed:
        line.append(SQUEEZE, style=styles.muted)
    line.append(FINISH, style=styles.finish)
    if view.right_known:
        right = candidate.answer == view.right
        line.append(" ")
        line.append("✓" if right else "✗", style=styles.finish if right else styles.flag)
    lines = [line]
    for _ in range(lanes.rows - 1):
        below = new_line()
        below.append(" " * (LANE_HEAD + lanes.hidden_width))
        below.append("▕", style=styles.muted)
        for position in range(lanes.first, lanes.first + lanes.slots):
            if position < len(votes):
                sample = votes[position]
                style = chip_style + (SELECTED if sample == view.selected else Style()) + inspect_on_click(sample)
                below.append(" " * (lanes.chip - 1), style=style)
            below.append(" " * (lanes.chip if position >= len(votes) else 1))
        below.append(FINISH, style=styles.finish)
        lines.append(below)
    return lines


def _indent(width: int) -> str:
    """Where a lane's second and third lines start: under its track when there is room."""
    return " " * (LANE_HEAD if width >= 40 else 2)


def describe(move: Move, width: int, styles: RaceStyles, twin: tuple[str, str] | None = None) -> Text:
    """The move in words, then as the model wrote it: ``disk 1 from peg 0 to peg 2  [1,0,2]``; for
    a lane whose move another lane has too (``twin``: that lane's letter and how this lane's state
    differs from it), what tells them apart: ``same move as B, other state: disk 10 on disk 3``."""
    line = new_line()
    indent = _indent(width)
    line.append(indent)
    if twin is not None:
        name, difference = twin
        room = width - len(indent)
        forms = (f"same move as {name}, other state: {difference}", f"same move as {name}, but {difference}",
                 f"as {name}, but {difference}")
        line.append(next((form for form in forms if len(form) <= room), forms[-1]), style=styles.title)
        return line
    raw = move_text(move)
    line.append(move_words(move, width - len(indent) - len(raw) - 2))
    line.append(f"  {raw}", style=styles.muted)
    return line


def twins(view: RaceView) -> dict[int, tuple[str, str]]:
    """Lanes that share their move with an earlier lane (the leader's first), with that lane's
    letter and how their states differ: the votes split on the next state alone."""
    order = sorted(range(len(view.candidates)), key=lambda i: (i != view.leader, i))
    found: dict[int, tuple[str, str]] = {}
    first_with: dict[Move, int] = {}
    for index in order:
        answer = view.candidates[index].answer
        other = first_with.setdefault(answer.move, index)
        if other != index:
            found[index] = (letter(other), state_difference(answer.state, view.candidates[other].answer.state))
    return found


def mini_state(state: State, move: Move, styles: RaceStyles, width: int, cells: int = 1) -> Text:
    """The answer's next state as three small pegs, ``cells`` cells a disk (fewer if they do not
    fit) in the towers' colours, the moved disk marked; its short text form when the pegs do not fit."""
    line = new_line()
    indent = _indent(width)
    line.append(indent)
    disks = sum(len(peg) for peg in state)
    largest = max((max(peg, default=0) for peg in state), default=0)
    cells = next((c for c in range(cells, 0, -1) if len(indent) + c * disks + 9 <= width), 0)
    if not cells or largest >= len(styles.disks):
        line.append(short_state(state), style=styles.muted)
        return line
    for peg_number, peg in enumerate(state):
        line.append("▕", style=styles.muted)
        for disk in peg:
            moved = disk == move[0] and peg_number == move[2]
            line.append(("●" if moved else " ").center(cells), style=styles.moved if moved else styles.disks[disk])
        line.append("▏ ", style=styles.muted)
    return line


def legends(view: RaceView, lanes: Lanes) -> tuple[str, ...]:
    """What the chips' labels mean, longest first (the lead meter takes the first that fits): a
    chip is a vote, marked with the temperature it was sampled at."""
    keyed = "  ".join(f"{mark} T{t:g}" for t, mark in sorted(marks(view.samples).items()) if mark in MARKS)
    if lanes.chip > SMALL_CHIP or not keyed:
        return ("chip: a vote, at its temperature", "chip: vote @ T", "chip=vote")
    return (f"chip: a vote @ T, {keyed}", keyed)


def shown_candidates(view: RaceView, lanes_room: int) -> list[int]:
    """The candidates that get a lane, in lane order: all when they fit, else those with the most
    votes (the leader always among them)."""
    order = list(range(len(view.candidates)))
    if len(order) <= lanes_room:
        return order
    keep = sorted(order, key=lambda i: (i != view.leader, -view.candidates[i].votes, i))[: max(1, lanes_room)]
    return sorted(keep)


def larger_form(view: RaceView, width: int, height: int, room: int, large: bool) -> int:
    """Rows a lane takes: the largest of :data:`SCALES` the pane is large enough for (the stage
    takes each on a smaller pane) whose lanes all fit whole in ``room`` lines, with their words
    and picture (the stage: at least their words); else one. The form goes by the pane, so that it
    stays put from step to step but for the hardest."""
    count = len(view.candidates)
    slots = max(finish_slot(view), max(c.votes for c in view.candidates))
    panes = [pane for _, _, pane in SCALES][1:] + [STAGE_PANE] if large else [pane for _, _, pane in SCALES]
    for (rows, chip, _), (columns, lines) in zip(SCALES, panes):
        needed = (rows + 1 if large else rows + 2) * count + 1
        if width >= columns and height >= lines and needed <= room and LANE_HEAD + TRACK_ENDS + slots * chip <= width:
            return rows
    return 1


def lanes_for(view: RaceView, width: int, height: int, large: bool = False, bottom: int = 0) -> Lanes:
    """How the race lays its lanes out in a pane ``width`` by ``height`` with ``bottom`` lines of
    red flags and cancellations under them: the larger form if it has the room, else to fit."""
    tall = larger_form(view, width, height, height - 2 - bottom, large)
    return plan_lanes(view, width - LANE_HEAD, tall)


def race(view: RaceView, styles: RaceStyles, width: int, height: int, large: bool = False) -> list[Text]:
    """The race's lines for a pane ``width`` by ``height``: header, lead meter, the lanes, red flags
    and cancellations. Each candidate takes three lines (lane, move in words, next state), or two,
    or one, whichever lets every lane fit; lanes that still do not fit are summarised in one line.
    A pane with the room takes the larger forms (taller lanes, wider chips, a larger picture);
    ``large`` (the stage) takes them where the words fit, without the picture."""
    bottom = [line for line in (flag_lane(view.samples, styles, width, view.selected),
                                cancelled_lane(view.samples, styles, width, view.selected)) if line is not None]
    if not view.candidates:
        top = [header(view, styles, width), lead_meter(view, styles, width)]
        return _fit([*top, new_line(), Text("no valid vote yet", style=styles.muted), *bottom], width, height)
    room = height - 2 - len(bottom)
    count = len(view.candidates)
    lanes = lanes_for(view, width, height, large, len(bottom))
    top = [header(view, styles, width), lead_meter(view, styles, width, legends(view, lanes))]
    extra = lanes.rows - 1  # a tall lane's rows below its first
    gap = 1 if room > (extra + 3) * count else 0
    per = next((rows for rows in (3, 2, 1) if gap + (extra + rows) * count <= room), 1)
    spaced = extra > 0 and gap + (extra + per + 1) * count - 1 <= room  # a blank line between tall lanes
    shown = shown_candidates(view, count if gap + (extra + per) * count <= room else max(1, room - 1))
    lines = [*top] + ([new_line()] if gap else [])
    twin = twins(view)
    for number, index in enumerate(shown):
        answer = view.candidates[index].answer
        if number and spaced:
            lines.append(new_line())
        lines.extend(lane(view, index, lanes, styles, width))
        if per >= 2:
            lines.append(describe(answer.move, width, styles, twin.get(index)))
        elif index in twin and lines[-1].cell_len + 6 + len(twin[index][1]) <= width:
            lines[-1].append(f" as {twin[index][0]}, but {twin[index][1]}", style=styles.muted)
        if per >= 3:
            lines.append(mini_state(answer.state, answer.move, styles, width, lanes.rows))
    hidden = [i for i in range(count) if i not in shown]
    if hidden:
        votes = sum(view.candidates[i].votes for i in hidden)
        more = new_line()
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
