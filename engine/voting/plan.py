"""Plan a run before paying for it: k_min, expected samples and projected cost per model.

The paper's workflow: estimate p on random steps, compute k_min and the projected cost, choose the
model, then run. A plan row is computed from p, the prices and the tokens per call; input tokens are
those of this project's own prompt for the chosen number of disks.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources

from pydantic import BaseModel, ConfigDict, Field

from engine.models.pricing import Pricing, pricing_for
from engine.models.sampler import estimate_prompt_tokens
from engine.task.hanoi import start_state, total_steps
from engine.task.prompt import DEFAULT_STYLE, PromptBuilder, PromptTemplate, built_in
from engine.voting.scaling import NoMargin, expected_cost, expected_samples_per_step, k_min, p_full, p_step


class PaperModel(BaseModel):
    """A row of the paper's model table (``engine/data/paper_models.toml``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    price: str
    error_rate: float = Field(ge=0, le=1)
    tokens_out: int = Field(gt=0)
    paper_k_min: int | None = None
    paper_cost_usd: float | None = None


class _PaperTable(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    models: list[PaperModel]


@cache
def paper_models() -> list[PaperModel]:
    """The paper's model table, validated."""
    raw = resources.files("engine").joinpath("data/paper_models.toml").read_text(encoding="utf-8")
    return _PaperTable.model_validate(tomllib.loads(raw)).models


class PlanRow(BaseModel):
    """One model's plan for a run of ``steps`` steps at target ``target``."""

    model: str
    p: float
    steps: int
    target: float
    k_min: int | None
    """None when p <= 0.5: no margin reaches the target."""
    p_step: float | None
    p_full: float | None
    expected_samples_per_step: float | None
    tokens_in: int
    tokens_out: int
    valid_rate: float
    cost_per_sample_usd: float | None
    cost_usd: float | None
    """None when p <= 0.5 or the model has no price."""
    paper_k_min: int | None = None
    paper_cost_usd: float | None = None
    wall_s: float | None = None
    """Projected wall clock one step at a time (given a :class:`Pace`)."""
    wall_lookahead_s: float | None = None
    """Projected wall clock with lookahead (given a :class:`Pace` with lookahead)."""


class Pace(BaseModel):
    """How fast a served model answers and how much of it a run may use, for a wall-clock
    projection (``maker plan --latency``)."""

    model_config = ConfigDict(frozen=True)

    latency_s: float = Field(gt=0)
    """Seconds from request to reply."""
    concurrency: int = Field(ge=1)
    rpm: int | None = Field(None, ge=1)
    lookahead: int = Field(ge=0)


def wall_clock(pace: Pace, steps: int, k: int, samples_per_step: float) -> tuple[float, float | None]:
    """Projected seconds for ``steps`` steps one at a time, and with ``pace.lookahead``.

    One step at a time, a step takes a round trip for each round of votes (about
    ``samples_per_step / k`` rounds, the first round asking k at once, or as many as
    ``concurrency`` allows). With lookahead, up to
    ``min(concurrency, (lookahead + 1) * k)`` requests are in flight all the time, so the run
    goes at that many requests a latency. Either way ``rpm`` caps requests a second at rpm / 60.
    A bound for a well-behaved server, not a promise: a slow or rate-limiting one takes longer.
    """
    request_s = 60.0 / pace.rpm if pace.rpm else 0.0
    rounds = max(1.0, samples_per_step / min(k, pace.concurrency))
    alone = steps * max(rounds * pace.latency_s, samples_per_step * request_s)
    if not pace.lookahead:
        return alone, None
    in_flight = min(pace.concurrency, (pace.lookahead + 1) * k)
    ahead = steps * samples_per_step * max(pace.latency_s / in_flight, request_s)
    return alone, min(alone, ahead)


def prompt_tokens(disks: int, template: PromptTemplate | None = None) -> int:
    """Estimated input tokens of one step's prompt for ``disks`` disks (the state at the start,
    which holds every disk, as every state does); ``template`` defaults to the paper's prompt."""
    template = template if template is not None else built_in(DEFAULT_STYLE, disks)
    return estimate_prompt_tokens(PromptBuilder(template).messages(None, start_state(disks)))


def plan_row(
    model: str,
    p: float,
    *,
    steps: int,
    target: float,
    pricing: Pricing | None,
    tokens_in: int,
    tokens_out: int,
    valid_rate: float = 1.0,
    k: int | None = None,
    pace: Pace | None = None,
) -> PlanRow:
    """Plan one model; ``k`` overrides k_min for the probabilities and the cost; ``pace``
    projects the wall clock."""
    try:
        kmin = k_min(p, steps, target)
    except NoMargin:
        kmin = None
    used_k = k if k is not None else kmin
    cost_per_sample = pricing.cost(tokens_in, tokens_out) if pricing else None
    step_p = full_p = samples = cost = wall = wall_ahead = None
    if used_k is not None and p > 0.5:
        step_p = p_step(p, used_k)
        full_p = p_full(p, used_k, steps)
        samples = expected_samples_per_step(p, used_k, valid_rate)
        if cost_per_sample is not None:
            cost = expected_cost(p, used_k, steps, cost_per_sample, valid_rate)
        if pace is not None:
            wall, wall_ahead = wall_clock(pace, steps, used_k, samples)
    return PlanRow(
        model=model,
        p=p,
        steps=steps,
        target=target,
        k_min=kmin,
        p_step=step_p,
        p_full=full_p,
        expected_samples_per_step=samples,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        valid_rate=valid_rate,
        cost_per_sample_usd=cost_per_sample,
        cost_usd=cost,
        wall_s=wall,
        wall_lookahead_s=wall_ahead,
    )


def paper_plan(disks: int = 20, target: float = 0.95, template: PromptTemplate | None = None,
               pace: Pace | None = None) -> list[PlanRow]:
    """The paper's table recomputed for ``disks`` disks at ``target``, with the input tokens of
    ``template`` (default: the paper's prompt); ``pace`` projects each row's wall clock."""
    steps = total_steps(disks)
    tokens_in = prompt_tokens(disks, template)
    rows = []
    for entry in paper_models():
        row = plan_row(
            entry.name,
            1.0 - entry.error_rate,
            steps=steps,
            target=target,
            pricing=pricing_for(entry.price),
            tokens_in=tokens_in,
            tokens_out=entry.tokens_out,
            pace=pace,
        )
        rows.append(row.model_copy(update={"paper_k_min": entry.paper_k_min, "paper_cost_usd": entry.paper_cost_usd}))
    return rows
