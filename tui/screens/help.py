"""Help: what each pane, each figure and each key means, in plain words; Esc or ``?`` closes it,
and ``ctrl+s`` saves it as a picture like every other screen."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

from tui.bindings import SAVE_SCREEN

HELP = """\
*Esc or ? closes this help; ctrl+s saves the screen. Arrows and PgUp / PgDn scroll it.*

# What you are watching

**MAKER** solves the Towers of Hanoi one move at a time: move all the disks from peg 0 to peg 2,
one disk at a time, never a larger disk on a smaller one. Each move is a tiny job for the model
(a *micro-agent*): it sees the rules, the strategy, the previous move and the current state, and
answers with the move and the state after it. It sees nothing of the steps before. The same
question is asked several times (each answer is a *sample*); the first answer that leads every
other answer by **k** votes wins. Replies that are malformed or too long are **red-flagged**:
thrown away, never counted, and asked again. A simulator checks every decided step (the
*audit*); it never corrects one: the next agent is shown the voted state, right or wrong.
A single agent that answers each step once fails at its first mistake; voting is what lets
MAKER finish a million steps with zero errors.

# The panes

Each pane has its name on its top border. On large screens and in the `stage` theme the
panes use larger forms: bigger chips, thicker disks, bold labels. `--` means nothing to show yet.

### Status line

The top line: `maker`, the screen (`live`, `replay` or `demo`), the model, the disks, k, the pace
(`N samples/s`, or `full speed`), `ahead N/L` and the run's state. `ahead N/L` shows only with
lookahead: the run samples the next steps before this one is decided, betting that the leader
will win, and `ahead N/L` is N steps sampled ahead of the one being decided, of the L allowed.
The states: `running`; `PAUSED` (nothing new is asked; requests already sent finish);
`finished` (the run ended, whole or stopped); `FAILED` (the run broke off with an error).
Below it, when there is something to say: what a served model's wire waits for (an outage, with
a countdown and when the run gives up; a rate limit), or how the run ended (`solved: all N steps
decided, zero audit errors`, or why it stopped); a failure in red.

### Towers

The three pegs, `peg 0` to `peg 2`, with the disks drawn to scale (disk 1 the smallest, in the
theme's colours from small to large). The disk that moved last is highlighted (▶N◀ on it) and its
pegs are marked `(from)` and `(to)`. The towers always show the voted state: what the next agent
is shown, right or wrong.

### Vote tally

The step being decided, as a race. The header reads `Step N`, then `waiting` (no reply yet),
`voting`, `X WINS by M` once decided, or `UNDECIDED` (the run stopped here: no answer won within
the vote cap), and how many `samples` came back. The `lead` meter below shows the leader's lead
over the runner-up, `M of k=K`: the step is decided when it reaches k.

Each distinct answer (A, B, ...) has a lane; each valid vote for it is a *chip* in its lane, in
the order it arrived, marked with the temperature it was sampled at (0 for the first sample, a
little more for the others). Small chips carry a mark (•, ◆, ...) instead; the legend after the
lead meter (`chip: a vote @ T, • T0.1`) says which mark is which temperature. The newest chip is
underlined. The leader wins when its lane reaches the finish line ┃, which stands k votes beyond
the runner-up, so it moves on whenever the runner-up gains. Under each lane: the move in words
(`disk 3 from peg 0 to peg 2`) and as the model wrote it (`[3,0,2]`), then the state it claims
comes next, drawn in the towers' colours (● marks the moved disk). When two lanes have the same
move, the second says how its state differs (`same move as B, other state: disk 10 on disk 3`,
or `as B, but ...`). Once the audit's answer is known (in a replay always, live once the step is
decided), each lane ends in ✓ (the right answer) or ✗. `+N more answers` counts lanes with no
room. ✗ with a count starts the red lane: red-flagged samples with their reasons (`too_long ×2`).
⊘ starts the grey lane of samples `cancelled` because the step was already decided. With room to
spare, `votes each step took so far` follows: the steps so far by their votes; nearly all take
exactly k, and the rest are the hard steps. At full speed, where votes go by too fast to show,
the pane shows that table alone (`N steps decided`, `Full speed: too fast to watch`).

### Progress

A bar of the steps done (click it in a replay to go there), then:
- `steps`: steps decided of all steps, and the percentage.
- `ETA`: the time the rest should take at the present pace; `--` while paused or unknown.
- `audit errors`: steps whose voted move or state the simulator finds wrong; red when any.
- `one agent`: what one agent alone would have done with the same samples, each step's first
  sample (temperature 0) taken as the answer, no vote. `fails at N` (`✗ at N` when narrow) is
  the first step it got wrong or had red-flagged, where the task would have ended for it;
  `no error yet` while it has none.
- `agent wrong`: the steps that lone agent got wrong so far, of the steps judged.
- `over k votes`: steps that needed more than k votes (shown on taller screens).

### Cost

- `tokens in` / `tokens out`: what the model read (the prompts) and wrote, all samples.
- `cost`: the dollars so far; `unknown` for a model without a price.
- `votes/step`: valid votes a decided step took on average (k at the least).
- `formula`: the votes a step should take by the paper's formula for the model's error rate;
  `n/a` when that rate is not known beforehand (any served model).
- `wasted` (with lookahead only): samples asked for steps ahead on a guess the vote then
  overturned, thrown away unused.

Below, a sparkline of the spend of the last steps: spikes are hard steps that needed many samples.

### Red flags

Thrown-away samples by reason, each with its share of all samples judged; the title gives the
total. A red flag is never a vote: another sample is drawn in its place.
- `too_long`: the reply ran past the output limit (`--max-tokens`, 750 as in the paper);
  confused answers tend to be long.
- `no_move` / `no_state`: no `move =` / no `next_state =` anywhere in the reply.
- `bad_move`: the move is not three whole numbers naming a disk and two different pegs.
- `bad_state`: the state is not three lists holding every disk exactly once.
- `empty`: the reply had no text at all.
- `cancelled`: samples still out when their step was decided, stopped and never counted
  (not red flags: nothing was wrong with them).

### Forecast

What the votes so far say about the rest of the run (the audit is not consulted):
- `p`: the estimated chance that one valid vote is right, read from the votes: the share of
  votes that went to their step's winner (`none yet` before the first step).
- `95%`: the range p very likely lies in.
- `no error`: the odds that every step left is decided right: a finish with zero errors.
  `out of reach` once a step went wrong (or the run stopped undecided); `none (p<=0.5)` when a
  vote is right no more often than wrong, which no number of votes can fix.
- `agent alone`: the chance that one agent alone gets every step right: its share of right steps
  so far, to the power of all the steps (at 99.9% a step, 1,000 steps succeed about 37% of the
  time, a million never); `no error yet` while it has none to go by.
- `cost left`, `time left`: dollars and time the rest should take (`unknown` without a price).
- `votes`: valid votes the whole run should take (`~` as it is an estimate).

### Wire

A served model only, under the race; in a replay, the whole recorded run's figures.
- `in flight`: requests on their way, of those allowed at once (and how many wait their turn).
- `sent`: requests a minute sent lately. `limit`: the provider's limit as the run has learned
  it, from its headers or from where its 429s began (`none met` so far).
- `retries`: requests sent again after a fault.
- `faults`: failed requests by kind (`none` so far): `429` is the provider's "too many
  requests", and the run slows to its limit; `5xx` the server's own error (a 503: unavailable);
  `timeout`, `connection` (a lost connection) and `bad body` (a reply that is not a chat
  completion). All are tried again; none is ever a vote.
- `servers`: whether the servers are `up`, or how many are `down` and for how long.

# Other screens

### Inspector (`i`, or a click on a chip, a lane or a red flag)

One sample of the step on screen: the race with that sample picked out, then the audit's
*Verdict* (✓ right or ✗ wrong, and what is wrong, in words, with the right answer for the state
the agent was shown), the *Parse* (the move and next state it gave, or the red flag and the text
that set it off), the *Figures* (temperature, tokens in / out, latency, finish reason), its
*Reply* as written, and the *Messages* the agent was sent, exactly as sent. `left` / `right` go
from sample to sample, `up` / `down` from lane to lane, `PgUp` / `PgDn` scroll, `Esc` returns;
opened by the tour, `space` goes on to its next stop. A live run goes on (or stays paused). `maker inspect FILE --step N` prints the same.

### Plots (`p`)

Three plots of the run so far: undecided steps after each sampling round (round 1 is the first k
votes, each later round one more; on a log scale they fall in a straight line when voting works),
steps by the valid votes they took, and the cumulative cost. `p` or `Esc` returns to the board.

### Go to (`g`, replay)

Type a step number and Enter; `Esc` cancels; `ctrl+s` saves the screen. A click on the progress bar jumps there too.

### Tour (`T`, replay and demo)

A guided tour through the moments that explain MAKER, each with a caption in plain words above
the board: a unanimous step, the first disagreement, the first red flag (its reply shown in the
inspector), the hardest step, the step where one agent alone would first have gone wrong, and the
end (a moment the recording lacks is left out). `space` goes to the next moment, `Esc` leaves the
tour (the demo then loops), and so does any move of your own (a step, a jump, go to). On the red
flag the inspector opens under the caption: `space` goes on from there too, `Esc` returns to the
board. `maker demo --tour` starts the demo on the tour.

### Demo

`maker demo` loops the shipped recording in the `stage` theme, with a title and a line that
explains it, at 10 samples a second (`--speed`, or `+` and `-`). Steps with a disagreement or a
red flag go at a sixth of the pace, so an audience can follow the race; it rests on the finished
tower before starting again.

# Pace

`+` and `-` set how many samples a second go out, or full speed. A pace holds the requests back
too: a served model is asked no faster than the screen shows, so its live screen starts at full
speed (its replies set the pace), and the race stays on screen for as long as steps go by slowly
enough to watch. The simulated model starts at 10 samples a second, and so does a replay.

# Keys

The footer always shows `?` (this help) and `q` (quit).

| live | replay | what |
|---|---|---|
| `space` | `space` | pause / resume (play); in the tour, the next stop |
| `n` or `right` | `right` | one step forward (live: pauses first) |
| `s` | | one more sample of this step (pauses first) |
| | `left` | back one step |
| | `PgUp` / `PgDn` | back / forward 1% of the steps |
| | `Home` / `End` | first / last step |
| | `g` | go to a step (or click the progress bar) |
| | `T` | the guided tour of the moments that explain MAKER |
| | `Esc` | leave the tour |
| `+` (or `=`) / `-` | `+` (or `=`) / `-` | faster / slower |
| `i` | `i` | inspect a sample of the step on screen (or click it) |
| `p` | `p` | plots of the run so far |
| `t` | `t` | pick a theme |
| `ctrl+p` | `ctrl+p` | every action, searchable |
| `ctrl+s` | `ctrl+s` | save the screen as an SVG in the working directory (any screen) |
| `?` | `?` | this help (Esc or ? closes it) |
| `q` | `q` | quit: the run stops and its recording closes (in this help, q only closes it) |
| `ctrl+q` | `ctrl+q` | quit at once, from any screen |
| `ctrl+c` | `ctrl+c` | does not quit: it says which key does |

# From the command line

- `maker solve ...` and `maker resume FILE` open the live screen; `maker replay FILE` plays a
  recording without any API call; `maker demo` loops one for an audience.
- `--paused` or `--playing` (solve, resume, replay, demo) say how the screen opens; unless
  told, a live run and the demo open playing, a replay paused.
- `maker replay FILE --at STEP` opens at that step.
- `--speed S` (also `maker demo --speed S`): samples a second, or `full`; `+` and `-` change it.
- `--theme NAME`: `maker-dark`, `maker-light` or `stage` (for projectors).
- `maker serve [COMMAND ARGS]`: this app in a browser, one of its own for each visitor (the demo
  unless told); in a browser `q` ends that visitor's app and ctrl+s downloads the picture.
- `maker export FILE --cast OUT.cast [--steps A-B]`: a replay as an asciinema cast, exactly as
  this screen draws it.
"""


class HelpScreen(ModalScreen[None]):
    """Explains each pane, figure and key.

    A modal screen hides the app's own bindings (Textual stops the binding chain at the modal),
    so ``ctrl+s`` is bound here again: the help can be saved like every other screen.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "dismiss(None)", "Close"),
        SAVE_SCREEN,
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90%; max-width: 100; height: 90%; border: round $accent; background: $surface; }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = "Help"
            scroll.border_subtitle = "Esc or ? closes · ctrl+s saves"
            yield Markdown(HELP)
