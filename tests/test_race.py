"""The race drawn as text: whatever the samples and the pane's size, nothing wraps or spills, every
lane's finish line is one column, and every vote is either drawn or counted."""

import re

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.style import Style
from rich.text import Text

from engine.task.parser import RedFlag
from tests.tui_helpers import answers, race_snapshot
from tui.widgets.race import lanes_for, race
from tui.widgets.race_parts import (
    RaceStyles,
    finish_slot,
    move_words,
    temperature_label,
)
from tui.widgets.tally import TallyView

LEAD, RIVAL = Style(bgcolor="green"), Style(bgcolor="magenta")
STYLES = RaceStyles(title=Style(bold=True), muted=Style(dim=True), leader=LEAD, rival=RIVAL, flag=Style(bgcolor="red"),
                    cancelled=Style(strike=True), track=Style(bgcolor="grey0"), finish=Style(color="yellow"),
                    won=Style(reverse=True), newest=Style(underline=True),
                    disks=tuple(Style(bgcolor="blue") for _ in range(11)), moved=Style(bgcolor="white"))
ANSWERS = answers(100)
LANE = re.compile(r"^ ?(?P<name>[A-Z]) +(?P<votes>\d+) +(?:\+(?P<hidden>\d+))?▕")
MORE = re.compile(r"\+(\d+) more answer")

sample = st.one_of(
    st.tuples(st.sampled_from([0.0, 0.1, 0.7]), st.sampled_from(ANSWERS), st.none(), st.just(False)),
    st.tuples(st.just(0.1), st.none(), st.sampled_from(list(RedFlag)), st.just(False)),
    st.tuples(st.just(0.1), st.none(), st.none(), st.just(True)),
)


def view_of(outcomes, k):
    """The race view the pane would show of a snapshot with these samples (decided once a lead of
    k was reached: the samples after it count as arriving late)."""
    undecided = race_snapshot(100, outcomes, decided=False, k=k)
    return TallyView.of(race_snapshot(100, outcomes, decided=undecided.leader_margin >= k, k=k)).race


def chips_in(line: Text) -> int:
    """Chips drawn on a lane's track: the spans coloured as a lane's votes."""
    start = line.plain.index("▕")
    return sum(1 for span in line.spans if span.start > start and isinstance(span.style, Style)
               and span.style.bgcolor in (LEAD.bgcolor, RIVAL.bgcolor))


@settings(max_examples=400, deadline=None)
@given(st.lists(sample, max_size=60), st.integers(1, 12), st.integers(8, 130), st.integers(1, 60), st.booleans())
def test_every_line_fits_and_every_vote_is_drawn_or_counted(outcomes, k, width, height, large):
    view = view_of(outcomes, k)
    lines = race(view, STYLES, width, height, large)
    assert 1 <= len(lines) <= height
    assert all(line.cell_len <= width and "\n" not in line.plain for line in lines)
    lanes = {m["name"]: (m, line) for line in lines if (m := LANE.match(line.plain))}
    drawn = [(m, line) for m, line in lanes.values() if "┃" in line.plain]  # a pane too narrow cuts the track
    assert len({line.plain.index("┃") for _, line in drawn}) <= 1  # one finish line for all
    for match, line in drawn:
        votes = view.candidates[ord(match["name"]) - ord("A")].votes
        assert int(match["votes"]) == votes
        assert chips_in(line) + int(match["hidden"] or 0) == votes
    assert width < 20 or len(drawn) == len(lanes)
    room_for_lanes = height - 2 - sum(1 for line in lines if line.plain.startswith((" ✗", " ⊘")))
    if view.candidates and room_for_lanes >= 2 and width >= 20:
        more = [int(m[1]) for line in lines if (m := MORE.search(line.plain))]
        assert len(lanes) + sum(more) == len(view.candidates)
        assert view.leader is None or "ABCDE"[view.leader] in lanes


@settings(max_examples=300, deadline=None)
@given(st.lists(sample, min_size=1, max_size=40), st.integers(1, 12), st.integers(30, 120))
def test_a_finish_line_drawn_to_scale_stands_k_beyond_the_runner_up(outcomes, k, width):
    view = view_of(outcomes, k)
    if not view.candidates:
        return
    lines = race(view, STYLES, width, 40)
    lanes = lanes_for(view, width, 40, bottom=sum(1 for line in lines if line.plain.startswith((" ✗", " ⊘"))))
    line = next(line.plain for line in lines if LANE.match(line.plain))
    track = line.index("┃") - line.index("▕") - 1
    if lanes.squeezed or lanes.first:
        assert "…" in line or "+" in line.split("▕")[0]
    else:
        votes = sorted((c.votes for c in view.candidates), reverse=True) + [0]
        assert track == lanes.chip * (votes[0] if view.decided else votes[1] + k)


def test_a_far_finish_line_is_squeezed_so_the_votes_stay_on_screen():
    """k = 25 at 80x24: three votes against two; the votes are drawn, the stretch to the line is not."""
    right, wrong, *_ = ANSWERS
    view = view_of([(0.0, right, None, False), (0.1, wrong, None, False), (0.1, right, None, False),
                    (0.1, wrong, None, False), (0.1, right, None, False)], 25)
    lines = [line for line in race(view, STYLES, 30, 14) if LANE.match(line.plain)]
    assert [chips_in(line) for line in lines] == [3, 2]
    assert all(line.plain.endswith("… ┃") for line in lines)
    assert finish_slot(view) == 27


def test_older_chips_are_counted_in_front_of_the_track():
    right, wrong, *_ = ANSWERS
    outcomes = [(0.1, right if n % 2 else wrong, None, False) for n in range(60)]
    view = view_of(outcomes, 3)
    lines = [line for line in race(view, STYLES, 30, 14) if LANE.match(line.plain)]
    for line in lines:
        match = LANE.match(line.plain)
        assert int(match["hidden"]) > 0 and chips_in(line) + int(match["hidden"]) == 30


def test_temperatures_and_moves_in_short():
    assert [temperature_label(t) for t in (0.0, 0.1, 1.0, 0.25, 1.25, 1.5)] == ["0", "0.1", "1", ".25", "1.2", "1.5"]
    assert [temperature_label(t, 2) for t in (0.0, 0.1, 1.0, 0.05)] == ["0", ".1", "1", ".1"]
    assert move_words((3, 0, 2), 40) == "disk 3 from peg 0 to peg 2"
    assert move_words((3, 0, 2), 20) == "disk 3: peg 0 → 2"
    assert move_words((3, 0, 2), 10) == "3: 0→2"


def test_lanes_of_different_lengths_share_one_finish_line_when_older_chips_are_counted():
    """27 votes against 5 (and 1) at the pane's narrowest: the counts in front differ in digits."""
    right, wrong, swapped, *_ = ANSWERS
    outcomes = [(0.1, wrong, None, False)] * 5 + [(0.1, swapped, None, False)] + [(0.1, right, None, False)] * 27
    view = view_of(outcomes, 30)
    lines = [line for line in race(view, STYLES, 28, 20) if LANE.match(line.plain)]
    assert len(lines) == 3 and any(LANE.match(line.plain)["hidden"] for line in lines)
    assert len({line.plain.index("┃") for line in lines}) == 1


def test_a_short_pane_keeps_the_leader_and_counts_the_answers_it_leaves_out():
    """Five answers in a pane with room for two lanes: the leader (E, most votes) keeps its lane."""
    outcomes = [(0.1, answer, None, False) for answer in ANSWERS] + [(0.1, ANSWERS[4], None, False)] * 2
    view = view_of(outcomes, 3)
    assert view.leader == 4
    lines = race(view, STYLES, 40, 5)
    names = [LANE.match(line.plain)["name"] for line in lines if LANE.match(line.plain)]
    assert "E" in names and len(names) == 2
    assert any("+3 more answers, 3 votes" in line.plain for line in lines)


def test_a_lane_with_the_leaders_move_says_how_its_state_differs_and_lanes_are_marked_right_or_wrong():
    right, _, swapped, _, _ = ANSWERS  # the swapped answer has the right move, the pegs reversed
    outcomes = [(0.0, right, None, False), (0.1, swapped, None, False), (0.1, right, None, False)]
    view = view_of(outcomes, 3)._replace(right=right, right_known=True)
    for width, height in ((40, 20), (90, 30), (40, 6)):
        plain = [line.plain for line in race(view, STYLES, width, height)]
        assert any("as A, but disk" in line for line in plain), plain
        assert any(line.startswith(" A") and line.rstrip().endswith("✓") for line in plain)
        assert any(line.startswith(" B") and "┃ ✗" in line for line in plain)
    wide = [line.plain for line in race(view, STYLES, 90, 30)]
    assert any("same move as A, but disk 1 on peg 0, disk 2 on peg 0, disk 4 on peg 2, 4 more" in line for line in wide)
    unknown = [line.plain for line in race(view._replace(right_known=False), STYLES, 90, 30)]
    assert not any("┃ ✓" in line or "┃ ✗" in line for line in unknown)


STEP_100 = [(0.0 if n == 0 else 0.1, ANSWERS[n % 3], None, False) for n in range(9)]
"""Three answers, three votes each: no lead yet, the finish line at 6."""


def tall_lanes(lines):
    """Each lane's rows: its line, then the rows of its chips' blocks under it."""
    lanes, current = [], None
    for line in lines:
        if LANE.match(line.plain):
            current = [line.plain]
            lanes.append(current)
        elif current is not None and line.plain.strip().startswith("▕") and "┃" in line.plain:
            current.append(line.plain)
        else:
            current = None
    return lanes


def test_a_large_pane_draws_the_larger_forms_and_a_small_one_the_compact_ones():
    view = view_of(STEP_100, 3)
    by_size = {}
    for width, height, large in [(30, 14, False), (46, 27, False), (46, 27, True), (62, 30, False), (98, 37, False)]:
        lanes = lanes_for(view, width, height, large)
        rows = tall_lanes(race(view, STYLES, width, height, large))
        assert len(rows) == 3 and all(len(lane) == lanes.rows for lane in rows)
        for lane in rows:  # one finish line, under the head and through every row of the lane
            assert len({row.index("┃") for row in lane}) == 1
            assert lane[0].index("┃") - lane[0].index("▕") - 1 == lanes.chip * finish_slot(view)
        by_size[width, height, large] = (lanes.rows, lanes.chip)
    assert by_size == {(30, 14, False): (1, 3), (46, 27, False): (1, 4), (46, 27, True): (2, 6),
                       (62, 30, False): (2, 6), (98, 37, False): (3, 8)}


def test_the_next_states_picture_grows_with_the_lanes():
    view = view_of(STEP_100, 3)
    small, large = race(view, STYLES, 46, 27), race(view, STYLES, 98, 37)
    picture = [line for line in small if line.plain.strip().startswith("▕") and "┃" not in line.plain][0]
    grown = [line for line in large if line.plain.strip().startswith("▕") and "┃" not in line.plain][-1]
    disks = 10
    assert len(grown.plain.strip()) - len(picture.plain.strip()) == 2 * disks  # three cells a disk, not one
