"""Shared helpers: seeded runs of the engine on the simulated model."""

import asyncio
import os

from engine.runner import RunConfig, Runner, RunSummary
from engine.sim import SimConfig, SimulatedLLM

# Snapshots and Pilot tests: no animations, the same every run.
os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")


def run_sim(disks=5, k=3, listener=None, samples=False, runner_options=None, **sim_options) -> RunSummary:
    """Run the engine to the end on a seeded simulated model and return its summary."""
    config = RunConfig(disks=disks, k=k, **(runner_options or {}))
    runner = Runner(config, SimulatedLLM(SimConfig(**sim_options)))
    if listener is not None:
        runner.subscribe(listener, samples=samples)
    return asyncio.run(runner.run())
