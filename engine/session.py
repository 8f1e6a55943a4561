"""A run with its sampler, control and (optionally) its recording: what the CLI and the TUI start.

``new_session`` starts a run from settings; ``resume_session`` continues a recording from its last
durable step with the recorded configuration (k may change).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.control import RunControl
from engine.pricing import Pricing
from engine.recording import Recorder, Recording, RecordingError, recording_meta
from engine.runner import RunConfig, Runner, RunSummary
from engine.sampling import Sampler, host_of
from engine.sim import SimConfig, SimulatedLLM


@dataclass
class Session:
    """A runner wired to its control and recorder; :meth:`run` closes the recording at the end."""

    runner: Runner
    control: RunControl
    recorder: Recorder | None = None
    summary: RunSummary | None = None
    """How the run ended, once it has."""

    async def run(self) -> RunSummary:
        try:
            self.summary = await self.runner.run()
            return self.summary
        finally:
            self.close()

    def close(self) -> None:
        """Flush and close the recording (safe to call twice)."""
        recorder, self.recorder = self.recorder, None
        if recorder is not None:
            recorder.close()


def sampler_settings(sampler: Sampler) -> dict[str, Any]:
    """What a recording keeps to rebuild the sampler on resume (never a key)."""
    if isinstance(sampler, SimulatedLLM):
        return {"kind": "sim", **sampler.config.model_dump(mode="json")}
    describe = getattr(sampler, "settings", None)
    return describe() if callable(describe) else {"kind": type(sampler).__name__}


def new_session(
    config: RunConfig,
    sampler: Sampler,
    pricing: Pricing | None,
    *,
    record: Path | None = None,
    keep_text: bool = False,
    control: RunControl | None = None,
) -> Session:
    """A fresh run, recorded to ``record`` when given (the file must not exist)."""
    control = control or RunControl()
    runner = Runner(config, sampler, pricing=pricing, control=control)
    recorder = None
    if record is not None:
        meta = recording_meta(
            config,
            sampler.name,
            sampler_settings(sampler),
            price_in=pricing.input_usd_per_m if pricing else None,
            price_out=pricing.output_usd_per_m if pricing else None,
            keep_text=keep_text,
            base_url_host=host_of(getattr(sampler, "base_url", None)),
        )
        recorder = Recorder(record, meta, runner.checkpoint)
        recorder.attach(runner)
    return Session(runner, control, recorder)


def resume_session(
    path: Path,
    *,
    k: int | None = None,
    budget_usd: float | None = None,
    control: RunControl | None = None,
    make_sampler: Any = None,
) -> Session:
    """Continue a recording from its last durable step, appending to it.

    ``make_sampler(meta, first_step)`` rebuilds a real model's sampler; the simulated model is
    rebuilt here, its random stream moved on so the resumed part does not repeat the first.
    """
    with Recording.open(path) as recording:
        meta = recording.meta
        if recording.complete:
            raise RecordingError(f"{path}: the run is complete ({len(recording):,} steps); nothing to resume")
        position = recording.position_before(len(recording) + 1)
        totals = recording.totals()
    config = meta.run if k is None else meta.run.model_copy(update={"k": k})
    if budget_usd is not None:
        config = config.model_copy(update={"budget_usd": budget_usd})
    if config.max_votes_per_step < config.k:
        raise RecordingError(f"k = {config.k} needs a vote cap of at least k (the recording's is {config.max_votes_per_step})")
    settings = dict(meta.sampler)
    if settings.get("kind") == "sim":
        settings.pop("kind")
        sampler: Sampler = SimulatedLLM(SimConfig.model_validate(settings), stream=position.step)
    elif make_sampler is not None:
        sampler = make_sampler(meta, position.step)
    else:
        raise RecordingError(f"{path}: its model {meta.model!r} cannot be rebuilt here")
    pricing = Pricing(meta.price_in, meta.price_out) if meta.price_in is not None and meta.price_out is not None else None
    if k is not None and k != meta.k_at(position.step):
        meta.k_segments.append((position.step, k))
    control = control or RunControl()
    runner = Runner(config, sampler, pricing=pricing, resume_from=position, control=control, stats=totals.run_stats())
    recorder = Recorder(path, meta, position, append=True)
    recorder.attach(runner)
    return Session(runner, control, recorder)
