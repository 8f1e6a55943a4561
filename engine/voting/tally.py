"""First-to-ahead-by-k voting.

A candidate wins as soon as its votes reach ``k`` plus the votes of its strongest rival:
``votes[y] >= k + max(votes[other])``. The tally keeps the leader and the runner-up count
incrementally, so a vote costs O(1) however many candidates there are.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, TypeVar

C = TypeVar("C", bound=Hashable)


class VoteTally(Generic[C]):
    """The votes of one step, in the order they arrived."""

    __slots__ = ("k", "counts", "leader", "leader_votes", "runner_up_votes", "total")

    def __init__(self, k: int) -> None:
        if k < 1:
            raise ValueError("k must be at least 1")
        self.k = k
        self.counts: dict[C, int] = {}
        self.leader: C | None = None
        self.leader_votes = 0
        self.runner_up_votes = 0
        self.total = 0

    def add(self, candidate: C) -> bool:
        """Count one vote; True when it decides the step."""
        votes = self.counts.get(candidate, 0) + 1
        self.counts[candidate] = votes
        self.total += 1
        if candidate == self.leader:
            self.leader_votes = votes
        elif votes > self.leader_votes:
            self.runner_up_votes = self.leader_votes
            self.leader, self.leader_votes = candidate, votes
        elif votes > self.runner_up_votes:
            self.runner_up_votes = votes
        return self.leader_votes - self.runner_up_votes >= self.k

    @property
    def lead(self) -> int:
        """The leader's votes minus the strongest rival's."""
        return self.leader_votes - self.runner_up_votes

    @property
    def decided(self) -> bool:
        """True once the leader is ahead by k."""
        return self.leader_votes - self.runner_up_votes >= self.k

    @property
    def votes_still_needed(self) -> int:
        """The fewest further votes that could decide the step (all for the leader)."""
        return max(0, self.k - (self.leader_votes - self.runner_up_votes))

    def ranked(self) -> list[tuple[C, int]]:
        """Candidates with their votes, most votes first, ties in order of first vote."""
        return sorted(self.counts.items(), key=lambda item: -item[1])
