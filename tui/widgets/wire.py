"""Wire: a served model's requests in flight, the rate they go at, retries, faults, servers."""

from __future__ import annotations

from engine.models.faults import faults_text
from engine.models.sampler import WireReport
from engine.view.snapshot import Snapshot
from tui.widgets.figures import Figures, Row
from tui.widgets.format import compact


def rpm(value: float | None) -> str:
    return "--" if value is None else f"{compact(round(value))}/min"


def faults_row(wire: WireReport) -> Row:
    if not any(wire.faults.values()):
        return Row("faults", "none")
    return Row("faults", faults_text(wire.faults, compact), "alert" if wire.status else "",
               short=faults_text(wire.faults, compact, sep=" ").replace(": ", ":"))


def servers_row(wire: WireReport) -> Row:
    down = [server for server in wire.servers if server.down_s is not None]
    total = len(wire.servers)
    if not down:
        return Row("servers", f"{total} up" if total > 1 else "up")
    longest = max(server.down_s or 0.0 for server in down)
    what = f"{len(down)}/{total} down" if total > 1 else "down"
    return Row("servers", f"{what} {longest:.0f}s", "alert", short=f"{what}")


class WirePane(Figures):
    """What goes over the wire to a served model: requests in flight of the concurrency allowed
    (and those waiting their turn), the requests a minute sent lately against the provider's limit
    as the run has learned it (from its headers, or from where its 429s began), retries, faults by
    kind (all retried, never votes), and whether each server is up. Hidden for a model without a
    server. In a replay, the figures are the whole recorded run's."""

    DEFAULT_CSS = """
    WirePane { padding: 0 1; }
    """

    def show(self, snapshot: Snapshot) -> None:
        self.display = snapshot.wire is not None
        super().show(snapshot)

    def rows_of(self, snapshot: Snapshot) -> list[Row]:
        wire = snapshot.wire
        if wire is None:
            return []
        limit = wire.limit_rpm if wire.limit_rpm is not None else wire.ceiling_rpm
        queued = f", {compact(wire.queued)} waiting" if wire.queued else ""
        return [
            Row("in flight", f"{wire.in_flight}/{wire.concurrency}{queued}",
                short=f"{wire.in_flight}+{compact(wire.queued)}" if wire.queued else f"{wire.in_flight}/{wire.concurrency}"),
            Row("sent", rpm(wire.sent_rpm)),
            Row("limit", f"~{rpm(limit)}" if limit is not None else "none met"),
            Row("retries", compact(wire.retries)),
            faults_row(wire),
            servers_row(wire),
        ]
