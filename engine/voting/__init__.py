"""Voting and the scaling laws: the first-to-ahead-by-k tally, the formulas, the live forecast,
the plan before a run and the calibration that measures a model's p."""
