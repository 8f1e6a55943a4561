"""Help: what each pane shows and which key does what."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP = """\
# What you are watching

**MAKER** solves the Towers of Hanoi one move at a time. Each move is a tiny job for the model:
it sees the rules, the strategy, the previous move and the current state, and answers with the
move and the state after it. The same question is asked several times; the first answer that
leads every other answer by **k** votes wins. Replies that are malformed or too long are
**red-flagged**: thrown away, never counted, and asked again.

## The panes

- **Towers**: the three pegs with the disks drawn to scale. The disk that moved last is
  highlighted and its pegs are marked *from* and *to*. The towers always show the voted state:
  what the next agent is shown, right or wrong.
- **Vote tally**: the step being decided, as a race. Each distinct answer (A, B, ...) has a lane;
  each valid vote for it is a chip in its lane, in the order it arrived, marked with the
  temperature it was sampled at (on small chips a mark, which the lead meter's legend explains;
  the newest chip underlined). The leader wins when its lane reaches the
  finish line ┃, which stands k votes beyond the runner-up, so it moves on whenever the runner-up
  gains; the lead meter above shows the lead against k. Under each lane, the move in words and as
  the model wrote it, and the state it claims comes next, drawn in the towers' colours (● marks
  the disk it moved). When two lanes have the same move, the second says how its state differs
  (`same move as B, other state: disk 10 on disk 3`). Once the audit's answer is known (in a
  replay always, live once the step is decided), each lane ends in ✓ (the right answer) or ✗.
  Red-flagged samples run in a red lane with their reasons; samples cancelled
  because the step was already decided, in a grey one. A decided step shows its winner and margin
  until the next step begins. At full speed, where votes go by too fast to show, the pane counts
  the steps by the votes each took.
- **Progress**: steps decided of all steps, the ETA, **audit errors** (steps whose decided move or
  state the simulator finds wrong; red when any) and steps that needed more than k votes. Beside
  MAKER's errors, what **one agent** alone would have done with the same samples: each step's
  first sample (temperature 0) taken as the answer, with no vote. `fails at N` is the first step
  it got wrong or had red-flagged, where the task would have ended for it; `agent wrong` counts
  the steps it got wrong so far.
- **Cost**: tokens in and out, dollars (unknown for a model without a price), mean valid votes per
  step next to the value the formula predicts, and the spend of the last steps: spikes are hard
  steps that needed many samples.
- **Red flags**: thrown-away samples by reason, each as a share of all samples judged.
- **Forecast**: what the votes so far say: the estimated p with its 95% interval, the odds of
  finishing with zero errors, and the votes, dollars and time the rest of the run should take.
  `agent alone` is the chance that one agent alone gets every step right: its share of right steps
  so far, to the power of all the steps (at 99.9% a step, 1,000 steps succeed about 37% of the
  time, a million never).
- **Wire** (a served model only, under the race): requests in flight of those allowed (and how
  many wait their turn), the requests a minute sent lately, the provider's limit as the run has
  learned it (from its headers, or from where its 429s began), retries, faults by kind, and
  whether the servers are up. A 429 is the provider's "too many requests": the run slows down to
  its limit. A 5xx is the server's own error (a 503: unavailable); a timeout, a lost connection or
  a bad body (a reply that is not a chat completion) is tried again too. None is ever a vote. In
  a replay, the whole recorded run's figures.
- **Status line**: the model, the pace, `ahead N/L` (steps sampled ahead of the one being decided,
  of the lookahead allowed), and the run's state. Below it, when there is something to say: what
  a served model's wire waits for (an outage, with a countdown and when the run gives up; a rate
  limit), or how the run ended, whole; a failure in red.

## Inspecting an agent

`i`, or a click on a chip, a lane or a red flag, opens the inspector on one sample of the step on
screen: the messages the agent was sent (exactly as sent), what it wrote, its tokens, latency,
temperature and finish reason, how its reply was read (the move and next state, or the red flag
and the text that set it off), and the audit's verdict: the right answer for the state it was
shown and, for a wrong answer, what is wrong, in words. Left and right go from sample to sample,
up and down from lane to lane; Esc returns. A live run goes on (or stays paused) meanwhile.
`maker inspect FILE --step N` prints the same for a recorded step.

## Pace

`+` and `-` set how many samples a second go out, or full speed. A pace holds the requests back
too: a served model is asked no faster than the screen shows, so its live screen starts at full
speed (its replies set the pace), and the race stays on screen for as long as steps go by slowly
enough to watch. The simulated model starts at 10 samples a second.

## Keys

| live | replay | what |
|---|---|---|
| space | space | pause / resume (play) |
| n or right | right | one step (while paused, live) |
| s | | one sample (while paused) |
| | left | back one step |
| | PgUp / PgDn | back / forward 1% |
| | Home / End | first / last step |
| | g | go to a step (or click the progress bar) |
| + / - | + / - | faster / slower |
| i | i | inspect a sample of the step on screen (or click it) |
| t | t | pick a theme |
| ctrl+p | ctrl+p | every action, searchable |
| ctrl+s | ctrl+s | save the screen as an SVG in the working directory |
| ? | ? | this help |
| q | q | quit |
"""


class HelpScreen(ModalScreen[None]):
    """Explains each pane and key."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "dismiss(None)", "Close"),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90%; max-width: 100; height: 90%; border: round $accent; background: $surface; }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Markdown(HELP)
