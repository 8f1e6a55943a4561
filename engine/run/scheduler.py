"""The scheduler: how a run asks a model that keeps it waiting, one step or many ahead.

Each step's vote is a :class:`~engine.run.stepvote.StepVote`: its requests run as tasks, and its
replies are judged in the order the requests were launched. The window holds the oldest undecided
step and, with lookahead, up to ``lookahead`` steps beyond it on the predicted path (lookahead 0:
the window is that one step). A step's prompt depends only on the voted answer of the step before
it, and almost every vote ends on the answer the strategy predicts, so each predicted state is the
strategy's move applied to the state before it. Steps are still decided strictly in order, each by
its own votes judged in launch order, so when the predictions hold, the prompts and the decisions
are exactly those of a run without lookahead; only the wall clock changes. When a decided answer
differs from its prediction, everything sampled beyond it is cancelled and thrown away (counted as
wasted samples, tokens and dollars), and the window starts again from the voted state. When the
run ends for any other reason (a stop, the budget, an undecided step, an audit stop, a failure),
the steps ahead are cancelled and counted with the cancelled samples, what came back of them in
the tokens.

A step ahead is judged as its replies come back (so it stops asking once its vote is decided),
but counted in the run's totals, its log and its events only when it becomes the oldest step.
While the run is paced or paused (someone is watching it sample by sample), only the oldest step
is sampled; the window opens again at full speed.

Requests are launched oldest step first, at most ``concurrency`` unanswered at once: the run's
bound on samples asked (which the budget reserves for). A served model's wire applies the same
number to attempts on the wire, which is what bounds a calibration. How fast requests
go out, where, and how often they are tried again is the sampler's wire's business
(:mod:`engine.models.wire`): it gives the oldest step's requests their turn first. A stop returns
at once, whatever the server does; when the budget holds back the oldest step's next sample, the
replies in flight get :data:`~engine.run.sampling.BUDGET_GRACE_S` to come back and show what
they cost, then the run stops.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Protocol

from engine.models.pricing import Pricing
from engine.models.sampler import Completion, Sampler
from engine.run.config import RunConfig
from engine.run.control import RunControl
from engine.run.events import SamplesDiscarded
from engine.run.judge import Judge
from engine.run.listeners import Listeners, emit
from engine.run.rules import Rules
from engine.run.sampling import BUDGET_GRACE_S, Budget, Undecided, settle, wind_down
from engine.run.stepvote import StepVote
from engine.run.summary import Ending
from engine.task.hanoi import Move, State, apply_move, is_legal, strategy_move, total_steps
from engine.task.parser import Answer, Parsed
from engine.task.prompt import Message, PromptBuilder
from engine.voting.tally import VoteTally


class Host(Protocol):
    """What the scheduler needs of the runner: its parts, and the steps it shares with the loop
    for a sampler that never waits."""

    config: RunConfig
    sampler: Sampler
    control: RunControl | None
    budget: Budget | None
    judge: Judge
    listeners: Listeners
    window_depth: int
    """Steps being sampled beyond the oldest undecided one (read by screens)."""

    def begin_step(self, step: int, state: State, previous: Move | None, messages: list[Message]) -> Answer | None: ...
    def decide(self, step: int, state: State, previous: Move | None, expected: Answer | None,
               tally: VoteTally[Answer], red_flags: int, cancelled: int) -> Ending | None: ...
    def undecided(self, step: int, undecided: Undecided, expected: Answer | None, state: State,
                  previous: Move | None) -> Ending: ...
    def interrupted(self, step: int, budget: bool | None = None) -> Ending: ...
    def finish(self, state: State) -> Ending: ...


class Slot:
    """A step in the window: what it is shown, its vote, and its judged samples not yet counted."""

    __slots__ = ("step", "state", "previous", "messages", "vote", "backlog", "expected", "head")

    def __init__(self, step: int, state: State, previous: Move | None, messages: list[Message], vote: StepVote) -> None:
        self.step, self.state, self.previous, self.messages, self.vote = step, state, previous, messages, vote
        self.backlog: list[tuple[int, float, Parsed, Completion]] = []
        """Samples judged while the step was ahead; counted when it becomes the oldest."""
        self.expected: Answer | None = None
        self.head = False


class Scheduler:
    """Runs the steps of a run with a sampler that waits; see the module docstring."""

    def __init__(self, host: Host, builder: PromptBuilder, rules: Rules, stop: asyncio.Future[None] | None) -> None:
        self.host, self.builder, self.rules, self.stop = host, builder, rules, stop
        config = host.config
        self.disks, self.depth, self.last = config.disks, config.lookahead, total_steps(config.disks)
        self.limit = config.concurrency or (config.lookahead + 1) * rules.first_round
        """Requests launched and not answered yet, at most."""
        self.window: deque[Slot] = deque()
        self.owner: dict[asyncio.Task[Completion], Slot] = {}
        self.budget_deadline: float | None = None
        """When the oldest step's grace ends, once the budget has held back one of its samples."""
        self.cancelled: list[asyncio.Task[Completion]] = []
        """Requests cancelled on the way, wound down at the end."""

    # -- the window --------------------------------------------------------------------------------

    def _slot(self, step: int, state: State, previous: Move | None) -> Slot:
        messages = self.builder.messages(previous, state)
        return Slot(step, state, previous, messages, StepVote(step, messages, self.rules, self.disks))

    def _extend(self) -> None:
        """Fill the window with predicted steps: the strategy's move from each predicted state.
        Not while the run is paced or paused: then a person watches the oldest step, and every
        sample asked is one they see."""
        window = self.window
        control = self.host.control
        while (len(window) <= self.depth and window[-1].step < self.last
               and (control is None or not control.engaged)):
            tail = window[-1]
            move = strategy_move(tail.state, tail.previous, self.disks)
            if move is None or not is_legal(tail.state, move):
                break  # nothing to predict from a state the strategy has no move for
            window.append(self._slot(tail.step + 1, apply_move(tail.state, move), move))
        self.host.window_depth = len(window) - 1

    def _become_head(self, slot: Slot) -> None:
        """The oldest undecided step: counted from now on, its backlog first."""
        host = self.host
        slot.head = True
        self.budget_deadline = None  # its own grace, should the budget hold it back
        slot.expected = host.begin_step(slot.step, slot.state, slot.previous, slot.messages)
        for judged in slot.backlog:
            host.judge.count(slot.step, *judged)
        slot.backlog.clear()

    def _throw_away(self, slots: list[Slot], because: int, wasted: bool) -> list[asyncio.Task[Completion]]:
        """Cancel steps sampled ahead and count what they asked for: as wasted when ``because``
        was decided otherwise than predicted, as cancelled when the run ends."""
        tasks: list[asyncio.Task[Completion]] = []
        samples = tokens_in = tokens_out = 0
        for slot in slots:
            vote = slot.vote
            back, _ = vote.leftovers()
            replies = [completion for _, _, _, completion in slot.backlog] + [completion for _, _, completion in back]
            samples += vote.launched
            tokens_in += sum(reply.tokens_in for reply in replies)
            tokens_out += sum(reply.tokens_out for reply in replies)
            for task in vote.cancel():
                self.owner.pop(task, None)
                tasks.append(task)
        if samples:
            host = self.host
            with host.judge.lock:
                host.judge.totals.count_discarded(samples, tokens_in, tokens_out, wasted)
            if host.listeners.steps:
                emit(host.listeners.steps, SamplesDiscarded(because, samples, tokens_in, tokens_out, wasted))
        return tasks

    # -- the run -----------------------------------------------------------------------------------

    async def run(self, step: int, state: State, previous: Move | None) -> Ending:
        host = self.host
        control = host.control
        window = self.window
        window.append(self._slot(step, state, previous))
        try:
            while True:
                head = window[0]
                if not head.head:
                    if control is not None and control.engaged:
                        await control.gate(step_start=True)
                        if control.stop_requested:
                            return "stopped", f"stopped by request before step {head.step}", None
                    self._become_head(head)
                self._extend()
                ending = self._judge_what_came_back()
                if ending is not None:
                    return ending
                if window[0] is not head:
                    continue  # a step was decided: go on with the next at once
                blocked = await self._launch()  # what the votes judged so far still want
                if blocked is not None:
                    return blocked
                ending = await self._wait()
                if ending is not None:
                    return ending
        finally:
            try:  # the steps ahead were never counted: count them now, on whatever ending
                ahead = [slot for slot in window if not slot.head]
                if ahead:
                    self.cancelled += self._throw_away(ahead, ahead[0].step, wasted=False)
            finally:
                for slot in window:
                    self.cancelled += slot.vote.cancel()
                running = settle(self.cancelled)  # those that ended, failed ones too, are collected now
                await wind_down(running)

    async def _launch(self) -> Ending | None:
        """Launch what the window's steps want, oldest first, within the in-flight limit and the
        budget; an Ending when the user stops the run at a gate. The budget holds back steps
        ahead quietly; when it holds back the oldest step, its grace begins (see ``_wait``)."""
        host, control, budget = self.host, self.host.control, self.host.budget
        in_flight = sum(1 for slot in self.window for task in slot.vote.pending if not task.done())
        if budget is not None:  # replies back are charged at their cost, the others at their worst
            uncounted = self._uncounted_usd(budget.pricing)
            unknown = sum(1 for slot in self.window for task in slot.vote.pending if not task.cancelled())
        for slot in self.window if control is None or not control.engaged else [self.window[0]]:
            for _ in range(slot.vote.wanted()):
                if in_flight >= self.limit:
                    return None
                if control is not None and control.engaged:
                    await control.gate(step_start=False)
                    if control.stop_requested:
                        return self._stopped(budget=False)
                if budget is not None and not budget.allows(unknown, uncounted):
                    if slot is self.window[0] and self.budget_deadline is None:
                        self.budget_deadline = asyncio.get_running_loop().time() + BUDGET_GRACE_S
                    return None
                if slot is self.window[0]:
                    self.budget_deadline = None
                task = slot.vote.launch(host.sampler)
                self.owner[task] = slot
                in_flight += 1
                if budget is not None:
                    unknown += 1
        return None

    def _uncounted_usd(self, pricing: Pricing) -> float:
        """What replies back but not yet in the run's totals cost: those of steps ahead, and those
        that came back before an earlier one (the budget charges them beside those in flight)."""
        tokens_in = tokens_out = 0
        for slot in self.window:
            for _, _, _, completion in slot.backlog:
                tokens_in += completion.tokens_in
                tokens_out += completion.tokens_out
            for _, completion in slot.vote.arrived.values():
                tokens_in += completion.tokens_in
                tokens_out += completion.tokens_out
        return pricing.cost(tokens_in, tokens_out) if tokens_in or tokens_out else 0.0

    def _judge_what_came_back(self) -> Ending | None:
        """Judge each step's replies in launch order; decide the oldest step when it can be, and
        the next ones as long as their predictions held."""
        host, window = self.host, self.window
        while window:
            head = window[0]
            while (judged := head.vote.judge_next()) is not None:
                host.judge.count(head.step, *judged)
            vote = head.vote
            if vote.finished is None:
                break
            if vote.finished == "undecided":
                host.judge.cancel_left(head.step, vote)
                return host.undecided(head.step, Undecided(vote.tally, vote.red_flags), head.expected, head.state,
                                      head.previous)
            cancelled = host.judge.cancel_left(head.step, vote)
            for task in vote.cancel():
                self.owner.pop(task, None)
                self.cancelled.append(task)
            ending = host.decide(head.step, head.state, head.previous, head.expected, vote.tally, vote.red_flags,
                                 cancelled)
            window.popleft()
            answer: Answer = vote.tally.leader  # type: ignore[assignment]
            if ending is not None:
                return ending
            if head.step == self.last:
                return host.finish(answer.state)
            following = window[0] if window else None
            if following is None or (following.state, following.previous) != (answer.state, answer.move):
                self.cancelled += self._throw_away(list(window), head.step, wasted=True)
                window.clear()
                window.append(self._slot(head.step + 1, answer.state, answer.move))
            return None  # the caller gates the next step's start
        for slot in list(window)[1:]:  # steps ahead: judged now, counted when they are the oldest
            while (judged := slot.vote.judge_next()) is not None:
                slot.backlog.append(judged)
            if slot.vote.finished is not None:  # what it still has in flight is not needed
                for task in slot.vote.pending:
                    task.cancel()
        self._forget_finished()
        return None

    def _forget_finished(self) -> None:
        """Let go of cancelled requests that have ended (a long run cancels hundreds of thousands),
        taking the outcome of any that failed, so that asyncio logs nothing about it."""
        if len(self.cancelled) > 256:
            self.cancelled = settle(self.cancelled)

    async def _wait(self) -> Ending | None:
        """Wait for a reply (or a stop, or the end of the budget's grace for the oldest step)."""
        stop, deadline = self.stop, self.budget_deadline
        # Replies that came back while launching waited at a gate (a pace, a pause) count too.
        pending = [task for slot in self.window for task in slot.vote.pending if not task.cancelled()]
        if not pending:  # nothing in flight and nothing launched: only the budget does that
            if self.host.budget is None:
                raise RuntimeError(f"step {self.window[0].step}: nothing in flight and nothing to launch")
            return self._stopped(budget=True)
        timeout = None if deadline is None else max(0.0, deadline - asyncio.get_running_loop().time())
        done, _ = await asyncio.wait([*pending, stop] if stop is not None else pending, timeout=timeout,
                                     return_when=asyncio.FIRST_COMPLETED)
        if stop is not None and stop in done:
            return self._stopped(budget=False)
        if not done:
            return self._stopped(budget=True)
        for task in done:
            slot = self.owner.pop(task, None)  # type: ignore[call-overload]
            if slot is not None and not task.cancelled():
                slot.vote.arrive(task)  # type: ignore[arg-type]
        return None

    def _stopped(self, budget: bool) -> Ending:
        """Stop: the oldest step's leftovers are cancelled (and the steps ahead, in ``run``)."""
        host, window = self.host, self.window
        head = window[0]
        if head.head:
            host.judge.cancel_left(head.step, head.vote)
        return host.interrupted(head.step, budget)  # the steps ahead are counted on the way out

