"""The scaling laws and the paper's model table."""

import math

import pytest

from engine.task.hanoi import total_steps
from engine.voting.plan import paper_models, paper_plan, plan_row
from engine.voting.scaling import (
    NoMargin,
    expected_cost,
    expected_votes_per_step,
    k_min,
    p_full,
    p_step,
    wilson_interval,
)


def test_the_paper_table_k_min_column_is_reproduced_exactly():
    assert [row.k_min for row in paper_plan(20, 0.95)] == [29, 4, 3, 3, 12, None, 6, 15, 6, 6]


def test_the_paper_table_projected_costs_are_reproduced_within_ten_percent():
    for row in paper_plan(20, 0.95):
        if row.paper_cost_usd is None:
            assert row.cost_usd is None
            continue
        assert row.cost_usd == pytest.approx(row.paper_cost_usd, rel=0.10), row.model


def test_the_paper_models_data_is_the_papers():
    names = [model.name for model in paper_models()]
    assert names[0] == "gpt-4.1-nano" and names[-1] == "kimi-k2" and len(names) == 10


def test_k_min_is_the_smallest_margin_reaching_the_target():
    for p in (0.55, 0.7, 0.9, 0.99, 0.9978):
        for steps in (10, 1023, total_steps(20)):
            k = k_min(p, steps, 0.95)
            assert p_full(p, k, steps) >= 0.95
            if k > 1:
                assert p_full(p, k - 1, steps) < 0.95


def test_k_min_grows_like_log_s():
    ks = [k_min(0.9, 10**e, 0.95) for e in range(2, 8)]
    assert ks == sorted(ks)
    assert ks[-1] - ks[0] <= math.ceil(math.log(10**5) / math.log(9)) + 1


def test_no_margin_below_one_half():
    for p in (0.5, 0.3):
        with pytest.raises(NoMargin):
            k_min(p, 100, 0.95)
        with pytest.raises(NoMargin):
            p_step(p, 3)
    assert plan_row("x", 0.4, steps=100, target=0.95, pricing=None, tokens_in=1, tokens_out=1).k_min is None


def test_expected_votes_limits():
    assert expected_votes_per_step(1.0, 4) == 4
    assert expected_votes_per_step(0.9, 1) == pytest.approx(1.0)
    # k / (2p - 1) is the large-k limit.
    assert expected_votes_per_step(0.9, 30) == pytest.approx(30 / 0.8, rel=1e-9)


def test_expected_cost_scales_with_red_flags():
    base = expected_cost(0.9, 3, 1000, 0.001)
    assert expected_cost(0.9, 3, 1000, 0.001, valid_rate=0.5) == pytest.approx(2 * base)


def test_wilson_interval_contains_the_estimate_and_narrows():
    low, high = wilson_interval(95, 100)
    assert low < 0.95 < high
    low2, high2 = wilson_interval(950, 1000)
    assert high2 - low2 < high - low
