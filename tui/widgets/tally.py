"""The vote tally of the step on screen: candidates, votes, margin, and every sample."""

from __future__ import annotations

from typing import NamedTuple

from rich.console import Group
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from engine.view.snapshot import CandidateView, SampleView, Snapshot
from tui.widgets.format import move_text, short_state


class TallyView(NamedTuple):
    """What the tally shows of a snapshot."""

    step: int
    step_decided: bool
    candidates: tuple[CandidateView, ...]
    samples: tuple[SampleView, ...]
    k: int
    detail: bool
    leader: int | None
    leader_margin: int

    @classmethod
    def of(cls, snapshot: Snapshot) -> TallyView:
        return cls(snapshot.step, snapshot.step_decided, snapshot.candidates, snapshot.samples, snapshot.k,
                   snapshot.detail, snapshot.leader, snapshot.leader_margin)


def letter(index: int) -> str:
    """A candidate's name: A to Z, then numbers."""
    return chr(ord("A") + index) if index < 26 else str(index + 1)


class TallyPane(Widget):
    """Candidates of the current step with their votes and the leader's margin against k; then the
    samples in arrival order with their temperature, red flags with their reason, cancellations."""

    COMPONENT_CLASSES = {"tally--leader", "tally--candidate", "tally--red-flag", "tally--cancelled", "tally--muted",
                         "tally--ok"}
    DEFAULT_CSS = """
    TallyPane { height: 1fr; padding: 0 1; }
    TallyPane > .tally--leader { color: $success; text-style: bold; }
    TallyPane > .tally--candidate { color: $foreground; }
    TallyPane > .tally--red-flag { color: $error; }
    TallyPane > .tally--cancelled { color: $text-muted; text-style: strike; }
    TallyPane > .tally--muted { color: $text-muted; }
    TallyPane > .tally--ok { color: $success; text-style: bold; }
    """

    view: reactive[TallyView | None] = reactive(None)

    def show(self, snapshot: Snapshot) -> None:
        self.view = TallyView.of(snapshot)

    def render(self) -> Group:
        return Group() if self.view is None else self._renderable(self.view)

    def _renderable(self, snapshot: TallyView) -> Group:
        style = self.get_component_rich_style
        if not snapshot.detail:
            return Group(
                Text(f"Step {snapshot.step:,}  decided", style="bold"),
                Text(""),
                Text("Full speed: steps go by faster than a screen can show their votes. "
                     "Slow down (-) or pause (space) to watch each vote arrive.", style=style("tally--muted")),
            )
        leader = snapshot.leader
        margin = snapshot.leader_margin
        title = Text(f"Step {snapshot.step:,}", style="bold")
        if snapshot.step_decided:
            title.append("  decided", style=style("tally--ok"))
        elif snapshot.samples:
            title.append("  voting", style=style("tally--muted"))
        else:
            title.append("  waiting", style=style("tally--muted"))
        title.append(f"  lead {margin} of k={snapshot.k}", style=style("tally--muted"))
        lines: list[Text] = [title]
        for index, candidate in enumerate(snapshot.candidates):
            is_leader = index == leader
            mark = style("tally--leader") if is_leader else style("tally--candidate")
            line = Text(no_wrap=False)
            line.append(f"{letter(index)} {candidate.votes:>2} ", style=mark)
            line.append("█" * min(candidate.votes, 12) + ("+" if candidate.votes > 12 else ""),
                        style=mark if is_leader else style("tally--muted"))
            line.append(f" {move_text(candidate.answer.move)} → {short_state(candidate.answer.state)}")
            lines.append(line)
        if not snapshot.candidates:
            lines.append(Text("no valid vote yet", style=style("tally--muted")))
        samples = Text("samples ", style=style("tally--muted"))
        for position, sample in enumerate(snapshot.samples, 1):
            if position > 1:
                samples.append(" · ", style=style("tally--muted"))
            samples.append(f"{position}:", style=style("tally--muted"))
            samples.append(f"T{sample.temperature:g} ", style=style("tally--muted"))
            if sample.cancelled:
                samples.append("cancelled", style=style("tally--cancelled"))
            elif sample.red_flag is not None:
                samples.append(f"flag:{sample.red_flag.value}", style=style("tally--red-flag"))
            elif sample.candidate is not None:
                samples.append(letter(sample.candidate),
                               style=style("tally--leader") if sample.candidate == leader else "")
        if not snapshot.samples:
            samples.append("none yet", style=style("tally--muted"))
        lines += [Text(""), samples]
        return Group(*lines)
