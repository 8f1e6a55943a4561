"""The race drawn as text: whatever the samples and the pane's size, nothing wraps or spills."""

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.style import Style

from engine.task.parser import RedFlag
from engine.view.snapshot import tally
from tests.tui_helpers import answers
from tui.widgets.race import RaceStyles, RaceView, finish_slot, move_words, plan_lanes, race, temperature_label

PLAIN = Style()
STYLES = RaceStyles(PLAIN, PLAIN, PLAIN, PLAIN, PLAIN, PLAIN, PLAIN, PLAIN, PLAIN, Style(underline=True),
                    tuple(Style(bgcolor="#000000") for _ in range(11)), PLAIN)
ANSWERS = answers(100)

sample = st.one_of(
    st.tuples(st.sampled_from([0.0, 0.1, 0.7]), st.sampled_from(ANSWERS), st.none(), st.just(False)),
    st.tuples(st.just(0.1), st.none(), st.sampled_from(list(RedFlag)), st.just(False)),
    st.tuples(st.just(0.1), st.none(), st.none(), st.just(True)),
)


def view_of(outcomes, k):
    candidates, samples = tally(outcomes)
    votes = sorted((c.votes for c in candidates), reverse=True) + [0, 0]
    best = max((c.votes for c in candidates), default=0)
    leader = next((i for i, c in enumerate(candidates) if c.votes == best), None)
    return RaceView(100, votes[0] - votes[1] >= k, candidates, samples, k, leader, votes[0] - votes[1])


@settings(max_examples=300, deadline=None)
@given(st.lists(sample, max_size=60), st.integers(1, 8), st.integers(8, 90), st.integers(1, 40))
def test_every_line_fits_the_pane(outcomes, k, width, height):
    lines = race(view_of(outcomes, k), STYLES, width, height)
    assert 1 <= len(lines) <= height
    assert all(line.cell_len <= width and "\n" not in line.plain for line in lines)


@settings(max_examples=200, deadline=None)
@given(st.lists(sample, max_size=60), st.integers(1, 8), st.integers(20, 200))
def test_the_finish_line_is_drawn_where_the_leader_must_get_to(outcomes, k, room):
    """Every slot up to the finish line is on screen, or the newest ones are, ending at the line."""
    view = view_of(outcomes, k)
    lanes = plan_lanes(view, room)
    assert lanes.slots * lanes.chip <= room
    assert lanes.first + lanes.slots == max([finish_slot(view), *(c.votes for c in view.candidates)])
    if not view.decided:
        runner_up = (sorted((c.votes for c in view.candidates), reverse=True) + [0, 0])[1]
        assert finish_slot(view) == runner_up + k


def test_temperatures_and_moves_in_short():
    assert [temperature_label(t) for t in (0.0, 0.1, 1.0, 0.25, 1.5)] == ["0", "0.1", "1", ".25", "1.5"]
    assert [temperature_label(t, 2) for t in (0.0, 0.1, 1.0)] == ["0", ".1", "1"]
    assert move_words((3, 0, 2), 40) == "disk 3 from peg 0 to peg 2"
    assert move_words((3, 0, 2), 20) == "disk 3: peg 0 → 2"
    assert move_words((3, 0, 2), 10) == "3: 0→2"
