"""What a run did, as ``maker solve --json`` prints it, and how an undecided step is explained."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from engine.models.sampler import WireReport
from engine.run.config import StopReason
from engine.run.single_agent import SingleAgent
from engine.task.hanoi import Move, State, format_move, format_state
from engine.task.parser import Answer
from engine.voting.forecast import Forecast
from engine.voting.tally import VoteTally


class UndecidedStep(BaseModel):
    """The step a run stopped at because no candidate got ahead by k."""

    step: int
    votes: int
    red_flags: int
    tally: list[tuple[str, int]]
    """Candidates as ``move | next_state`` with their votes, most first."""
    estimated_p: float
    """The share of valid votes the most popular candidate got: an upper bound on p for this step."""
    right_answer_share: float | None
    """The share the auditor's answer got, when the auditor knows one."""


class RunSummary(BaseModel):
    """What a run did, as ``maker solve --json`` prints it."""

    model_config = ConfigDict(extra="forbid")

    disks: int
    k: int
    model: str
    steps: int
    """Decided steps."""
    total_steps: int
    errors: int
    """Decided steps whose move or state the audit found wrong."""
    solved: bool
    samples: int
    """Valid votes."""
    red_flags: dict[str, int]
    cancelled: int
    tokens_in: int
    tokens_out: int
    cost_usd: float | None
    """None when the model has no price: unknown, never zero."""
    lookahead: int = 0
    wasted: int = 0
    """Samples asked ahead on a prediction the votes did not give, thrown away (lookahead)."""
    wasted_tokens_in: int = 0
    wasted_tokens_out: int = 0
    wasted_usd: float | None = None
    wall_s: float
    stopped: StopReason
    message: str
    first_error_step: int | None
    steps_over_k: int
    """Decided steps that needed more than k valid votes."""
    samples_per_step: float
    votes_histogram: dict[int, int]
    forecast: Forecast | None = None
    """The odds and remaining work at the end (all of it done, for a finished run)."""
    forecast_history: list[Forecast] = Field(default_factory=list)
    """Forecasts made at 1%, 10%, 25%, 50% and 75% of the run."""
    wire: WireReport | None = None
    """What went over the wire to a served model: requests, rates, retries, faults by kind (never
    votes, never red flags), each server's part; None for a model without a server."""
    usage_estimated: int = 0
    """Replies whose server sent no token counts (or not all): those were estimated from the text."""
    undecided: UndecidedStep | None = None
    single_agent: SingleAgent | None = None
    """What one agent alone, without MAKER's vote, would have done on the steps decided."""
    log_file: str | None = None
    """Where the traceback of a failure that is a bug was written, when there was one."""


Ending = tuple[StopReason, str, UndecidedStep | None]
"""How a run ended: its stop reason, its message, and the undecided step when there was one."""


def format_answer_short(answer: tuple[Move, State]) -> str:
    """``[1, 0, 2] | [[..], [..], [..]]``: a candidate on one line."""
    return f"{format_move(answer[0])} | {format_state(answer[1])}"


def explain_undecided(
    step: int, tally: VoteTally[Answer], red_flags: int, expected: Answer | None
) -> tuple[str, UndecidedStep]:
    """The message and the detail of a step that hit its cap without a winner."""
    ranked = tally.ranked()
    votes = tally.total
    top = ranked[0][1] if ranked else 0
    estimated_p = top / votes if votes else 0.0
    right_share = tally.counts.get(expected, 0) / votes if expected is not None and votes else None
    tally_text = ", ".join(f"{format_answer_short(answer)} x{count}" for answer, count in ranked[:4])
    if len(ranked) > 4:
        tally_text += f", and {len(ranked) - 4} more"
    if votes:
        why = (
            f"after {votes} valid votes no answer is ahead by {tally.k} "
            f"(tally: {tally_text}); the most popular answer has p <= {estimated_p:.2f}"
        )
    else:
        why = f"every one of {red_flags} samples was red-flagged"
    message = (
        f"step {step} is undecided: {why}. Voting cannot fix a systematic error (p < 0.5): "
        "use a stronger model, a higher vote cap, or a different prompt."
    )
    detail = UndecidedStep(
        step=step,
        votes=votes,
        red_flags=red_flags,
        tally=[(format_answer_short(answer), count) for answer, count in ranked],
        estimated_p=estimated_p,
        right_answer_share=right_share,
    )
    return message, detail
