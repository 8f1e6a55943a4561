"""Calibration and the live forecast: p from random steps, k_min from it, the odds along a run."""

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.models.sim import SimConfig, SimulatedLLM
from engine.task.hanoi import total_steps
from engine.voting.calibrate import Calibration, calibrate, samples_for_less
from engine.voting.forecast import forecast
from engine.voting.scaling import k_min, p_step, wilson_interval
from tests.conftest import run_sim

ROOT = Path(__file__).resolve().parent.parent


def maker(*args):
    return subprocess.run([sys.executable, "-m", "tui.cli", *args], capture_output=True, text=True, cwd=ROOT, timeout=300)


def test_calibrating_the_simulated_model_recovers_its_error_rate_and_the_formulas_k_min():
    result = maker("calibrate", "--model", "sim", "--error-rate", "0.05", "--samples", "2000", "--json")
    assert result.returncode == 0, result.stderr
    calibration = json.loads(result.stdout)
    low, high = calibration["p_interval"]
    assert low <= 0.95 <= high
    assert calibration["samples"] == 2000 and calibration["disks"] == 20
    recommended = next(row for row in calibration["projections"] if row["target"] == 0.95)
    # k_min from the measured p_vote, and within what the ends of its interval give.
    vote_low, vote_high = calibration["p_vote_interval"]
    steps = total_steps(20)
    assert recommended["k_min"] == k_min(calibration["p_vote"], steps, 0.95)
    assert k_min(vote_high, steps, 0.95) <= recommended["k_min"] <= k_min(vote_low, steps, 0.95)
    assert 0 < calibration["v"] < 1 and calibration["p_vote"] > calibration["p"]
    assert recommended["cost_usd"] > 0 and recommended["time_s"] > 0


@pytest.mark.parametrize("error_rate", [0.02, 0.2])
def test_calibration_intervals_cover_the_configured_rate(error_rate):
    """A 95% interval: over 20 seeds it must cover the true rate nearly always (19 expected)."""
    covered = 0
    for seed in range(20):
        sampler = SimulatedLLM(SimConfig(error_rate=error_rate, seed=seed))
        low, high = asyncio.run(calibrate(sampler, disks=12, samples=1000, seed=seed)).p_interval
        covered += low <= 1 - error_rate <= high
    assert covered >= 16


def test_k_auto_takes_k_min_from_a_calibration_file(tmp_path):
    out = tmp_path / "calibration.json"
    made = maker("calibrate", "--model", "sim", "--error-rate", "0.1", "--samples", "500", "--disks", "10", "--out", str(out))
    assert made.returncode == 0 and out.exists()
    calibration = Calibration.load(out)
    run = maker("solve", "--headless", "--disks", "8", "--k", "auto", "--calibration", str(out),
                "--error-rate", "0.1", "--json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["k"] == calibration.k_for(8, 0.95) == k_min(calibration.p_advised, 255, 0.95)
    assert calibration.p_advised == calibration.p_vote_interval[0] < calibration.p_vote
    plan = maker("plan", "--calibration", str(out), "--json")
    rows = json.loads(plan.stdout)
    assert rows[-1]["model"] == "sim (calibrated)" and rows[-1]["k_min"] == calibration.k_for(20, 0.95)


def test_100_error_free_samples_never_advise_a_k_below_what_the_interval_supports():
    """A hundred right answers say p_vote = 1, which alone would advise k = 1 for a million steps;
    the advice is the k that the pessimistic end of the 95% interval asks for, and more samples
    lower it by as much as they narrow the interval."""
    calibration = asyncio.run(calibrate(SimulatedLLM(SimConfig(error_rate=0.0, seed=1)), disks=20, samples=100, seed=1))
    steps = total_steps(20)
    assert calibration.right == calibration.valid == 100 and calibration.p_vote == 1.0
    low = wilson_interval(100, 100)[0]
    assert calibration.p_advised == low and 0.95 < low < 0.97
    assert k_min(1.0, steps, 0.95) == 1
    for row in calibration.projections:
        assert row.k_min == k_min(low, steps, row.target) >= 5
    assert calibration.k_for(20, 0.95) == 6
    more = calibration.samples_for_less
    assert more is not None and more > 100 and calibration.k_with_more == 5
    assert k_min(wilson_interval(more, more)[0], steps, 0.95) == 5
    assert k_min(wilson_interval(more - 1, more - 1)[0], steps, 0.95) == 6
    shown = maker("calibrate", "--samples", "100", "--error-rate", "0")
    said = " ".join(shown.stdout.split())
    assert shown.returncode == 0 and "but cannot rule out 0.9630, so k_min is taken from that" in said, said
    assert "(the rate they show would say k = 1 at 0.95)" in said


def test_samples_for_less_is_the_first_count_that_lowers_the_advice():
    """With errors among the samples too: the share right kept, the advice only goes down."""
    steps = total_steps(20)
    for right, valid in ((97, 100), (40, 50), (9, 10)):
        found = samples_for_less(right, valid, 20)
        assert found is not None
        more, k = found
        share = right / valid
        now = k_min(wilson_interval(right, valid)[0], steps, 0.95)
        assert more > valid and k_min(wilson_interval(share * more, more)[0], steps, 0.95) == k < now
        assert k_min(wilson_interval(share * (more - 1), more - 1)[0], steps, 0.95) == now
    assert samples_for_less(5, 10, 20) is None  # p_vote = 0.5: no number of samples helps
    assert samples_for_less(0, 0, 20) is None


def test_the_forecast_at_10_percent_predicts_the_total_votes_within_5_percent():
    summary = run_sim(disks=16, seed=2, error_rate=0.01)
    early = next(f for f in summary.forecast_history if abs(f.progress - 0.10) < 0.001)
    assert early.steps_done == round(total_steps(16) * 0.10)
    assert abs(early.projected_total_votes - summary.samples) <= 0.05 * summary.samples
    judged = summary.samples + sum(summary.red_flags.values())
    assert abs(early.projected_total_samples - judged) <= 0.05 * judged
    # Over the whole run the estimate of p brackets the share of valid votes the model gets right:
    # it errs 1% of the time, 30% of the errors red-flagged (not votes), 70% wrong votes.
    p_vote = 1 - 0.01 * 0.7 / (1 - 0.01 * 0.3)
    low, high = summary.forecast.p_interval
    assert low <= p_vote <= high
    assert summary.forecast.steps_done == total_steps(16) and summary.forecast.p_zero_error_finish == 1.0


def test_finish_odds_follow_the_formula():
    outlook = forecast(steps_done=100, total_steps=1100, k=3, votes=400, winner_votes=360, red_flags=10,
                       cost_usd=1.0, elapsed_s=10.0, steps_timed=100)
    assert outlook.p == 0.9
    assert outlook.p_zero_error_finish == pytest.approx(p_step(0.9, 3) ** 1000)
    assert outlook.projected_remaining_time_s == pytest.approx(100.0)
    assert outlook.projected_remaining_cost_usd == pytest.approx(10.0)
    assert outlook.projected_total_votes == 4400
    doomed = forecast(steps_done=10, total_steps=20, k=3, votes=30, winner_votes=12, red_flags=0,
                      cost_usd=None, elapsed_s=None, steps_timed=0)
    assert doomed.p_zero_error_finish is None and doomed.projected_remaining_cost_usd is None


def test_bad_calibration_files_are_one_line(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    for args in (["solve", "--headless", "--k", "auto", "--calibration", str(bad)],
                 ["plan", "--calibration", str(tmp_path / "missing.json")],
                 ["solve", "--headless", "--k", "auto"]):
        result = maker(*args)
        assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
