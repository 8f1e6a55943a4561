"""The vote tally pane: the race of the step on screen, or a summary of votes a step at full speed."""

from __future__ import annotations

from typing import NamedTuple

from rich.console import Group
from rich.style import Style
from rich.text import Text
from textual import events
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from engine.view.snapshot import Snapshot
from themes import large_forms
from tui.widgets.charts import bars
from tui.widgets.race import race
from tui.widgets.race_parts import RaceStyles, RaceView
from tui.widgets.towers import palette

NEWEST = Style(bold=True, underline=True)
"""The chip of the sample that arrived last: its lane's colours, bold and underlined."""


class TallyView(NamedTuple):
    """What the pane shows of a snapshot."""

    race: RaceView
    disks: int
    detail: bool
    steps_done: int
    votes_histogram: tuple[tuple[int, int], ...]

    @classmethod
    def of(cls, snapshot: Snapshot) -> TallyView:
        view = RaceView(snapshot.step, snapshot.step_decided, snapshot.candidates, snapshot.samples, snapshot.k,
                        snapshot.leader, snapshot.leader_margin, stuck=snapshot.stuck, right=snapshot.right,
                        right_known=snapshot.right_known)
        return cls(view, snapshot.disks, snapshot.detail, snapshot.steps_done, snapshot.votes_histogram)


class TallyPane(Widget):
    """The step being voted on as a race (see :mod:`tui.widgets.race`); at full speed, where steps
    go by faster than votes can be shown, how many votes the steps so far took."""

    COMPONENT_CLASSES = {"race--title", "race--muted", "race--leader", "race--rival", "race--flag",
                         "race--cancelled", "race--track", "race--finish", "race--won"}
    DEFAULT_CSS = """
    TallyPane { height: 1fr; padding: 0 1; }
    TallyPane > .race--title { text-style: bold; }
    TallyPane > .race--muted { color: $text-muted; }
    TallyPane > .race--leader { color: $background; background: $success; text-style: bold; }
    TallyPane > .race--rival { color: $background; background: $secondary; }
    TallyPane > .race--flag { color: $background; background: $error; }
    TallyPane > .race--cancelled { color: $text-muted; background: $panel; text-style: strike; }
    TallyPane > .race--track { background: $panel-lighten-1; }
    TallyPane > .race--finish { color: $warning; text-style: bold; }
    TallyPane > .race--won { color: $background; background: $success; text-style: bold; }
    """

    view: reactive[TallyView | None] = reactive(None)
    large: reactive[bool] = reactive(False)
    """Take the larger forms wherever they fit (the stage theme's), kept in step with the theme."""

    def on_mount(self) -> None:
        self.large = large_forms(self.app.theme)
        self.app.theme_changed_signal.subscribe(self, lambda theme: setattr(self, "large", large_forms(theme.name)))

    class Inspect(Message):
        """A chip, a lane or a red flag was clicked: open the inspector on that sample."""

        def __init__(self, sample: int) -> None:
            super().__init__()
            self.sample = sample

    def on_click(self, event: events.Click) -> None:
        sample = event.style.meta.get("sample")
        if sample is not None:
            event.stop()
            self.post_message(self.Inspect(sample))

    def show(self, snapshot: Snapshot) -> None:
        self.view = TallyView.of(snapshot)

    def styles_for_race(self, disks: int) -> RaceStyles:
        style = self.get_component_rich_style
        colours = palette(self.app.current_theme, disks)
        return RaceStyles(
            title=style("race--title"), muted=style("race--muted"), leader=style("race--leader"),
            rival=style("race--rival"), flag=style("race--flag"), cancelled=style("race--cancelled"), track=style("race--track"),
            finish=style("race--finish"), won=style("race--won"), newest=NEWEST,
            disks=colours.disks, moved=colours.moved_label,
        )

    def render(self) -> Group:
        view = self.view
        if view is None:
            return Group()
        width, height = self.content_size
        styles = self.styles_for_race(view.disks)
        if not view.detail:
            lines = [Text(f"{view.steps_done:,} steps decided", style=styles.title),
                     Text("Full speed: too fast to watch.", style=styles.muted),
                     Text("- slows it, space pauses.", style=styles.muted)]
        else:
            lines = race(view.race, styles, width, height, self.large)
        if height - len(lines) >= 4:  # room left: how this step compares with the steps before it
            lines += [Text(""), *votes_table(view.votes_histogram, styles, width, height - len(lines) - 1)]
        for line in lines:
            line.no_wrap, line.overflow = True, "ellipsis"
        return Group(*lines[: max(1, height)])


def votes_table(histogram: tuple[tuple[int, int], ...], styles: RaceStyles, width: int, height: int) -> list[Text]:
    """The steps so far by the votes each took, with a bar for each share: at the paper's error
    rates nearly all take k, and the rest are the hard steps. Rows that do not fit are summed into
    the last one."""
    total = sum(count for _, count in histogram)
    if not total:
        return []
    rows = list(histogram)
    room = max(1, height - 1)
    if len(rows) > room:
        rows = [*rows[: room - 1], (-rows[room - 1][0], sum(count for _, count in rows[room - 1:]))]
    labelled = [(f"{'≥' if votes < 0 else ''}{abs(votes)} votes {100 * count / total:6.2f}%", count)
                for votes, count in rows]
    table = bars(labelled, width, styles.title, styles.rival)
    return [Text("votes each step took so far", style=styles.muted), *table.split("\n")]
