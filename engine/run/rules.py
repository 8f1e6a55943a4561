"""A run's sampling rules, worked out once from its settings, and how a step's voting ends: the
one place that says when a step without a winner gives up."""

from __future__ import annotations

import math
from typing import NamedTuple

from engine.run.config import RunConfig
from engine.task.parser import Answer
from engine.voting.tally import VoteTally

Outcome = tuple["VoteTally[Answer] | None", int, int]
"""How a step's voting ended: the tally (None when stopped), its red flags and its cancellations."""


class Rules(NamedTuple):
    """A run's sampling rules, worked out once: temperatures, token limit, round size and caps."""

    k: int
    first_temperature: float
    temperature: float
    max_tokens: int
    first_round: int
    """Samples sent at the start of a step: ``parallel``, and at least k."""
    cap: float
    """Valid votes after which a step without a winner is undecided (infinite: no cap)."""
    red_cap: float

    def exhausted(self, votes: int, red_flags: int) -> bool:
        """Whether a step without a winner is undecided: it reached its vote or red-flag cap."""
        return votes >= self.cap or red_flags >= self.red_cap

    @classmethod
    def of(cls, config: RunConfig) -> Rules:
        return cls(
            config.k, config.first_temperature, config.temperature, config.max_tokens,
            max(config.parallel or config.k, config.k),
            math.inf if config.max_votes_per_step is None else config.max_votes_per_step,
            math.inf if config.max_red_flags_per_step is None else config.max_red_flags_per_step,
        )
