"""Shared helpers: seeded runs of the engine on the simulated model."""

import asyncio
import os

import pytest

from engine.models.sim import SimConfig, SimulatedLLM
from engine.run.config import RunConfig
from engine.run.runner import Runner
from engine.run.summary import RunSummary

# Snapshots and Pilot tests: no animations, the same every run.
os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")


def run_sim(disks=5, k=3, listener=None, samples=False, runner_options=None, **sim_options) -> RunSummary:
    """Run the engine to the end on a seeded simulated model and return its summary."""
    config = RunConfig(disks=disks, k=k, **(runner_options or {}))
    runner = Runner(config, SimulatedLLM(SimConfig(**sim_options)))
    if listener is not None:
        runner.subscribe(listener, samples=samples)
    return asyncio.run(runner.run())


@pytest.fixture(autouse=True)
def _own_data_and_state_folders(tmp_path_factory, monkeypatch):
    """Recordings the TUI makes on its own and crash logs go to a test's folders, never the user's
    (subprocesses inherit the environment)."""
    home = tmp_path_factory.mktemp("xdg")
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "state"))
