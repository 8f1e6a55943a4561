"""Who hears a run's events: step listeners, sample listeners, and decision listeners.

The lists are tuples, replaced and never mutated, so a screen may subscribe or unsubscribe from
its own thread while the engine runs: the engine reads the new tuple at its next event.
Unsubscribing compares by equality, so a bound method (a new object each time it is read) is found.
A listener that raises stops the run (:class:`~engine.run.failures.ListenerFailed`).
"""

from __future__ import annotations

from engine.run.events import Event, Listener
from engine.run.failures import ListenerFailed


class Listeners:
    """The listeners of one run."""

    __slots__ = ("starts", "steps", "samples", "decisions", "decisions_want_samples")

    def __init__(self) -> None:
        self.starts: tuple[Listener, ...] = ()
        """Called with each :class:`~engine.run.events.StepStarted`."""
        self.steps: tuple[Listener, ...] = ()
        """Called with each decided or undecided step and the end of the run."""
        self.samples: tuple[Listener, ...] = ()
        """Called with each sample event; the engine builds none when this is empty."""
        self.decisions: tuple[Listener, ...] = ()
        """The step listeners that want each step's samples in its event."""
        self.decisions_want_samples = False
        """True once a decision listener wants each step's samples in its event."""

    def subscribe(self, listener: Listener, *, samples: bool = False) -> None:
        """Every step-level event, and sample-level ones too if ``samples``."""
        self.starts = (*self.starts, listener)
        self.steps = (*self.steps, listener)
        if samples:
            self.samples = (*self.samples, listener)

    def subscribe_samples(self, listener: Listener) -> None:
        """Sample-level events only."""
        self.samples = (*self.samples, listener)

    def subscribe_decisions(self, listener: Listener) -> None:
        """Decided and undecided steps with their samples in the event, and the end of the run:
        all a recorder needs, at the cost of a tuple a sample and no sample event."""
        self.steps = (*self.steps, listener)
        self.decisions = (*self.decisions, listener)
        self.decisions_want_samples = True

    def unsubscribe(self, listener: Listener) -> None:
        """Stop calling ``listener`` for anything."""
        self.starts = tuple(known for known in self.starts if known != listener)
        self.steps = tuple(known for known in self.steps if known != listener)
        self.samples = tuple(known for known in self.samples if known != listener)
        self.decisions = tuple(known for known in self.decisions if known != listener)
        self.decisions_want_samples = bool(self.decisions)

    def __len__(self) -> int:
        """Distinct listeners subscribed to anything."""
        seen: list[Listener] = []
        for listener in (*self.starts, *self.steps, *self.samples):
            if listener not in seen:
                seen.append(listener)
        return len(seen)


def emit(listeners: tuple[Listener, ...], event: Event) -> None:
    """Call each listener with ``event``; one that raises ends the run with what it raised."""
    try:
        for listener in listeners:
            listener(event)
    except Exception as exc:
        raise ListenerFailed(f"{type(event).__name__} listener") from exc
