"""Durations in words, for every place that writes one for a person: ``42.0 s``, ``3.5 min``,
``2.0 h``, ``3.0 days`` (or whole numbers, for a countdown that changes every second)."""

from __future__ import annotations


def duration_text(seconds: float, whole: bool = False) -> str:
    """``seconds`` in the largest unit that keeps the number readable."""
    seconds = max(0.0, seconds)
    for limit, size, unit in ((120, 1, "s"), (7200, 60, "min"), (172800, 3600, "h")):
        if seconds < limit:
            value = seconds / size
            return f"{value:.0f} {unit}" if whole else f"{value:.1f} {unit}"
    return f"{seconds / 86400:.1f} days"
