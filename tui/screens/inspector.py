"""The inspector: one micro-agent of the step on screen, audited.

It shows the step's race with the chosen sample reversed, then that sample's verdict (the audit's
answer for the state shown and, for a wrong answer, what is wrong), its parse or red flag with the
text that set it off, its figures, its raw reply and the messages the agent was sent. Left and
right move between samples in the order they arrived, up and down between lanes; a click on a chip
or a lane picks it. Esc returns; a live run goes on, or stays paused, as it was. The step is the
one on screen when the inspector opened: a live run moving on does not change it.
"""

from __future__ import annotations

from typing import ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from engine.task.hanoi import format_move, format_state
from engine.task.verdict import move_words
from engine.view.inspect import SampleInspection, StepInspection
from engine.view.snapshot import SampleView, outcomes_of_records, tally, top_two
from tui.widgets.caption import CaptionView, TourCaption
from tui.widgets.footer import MakerFooter
from tui.widgets.race_parts import RaceView, letter
from tui.widgets.tally import TallyPane, TallyView

MOST_RACE_LINES = 16
"""The most lines the step's race takes above the sample's details."""


def lanes_of(views: tuple[SampleView, ...], candidates: int) -> list[list[int]]:
    """The samples of each lane, in the race's lane order: the answers (in order of their first
    vote), then the red flags, then the cancelled samples."""
    lanes: list[list[int]] = [[] for _ in range(candidates)]
    flagged, cancelled = [], []
    for position, view in enumerate(views):
        if view.candidate is not None:
            lanes[view.candidate].append(position)
        elif view.cancelled:
            cancelled.append(position)
        else:
            flagged.append(position)
    return [lane for lane in [*lanes, flagged, cancelled] if lane]


def lane_name(view: SampleView) -> str:
    """What the race calls the lane of a sample."""
    if view.cancelled:
        return "cancelled"
    if view.candidate is None:
        return "red flags"
    return f"lane {letter(view.candidate)}"


def _answer_text(move: tuple[int, int, int], state: tuple[tuple[int, ...], ...]) -> str:
    return f"{move_words(move)}; next state {format_state(state)}"  # type: ignore[arg-type]


def verdict_text(inspection: StepInspection, sample: SampleInspection) -> Text:
    verdict = sample.verdict
    text = Text()
    if verdict.correct is None:
        text.append("– ", style="bold")
    else:
        text.append("✓ right" if verdict.correct else "✗ wrong", style="bold")
        text.append(": " if not verdict.correct else "")
    text.append(verdict.why if not verdict.correct else verdict.why.removeprefix("right: ").join(("  (", ")")))
    right = inspection.right
    text.append("\nthe audit's answer: ")
    text.append("none: the strategy has no legal move here" if right is None else _answer_text(*right))
    return text


def parse_text(sample: SampleInspection) -> Text:
    text = Text()
    if sample.cancelled:
        text.append(f"no vote: {sample.verdict.why}")
    elif sample.red_flag is not None:
        text.append(f"red flag {sample.red_flag.value}", style="bold")
        text.append(" (not a vote; another sample was drawn in its place)")
        if sample.evidence:
            text.append("\nset off by: ")
            text.append(sample.evidence, style="italic")
    elif sample.answer is not None:
        text.append(f"move = {format_move(sample.answer.move)}", style="bold")
        text.append(f"  ({move_words(sample.answer.move)})\n")
        text.append(f"next_state = {format_state(sample.answer.state)}", style="bold")
    return text


def figures_table(sample: SampleInspection) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    table.add_row("temperature", f"{sample.temperature:g}" + ("  (the step's first sample: what one agent alone "
                                                             "would have answered)" if sample.first else ""))
    table.add_row("tokens in / out", f"{sample.tokens_in:,} / {sample.tokens_out:,}")
    table.add_row("latency", f"{sample.latency_s:.2f} s" if sample.latency_s else "none recorded")
    table.add_row("finish reason", sample.finish_reason or ("none (no reply)" if sample.text is None and sample.cancelled
                                                            else "not recorded (not cut at the token limit)"))
    return table


class InspectorScreen(Screen[str | None]):
    """One sample of a step, audited; see the module docstring. Opened by the tour, it shows the
    tour's caption above, and space goes on to the tour's next stop."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Back"),
        Binding("space", "next_stop", "Next stop"),
        Binding("left", "move(-1)", "Prev sample"),
        Binding("right", "move(1)", "Next sample"),
        Binding("up", "lane(-1)", "Prev lane"),
        Binding("down", "lane(1)", "Next lane"),
        Binding("pagedown", "scroll(1)", "Scroll", show=False),
        Binding("pageup", "scroll(-1)", "Scroll", show=False),
    ]
    DEFAULT_CSS = """
    InspectorScreen #inspector-title { height: 1; padding: 0 1; background: $primary; color: $text; text-style: bold; }
    InspectorScreen TallyPane { border: round $primary; max-height: 50%; }
    InspectorScreen #inspector-body { padding: 0 1; }
    InspectorScreen .section { margin-top: 1; color: $accent; text-style: bold; }
    InspectorScreen #inspector-verdict.right { color: $success; }
    InspectorScreen #inspector-verdict.wrong { color: $error; }
    InspectorScreen .raw { background: $panel; padding: 0 1; }
    InspectorScreen .muted { color: $text-muted; }
    """

    def __init__(self, inspection: StepInspection, sample: int = 0, *, right_known: bool = True,
                 caption: CaptionView | None = None) -> None:
        super().__init__()
        self.caption = caption
        self.inspection = inspection
        self.right_known = right_known
        """The lanes are marked right or wrong: in a replay always, live once the step is decided."""
        self.position = max(0, min(sample, len(inspection.samples) - 1))
        self._candidates, self._views = tally(outcomes_of_records(inspection.samples))  # type: ignore[arg-type]
        self._lanes = lanes_of(self._views, len(self._candidates))

    def compose(self) -> ComposeResult:
        if self.caption is not None:
            yield TourCaption(id="tour-caption")
        yield Static(id="inspector-title")
        race = TallyPane(id="inspector-race")
        race.border_title = "Vote tally (click a chip)"
        yield race
        with VerticalScroll(id="inspector-body", can_focus=False):
            yield Static("Verdict", classes="section")
            yield Static(id="inspector-verdict")
            yield Static("Parse", classes="section")
            yield Static(id="inspector-parse")
            yield Static("Figures", classes="section")
            yield Static(id="inspector-figures")
            yield Static("Reply, as the model wrote it", classes="section")
            yield Static(id="inspector-reply", classes="raw")
            yield Static("Messages the agent was sent", classes="section")
            yield Static(id="inspector-messages")
        yield MakerFooter()

    def on_mount(self) -> None:
        self.show()
        if self.caption is not None:  # the tour shows the reply: in view, even on a small screen
            self.query_one(TourCaption).view = self.caption
            reply = self.query_one("#inspector-reply", Static)
            self.call_after_refresh(lambda: reply.scroll_visible(animate=False, top=True))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Space goes on with the tour only while a tour is on."""
        return self.caption is not None if action == "next_stop" else True

    def action_next_stop(self) -> None:
        self.dismiss("next")

    @property
    def sample(self) -> SampleInspection | None:
        return self.inspection.samples[self.position] if self.inspection.samples else None

    def show(self) -> None:
        """Draw the chosen sample (attributes down to each part)."""
        inspection, sample = self.inspection, self.sample
        race = self.query_one(TallyPane)
        race.view = self._race()
        race.styles.height = min(MOST_RACE_LINES, 2 * len(self._lanes) + 5)  # header, meter, gap, lanes in two lines, border
        count = len(inspection.samples)
        title = self.query_one("#inspector-title", Static)
        verdict = self.query_one("#inspector-verdict", Static)
        if sample is None:
            title.update(f"Inspector · step {inspection.step:,} · no sample yet")
            verdict.update("No sample of this step has come back yet.")
            return
        title.update(f"Inspector · step {inspection.step:,} · sample {self.position} (of 0-{count - 1}) · "
                     f"{lane_name(self._views[self.position])} · Esc returns")
        verdict.update(verdict_text(inspection, sample))
        verdict.set_class(sample.verdict.correct is True, "right")
        verdict.set_class(sample.verdict.correct is False, "wrong")
        self.query_one("#inspector-parse", Static).update(parse_text(sample))
        self.query_one("#inspector-figures", Static).update(figures_table(sample))
        reply = self.query_one("#inspector-reply", Static)
        reply.update(Text(sample.text) if sample.text is not None else Text(sample.text_note, style="italic"))
        messages = [Group(Text(f"{message['role']}:", style="bold"), Text(message["content"]))
                    for message in inspection.messages]
        self.query_one("#inspector-messages", Static).update(Group(*messages))

    def _race(self) -> TallyView:
        inspection, candidates = self.inspection, self._candidates
        best, runner_up = top_two(candidates)
        leader = next((i for i, c in enumerate(candidates) if c.votes == best), None)
        race = RaceView(inspection.step, inspection.decided is not None, candidates, self._views, inspection.k, leader,
                        best - runner_up, right=inspection.right, right_known=self.right_known, selected=self.position)
        return TallyView(race, sum(len(peg) for peg in inspection.state), True, 0, ())

    def action_close(self) -> None:
        self.dismiss(None)

    def action_move(self, delta: int) -> None:
        if self.inspection.samples:
            self.position = (self.position + delta) % len(self.inspection.samples)
            self.show()

    def action_lane(self, delta: int) -> None:
        lanes = self._lanes
        if not lanes:
            return
        current = next(number for number, lane in enumerate(lanes) if self.position in lane)
        self.position = lanes[(current + delta) % len(lanes)][0]
        self.show()

    def action_scroll(self, pages: int) -> None:
        body = self.query_one("#inspector-body", VerticalScroll)
        if pages > 0:
            body.scroll_page_down()
        else:
            body.scroll_page_up()

    def on_tally_pane_inspect(self, message: TallyPane.Inspect) -> None:
        message.stop()
        self.position = message.sample
        self.show()
