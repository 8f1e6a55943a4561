"""One step's vote with a sampler that waits: its requests, its replies, and its tally.

Replies are judged in the order their requests were launched, not the order they come back: the
k-th vote is always the k-th sample. So a step is decided the same way however the server orders
its replies, whether the step is sampled alone or alongside later ones (lookahead). A reply that
arrives early waits for those launched before it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from engine.models.sampler import Completion, Sampler
from engine.run.failures import SamplerFailed
from engine.run.rules import Rules
from engine.task.parser import Answer, Parsed, judge_reply
from engine.task.prompt import Message
from engine.voting.tally import VoteTally


class StepVote:
    """The samples of one step and their tally; see the module docstring."""

    __slots__ = ("step", "messages", "rules", "disks", "tally", "pending", "arrived", "launched", "judged",
                 "red_flags", "finished")

    def __init__(self, step: int, messages: Sequence[Message], rules: Rules, disks: int) -> None:
        self.step = step
        self.messages = messages
        self.rules = rules
        self.disks = disks
        self.tally: VoteTally[Answer] = VoteTally(rules.k)
        self.pending: dict[asyncio.Task[Completion], tuple[int, float]] = {}
        """Requests in flight: their launch index and temperature."""
        self.arrived: dict[int, tuple[float, Completion]] = {}
        """Replies that came back before an earlier one, by launch index."""
        self.launched = 0
        self.judged = 0
        self.red_flags = 0
        self.finished: str | None = None
        """``"decided"`` or ``"undecided"`` (a cap was reached), once the step has an outcome."""

    @property
    def in_flight(self) -> int:
        """Samples launched and not judged yet (in flight, or back early)."""
        return self.launched - self.judged

    def wanted(self) -> int:
        """Samples to launch now: the first round, then as many as the leader still needs."""
        if self.finished is not None:
            return 0
        needed = self.rules.first_round if self.launched == 0 else self.tally.votes_still_needed
        return max(0, needed - self.in_flight)

    def launch(self, sampler: Sampler) -> asyncio.Task[Completion]:
        temperature = self.rules.first_temperature if self.launched == 0 else self.rules.temperature
        task = asyncio.ensure_future(
            sampler.complete(self.messages, temperature, self.rules.max_tokens, (self.step, self.launched))
        )
        self.pending[task] = (self.launched, temperature)
        self.launched += 1
        return task

    def arrive(self, task: asyncio.Task[Completion]) -> None:
        """Take a finished request's reply; a request that failed is the model's fault, unless
        the step was decided without it (then nobody needs it)."""
        index, temperature = self.pending.pop(task)
        try:
            completion = task.result()
        except Exception as exc:
            if self.finished is not None:
                return
            raise SamplerFailed(f"step {self.step}") from exc
        self.arrived[index] = (temperature, completion)

    def judge_next(self) -> tuple[int, float, Parsed, Completion] | None:
        """Judge the next reply in launch order, if it has come back; None when it has not."""
        if self.finished is not None:
            return None
        entry = self.arrived.pop(self.judged, None)
        if entry is None:
            return None
        temperature, completion = entry
        rules = self.rules
        parsed = judge_reply(completion.text, completion.finish_reason, completion.tokens_out, rules.max_tokens,
                             self.disks)
        index = self.judged
        self.judged += 1
        if parsed.__class__ is Answer:
            if self.tally.add(parsed):  # type: ignore[arg-type]
                self.finished = "decided"
            elif rules.exhausted(self.tally.total, self.red_flags):
                self.finished = "undecided"
        else:
            self.red_flags += 1
            if rules.exhausted(self.tally.total, self.red_flags):
                self.finished = "undecided"
        return index, temperature, parsed, completion

    def leftovers(self) -> tuple[list[tuple[int, float, Completion]], list[tuple[int, float]]]:
        """What the step no longer needs: replies back but not judged (paid for), in launch order,
        and requests still in flight. The caller cancels the tasks."""
        back = [(index, temperature, completion) for index, (temperature, completion) in sorted(self.arrived.items())]
        for task in [task for task in self.pending if task.done() and not task.cancelled()]:
            if task.exception() is None:  # came back with the stop: paid for too
                index, temperature = self.pending.pop(task)
                back.append((index, temperature, task.result()))
        self.arrived.clear()
        back.sort()
        return back, sorted(self.pending.values())

    def cancel(self) -> list[asyncio.Task[Completion]]:
        """Cancel the requests still in flight; returns them (to wait for their end)."""
        tasks = list(self.pending)
        for task in tasks:
            task.cancel()
        return tasks
