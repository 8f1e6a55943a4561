"""What ``maker info`` says about a recording."""

from __future__ import annotations

from typing import Any

from engine.recording.reader import Recording
from engine.run.single_agent import SingleAgent


def describe(recording: Recording) -> dict[str, Any]:
    """What ``maker info --json`` prints."""
    totals = recording.totals()
    meta = recording.meta
    pricing = meta.pricing
    return {
        "path": str(recording.path),
        "disks": meta.run.disks,
        "k": meta.k_at(len(recording) + 1),
        "k_segments": meta.k_segments,
        "model": meta.model,
        "base_url_host": meta.base_url_host,
        "steps_recorded": len(recording),
        "total_steps": recording.total_steps,
        "complete": recording.complete,
        "errors": totals.errors,
        "first_error_step": totals.first_error_step,
        "single_agent": SingleAgent.of(totals).model_dump(),
        "samples": totals.samples,
        "red_flags": totals.red_flags,
        "cancelled": totals.cancelled,
        "tokens_in": totals.tokens_in,
        "tokens_out": totals.tokens_out,
        "cost_usd": None if pricing is None else pricing.cost(totals.tokens_in, totals.tokens_out),
        "wasted": totals.wasted,
        "wasted_tokens_in": totals.wasted_tokens_in,
        "wasted_tokens_out": totals.wasted_tokens_out,
        "wasted_usd": None if pricing is None else pricing.cost(totals.wasted_tokens_in, totals.wasted_tokens_out),
        "undecided_attempts": len(recording.undecided()),
        "being_written": recording.being_written,
        "last_stop": meta.last_stop,
        "last_message": meta.last_message,
        "created_at": meta.created_at,
        "keep_text": meta.keep_text,
        "schema_version": recording.schema_version,
        "prompt_style": meta.run.template().style,
        "prompt_digest": meta.run.template().digest,
        "sampler": meta.sampler,
        "wire": None if meta.wire is None else meta.wire.model_dump(),
    }
