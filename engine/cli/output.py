"""How the command line writes figures: a run's summary, dollars and long durations."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from engine.models.faults import faults_text
from engine.models.sampler import ServerReport, WireReport
from engine.recording.files import has_wal
from engine.run.single_agent import single_agent_text
from engine.run.summary import RunSummary


def usd(value: float | None) -> str:
    """Dollars for a table: ``-`` when unknown, thousands as ``$12.3K``."""
    if value is None:
        return "-"
    return f"${value / 1000:,.1f}K" if value >= 1000 else f"${value:,.2f}"


def recorded_text(record: Path, unfinished: bool, replay: bool = False) -> str:
    """Where a run's samples went, how to see them again, how to go on; and, when the run ended
    with its steps still in SQLite's log beside the file (a disk that filled up), to keep the two."""
    text = f"recorded to {record}"
    if has_wal(record):
        text += f" (some of its steps are in {record}-wal: keep the two together)"
    if replay:
        text += f"; replay it with: maker replay {record}"
    if unfinished:
        text += f"; continue with: maker resume {record}"
    return text


def figures_table() -> Table:
    """Two columns, a dim label and its figure, with no frame."""
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="dim")
    table.add_column()
    return table


def flags_text(red_flags: dict[str, int]) -> str:
    return ", ".join(f"{name} {count:,}" for name, count in red_flags.items() if count) or "none"


def wasted_text(samples: int, tokens_in: int, tokens_out: int, usd: float | None) -> str:
    cost = "" if usd is None else f", ${usd:,.4f}"
    return f"{samples:,} samples ({tokens_in:,} / {tokens_out:,} tokens{cost})"


def server_text(server: ServerReport) -> str:
    """One server's share of a fleet's work: requests, faults, and how often it went down."""
    down = f"; down {server.times_down}x" if server.times_down else ""
    now = f"; down for {server.down_s:,.0f} s now" if server.down_s is not None else ""
    return f"{server.requests:,} requests ({faults_text(server.faults) or 'no faults'}{down}{now})"


def rate_text(wire: WireReport) -> str:
    """The provider's limit as the run learned it, and --rpm."""
    how = {"headers": "from its x-ratelimit headers", "429s": "where its 429s began"}.get(wire.limit_source, "")
    parts = [f"the provider's limit about {wire.limit_rpm:,.0f} requests/min ({how})" if wire.limit_rpm is not None
             else "no provider's limit met"]
    if wire.ceiling_rpm is not None:
        parts.append(f"--rpm {wire.ceiling_rpm:,}")
    return "; ".join(parts)


def wire_rows(table: Table, wire: WireReport) -> None:
    """A served model's requests, retries, faults, rate and servers, as rows of ``table``."""
    hedged = f", {wire.hedged:,} asked again for being slow" if wire.hedged else ""
    table.add_row("requests", f"{wire.requests:,} sent, {wire.replies:,} replies, {wire.retries:,} retries{hedged}")
    table.add_row("faults (retried)", faults_text(wire.faults) or "no faults")
    table.add_row("rate", rate_text(wire))
    if len(wire.servers) > 1 or any(server.times_down for server in wire.servers):
        for server in wire.servers:
            table.add_row(f"server {server.host}", server_text(server))


def print_summary(summary: RunSummary, console: Console, expected: float | None = None) -> None:
    """A run's summary as a small table."""
    style = "green" if summary.solved else "red"
    console.print(f"[bold {style}]{summary.message}[/]", highlight=False)
    table = figures_table()
    table.add_row("model", summary.model)
    table.add_row("disks, k", f"{summary.disks}, {summary.k}")
    table.add_row("steps decided", f"{summary.steps:,} of {summary.total_steps:,}")
    table.add_row("audit errors", f"[red]{summary.errors}[/]" if summary.errors else "0")
    lone = summary.single_agent
    if lone is not None:
        table.add_row("one agent alone", single_agent_text(lone.first_wrong_step, lone.wrong_steps, lone.steps,
                                                           summary.total_steps, summary.errors))
    votes = f"{summary.samples:,} ({summary.samples_per_step:.4f} per step"
    votes += f"; formula {expected:.4f})" if expected is not None else ")"
    table.add_row("valid votes", votes)
    table.add_row("red flags", flags_text(summary.red_flags))
    table.add_row("cancelled", f"{summary.cancelled:,}")
    if summary.lookahead:
        table.add_row("wasted (lookahead)", wasted_text(summary.wasted, summary.wasted_tokens_in,
                                                        summary.wasted_tokens_out, summary.wasted_usd))
    table.add_row("steps over k votes", f"{summary.steps_over_k:,}")
    estimated = f" ({summary.usage_estimated:,} replies without usage: estimated)" if summary.usage_estimated else ""
    table.add_row("tokens in / out", f"{summary.tokens_in:,} / {summary.tokens_out:,}{estimated}")
    table.add_row("cost", "unknown (no price)" if summary.cost_usd is None else f"${summary.cost_usd:,.2f}")
    if summary.wire is not None:
        wire_rows(table, summary.wire)
    table.add_row("wall time", f"{summary.wall_s:,.1f} s")
    console.print(table)
