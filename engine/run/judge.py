"""Counting judged replies: the run's totals, the step's log and the sample events.

A reply is judged by :func:`engine.task.parser.judge_reply`; the judge here counts it. It is the
only code that updates the run's totals per sample, and it does so under the run's lock, so that
a screen's copy of the totals is never torn. It also keeps the current step's log of samples for
decision listeners, and emits sample events when someone listens for them.
"""

from __future__ import annotations

import threading

from engine.models.sampler import Completion
from engine.run.events import SampleCancelled, SampleReceived, SampleRedFlagged, StepSample
from engine.run.listeners import Listeners, emit
from engine.run.stepvote import StepVote
from engine.run.totals import Totals
from engine.task.parser import Answer, Parsed


class Judge:
    """Judges one run's samples; see the module docstring."""

    __slots__ = ("totals", "lock", "listeners", "disks", "max_tokens", "temperature", "log", "first")

    def __init__(
        self, totals: Totals, lock: threading.Lock, listeners: Listeners, *, disks: int, max_tokens: int,
        temperature: float,
    ) -> None:
        self.totals = totals
        self.lock = lock
        self.listeners = listeners
        self.disks = disks
        self.max_tokens = max_tokens
        self.temperature = temperature
        """The temperature of every sample but a step's first (samples cancelled undrawn get it)."""
        self.log: list[StepSample] | None = None
        """The current step's samples, kept only when a decision listener wants them."""
        self.first: Parsed | None = None
        """The current step's first sample (launch index 0, judged first): what one agent alone
        would have answered."""

    def count(self, step: int, index: int, temperature: float, parsed: Parsed, completion: Completion) -> Answer | None:
        """Count a judged reply in the run's totals, the step's log and its events."""
        totals, lock = self.totals, self.lock
        lock.acquire()  # cheaper than `with`; the screen's thread copies the totals under it
        try:
            totals.tokens_in += completion.tokens_in
            totals.tokens_out += completion.tokens_out
            if parsed.__class__ is not Answer:
                totals.red_flags[parsed] += 1  # type: ignore[index]
        finally:
            lock.release()
        if index == 0:
            self.first = parsed
        log = self.log
        if log is not None:
            log.append((index, temperature, parsed, completion))
        listeners = self.listeners.samples
        if parsed.__class__ is Answer:
            if listeners:
                emit(listeners, SampleReceived(step, index, temperature, parsed, completion))  # type: ignore[arg-type]
            return parsed  # type: ignore[return-value]
        if listeners:
            emit(listeners, SampleRedFlagged(step, index, temperature, parsed, completion))  # type: ignore[arg-type]
        return None

    def cancel_undrawn(self, step: int, index: int, owed: int) -> int:
        """Count the samples due in this round but never drawn; returns how many."""
        if owed:
            with self.lock:
                self.totals.cancelled += owed
            temperature = self.temperature
            if self.log is not None:
                self.log.extend((late, temperature, None, None) for late in range(index, index + owed))
            listeners = self.listeners.samples
            if listeners:
                for late in range(index, index + owed):
                    emit(listeners, SampleCancelled(step, late, temperature, None))
        return owed

    def cancel_left(self, step: int, vote: StepVote) -> int:
        """Count the samples a finished step no longer needs (the caller cancels the tasks). Replies
        that came back but were not judged were paid for: their tokens count."""
        back, in_flight = vote.leftovers()
        totals, log, listeners = self.totals, self.log, self.listeners.samples
        with self.lock:
            totals.cancelled += len(back) + len(in_flight)
            for _, _, completion in back:
                totals.tokens_in += completion.tokens_in
                totals.tokens_out += completion.tokens_out
        for index, temperature, completion in back:
            if log is not None:
                log.append((index, temperature, None, completion))
            if listeners:
                emit(listeners, SampleCancelled(step, index, temperature, completion))
        for index, temperature in in_flight:
            if log is not None:
                log.append((index, temperature, None, None))
            if listeners:
                emit(listeners, SampleCancelled(step, index, temperature, None))
        return len(back) + len(in_flight)
