"""A run's settings, where it goes on from, and the reasons it can end."""

from __future__ import annotations

from typing import Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from engine.task.hanoi import MAX_DISKS, Move, State, start_state
from engine.task.prompt import DEFAULT_STYLE, PromptTemplate, built_in

MAX_LOOKAHEAD = 512
"""The most steps a run samples ahead: a window of 513 steps at k = 3 is over 1,500 requests in
flight, more than any one client is likely to want."""

StopReason = Literal[
    "solved",
    "finished",
    "undecided",
    "audit_error",
    "stopped",
    "budget",
    "sampler_error",
    "recording_error",
    "listener_error",
    "internal_error",
]
"""Why a run ended: it solved the tower; it decided every step but some wrong; a step hit its cap;
the audit stopped it (``stop_on_error``); the user stopped it; the budget did; the model failed;
the recording could not be written; a listener failed; or the engine itself did."""

FAILURES: frozenset[str] = frozenset({"sampler_error", "recording_error", "listener_error", "internal_error"})
"""The stop reasons that are failures: something went wrong that the run could not go on past."""


class InvalidConfig(ValueError):
    """Settings that cannot make a run, in one line."""


class RunConfig(BaseModel):
    """The settings of a run; a recording stores them so the run can be resumed or replayed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    disks: int = Field(20, ge=1, le=MAX_DISKS)
    k: int = Field(3, ge=1)
    max_tokens: int = Field(750, ge=1)
    """Replies cut at or running past this many output tokens are red-flagged ``too_long``."""
    first_temperature: float = Field(0.0, ge=0.0, le=2.0)
    temperature: float = Field(0.1, ge=0.0, le=2.0)
    max_votes_per_step: int | None = Field(50, ge=1)
    """Valid votes after which a step without a winner ends the run as undecided; None samples on
    until the step is decided, as the paper does. A step still open after 50 votes almost surely
    has p < 0.5 for that step: more samples only cost more, and voting will not fix it."""
    max_red_flags_per_step: int | None = Field(200, ge=1)
    """Red flags after which a step ends the run as undecided (the model cannot answer it in the
    format); None never gives up."""
    parallel: int | None = Field(None, ge=1)
    """Samples sent at the start of a step; default k. More than k cuts latency but may waste some."""
    lookahead: int = Field(0, ge=0, le=MAX_LOOKAHEAD)
    """Steps sampled ahead of the oldest undecided one, on the states the strategy predicts; the
    votes alone decide, in order, and what a wrong prediction sampled is thrown away (wasted)."""
    concurrency: int | None = Field(None, ge=1)
    """Requests in flight at most across all steps (lookahead); None: as many as the window asks."""
    stop_on_error: bool = False
    budget_usd: float | None = Field(None, gt=0)
    """Stop before a sample could take the run's spend past this (needs prices)."""
    prompt: PromptTemplate | None = None
    """The agent's prompt; None is the paper's prompt for this many disks. A session stores the
    whole template, so that a resumed run asks exactly what the first part asked."""

    @model_validator(mode="after")
    def _cap_allows_a_decision(self) -> RunConfig:
        if self.max_votes_per_step is not None and self.max_votes_per_step < self.k:
            raise ValueError(f"a vote cap of {self.max_votes_per_step} can never decide a step at k = {self.k}: "
                             "the cap must be at least k (or none)")
        return self

    @classmethod
    def checked(cls, **fields: object) -> RunConfig:
        """Settings from ``fields``; :class:`InvalidConfig` says in words what is wrong with them."""
        try:
            return cls.model_validate(fields)
        except ValidationError as exc:
            raise InvalidConfig(str(exc.errors()[0]["msg"]).removeprefix("Value error, ")) from None

    def changed(self, **updates: object) -> RunConfig:
        """These settings with ``updates``, checked as new ones are (:class:`InvalidConfig`)."""
        return RunConfig.checked(**{**dict(self), **updates})

    def template(self) -> PromptTemplate:
        """The prompt this run asks with."""
        return self.prompt if self.prompt is not None else built_in(DEFAULT_STYLE, self.disks)


class Checkpoint(NamedTuple):
    """Where a run goes on from: the next step, the state it is shown and the move before it."""

    step: int
    state: State
    previous_move: Move | None

    @classmethod
    def start(cls, disks: int) -> Checkpoint:
        return cls(1, start_state(disks), None)
