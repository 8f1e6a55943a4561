"""A run with its sampler, control and (optionally) its recording: what the CLI and the TUI start.

``new_session`` starts a run from settings; ``resume_session`` continues a recording from its last
durable step with the recorded configuration (k may change).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from engine.models.factory import ServerOptions, is_simulated, rebuild_sampler
from engine.models.pricing import Pricing
from engine.models.sampler import Sampler
from engine.models.urls import host_of
from engine.recording.format import RecordingError, RecordingMeta, recording_meta
from engine.recording.reader import Recording
from engine.recording.writer import Recorder
from engine.run.config import Checkpoint, InvalidConfig, RunConfig
from engine.run.control import RunControl
from engine.run.runner import Runner
from engine.run.summary import RunSummary


@dataclass
class Session:
    """A runner wired to its control and recorder; :meth:`run` closes the recording at the end."""

    runner: Runner
    control: RunControl
    recorder: Recorder | None = None
    summary: RunSummary | None = None
    """How the run ended, once it has."""

    async def run(self) -> RunSummary:
        summary = await self.runner.run()
        if self.recorder is not None and summary.wire is not None:  # a resumed run: the whole run's wire
            summary = summary.model_copy(update={"wire": self.recorder.whole_run(summary.wire)})
            self.runner.finished = summary
        try:
            self.close()
        except RecordingError as exc:
            if summary.stopped != "recording_error":  # the run went on; the last write did not
                summary = summary.model_copy(update={
                    "stopped": "recording_error",
                    "message": f"{summary.message}; but the recording failed at the end: {exc}",
                })
                self.runner.finished = summary  # what a screen shows as the run's end
        self.summary = summary
        return summary

    def close(self) -> None:
        """Flush and close the recording (safe to call twice)."""
        recorder, self.recorder = self.recorder, None
        if recorder is not None:
            recorder.close()


def new_session(
    config: RunConfig,
    sampler: Sampler,
    pricing: Pricing | None,
    *,
    record: Path | None = None,
    keep_text: bool | None = None,
    control: RunControl | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Session:
    """A fresh run, recorded to ``record`` when given (a new file, or an empty one that a recording
    which never got going left there). ``keep_text`` None keeps every reply's text of a served
    model, and only the red-flagged and minority ones of the simulated model."""
    config = config.model_copy(update={"prompt": config.template()})  # the recording keeps the whole text
    control = control or RunControl(clock=clock)
    runner = Runner(config, sampler, pricing=pricing, control=control, clock=clock)
    recorder = None
    if record is not None:
        meta = recording_meta(
            config,
            sampler.name,
            sampler.settings(),
            pricing=pricing,
            keep_text=not is_simulated(sampler.name) if keep_text is None else keep_text,
            base_url_host=host_of(sampler.base_url),
        )
        recorder = _recorder_or_close(sampler, record, meta, runner.checkpoint, append=False)
        recorder.attach(runner)
    return Session(runner, control, recorder)


def resume_session(
    path: Path,
    *,
    k: int | None = None,
    budget_usd: float | None = None,
    control: RunControl | None = None,
    server: ServerOptions | None = None,
    lookahead: int | None = None,
    concurrency: int | None = None,
) -> Session:
    """Continue a recording from its last durable step, appending to it.

    The whole file is checked first: a damaged recording is refused and left as it is. The
    sampler is rebuilt from the recorded settings (``server`` overrides a served model's); k, the
    budget, lookahead and concurrency may change.
    """
    with Recording.open(path) as recording:
        recording.verify()
        meta = recording.meta
        if recording.complete:
            raise RecordingError(f"{path}: the run is complete ({len(recording):,} steps); nothing to resume")
        position = recording.position_before(len(recording) + 1)
        totals = recording.totals()
    changes: dict[str, object] = {"k": k, "budget_usd": budget_usd, "lookahead": lookahead, "concurrency": concurrency}
    changes = {name: value for name, value in changes.items() if value is not None}
    if meta.run.concurrency is None and concurrency is None and not is_simulated(meta.model):
        changes["concurrency"] = meta.sampler.get("concurrency", ServerOptions().concurrency)  # recorded before it had one
    try:
        config = meta.run.changed(**changes)
    except InvalidConfig as exc:
        raise RecordingError(f"{path}: {exc}") from None
    if config.budget_usd is not None and meta.pricing is None:
        raise RecordingError(f"{path}: the recorded model {meta.model!r} has no prices, so no budget can be kept")
    sampler = rebuild_sampler(meta.model, meta.sampler, position.step, server)
    if k is not None and k != meta.k_at(position.step):
        meta.k_segments.append((position.step, k))
    control = control or RunControl()
    runner = Runner(config, sampler, pricing=meta.pricing, resume_from=position, control=control, totals=totals)
    recorder = _recorder_or_close(sampler, path, meta, position, append=True)
    recorder.attach(runner)
    return Session(runner, control, recorder)


def _recorder_or_close(sampler: Sampler, path: Path, meta: RecordingMeta, start: Checkpoint, append: bool) -> Recorder:
    """The run's recorder; when the file cannot be written, the sampler's connections are closed
    before the error goes on (no run will use them)."""
    try:
        return Recorder(path, meta, start, append=append)
    except BaseException:
        asyncio.run(sampler.close())
        raise
