"""First-to-ahead-by-k voting, checked against brute force and the scaling laws by Monte Carlo."""

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.voting.scaling import expected_votes_per_step, p_step
from engine.voting.tally import VoteTally


@given(st.integers(1, 6), st.lists(st.integers(0, 4), max_size=80))
def test_the_tally_decides_exactly_when_brute_force_says_a_candidate_leads_by_k(k, votes):
    tally = VoteTally(k)
    counts: dict[int, int] = {}
    for vote in votes:
        decided = tally.add(vote)
        counts[vote] = counts.get(vote, 0) + 1
        best = max(counts.values())
        others = [c for candidate, c in counts.items() if candidate != vote] or [0]
        brute = counts[vote] - max(others) >= k
        assert decided == brute
        assert tally.leader_votes == best
        assert tally.lead == best - max([c for cand, c in counts.items() if cand != tally.leader] or [0])
        if decided:
            assert tally.leader == vote
            break


def test_votes_still_needed_counts_down_the_leaders_margin():
    tally = VoteTally(3)
    assert tally.votes_still_needed == 3
    tally.add("a")
    assert tally.votes_still_needed == 2
    tally.add("b")
    assert tally.votes_still_needed == 3
    tally.add("a")
    tally.add("a")
    assert tally.votes_still_needed == 1
    assert tally.add("a") and tally.decided and tally.votes_still_needed == 0


def _simulate(p, k, steps, rng, wrong_answers=1):
    total = wrong = 0
    for _ in range(steps):
        tally = VoteTally(k)
        while True:
            vote = 0 if rng.random() < p else rng.randrange(1, wrong_answers + 1)
            total += 1
            if tally.add(vote):
                wrong += tally.leader != 0
                break
    return total / steps, wrong / steps


@pytest.mark.parametrize("p,k", [(0.6, 1), (0.6, 3), (0.7, 2), (0.75, 5), (0.9, 3)])
def test_monte_carlo_matches_the_gamblers_ruin_and_p_step_formulas(p, k):
    steps = 20000
    mean_votes, error_rate = _simulate(p, k, steps, random.Random(1234))
    expected = expected_votes_per_step(p, k)
    assert mean_votes == pytest.approx(expected, rel=0.03)
    # The step error rate within four binomial standard errors of 1 - p_step.
    q = 1 - p_step(p, k)
    assert abs(error_rate - q) <= 4 * math.sqrt(q * (1 - q) / steps) + 1e-4


@pytest.mark.parametrize("p,k", [(0.6, 3), (0.8, 3)])
def test_spreading_wrong_votes_over_several_answers_never_costs_more_votes(p, k):
    two_way, _ = _simulate(p, k, 20000, random.Random(7))
    spread, spread_errors = _simulate(p, k, 20000, random.Random(7), wrong_answers=4)
    assert spread <= two_way
    assert spread_errors <= 1 - p_step(p, k)
