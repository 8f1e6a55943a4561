"""A seeded simulated LLM that reads the prompt and writes raw text like a real model.

It reads the previous move and the current state from the user message, works out the strategy's
move, and writes a short reasoning line followed by the two answer lines. With probability
``error_rate`` (``hard_error_rate`` on the configured hard steps) it errs instead, in one of four
ways: a wrong move with the state that move leads to, the right move with a wrong state, a
malformed reply, or an overlong ramble cut at the token limit. Its text goes through the same
parser and red flags as any model's; it never hands the engine a parsed answer.
"""

from __future__ import annotations

import asyncio
import random
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from engine.models.sampler import Completion, estimate_prompt_tokens
from engine.models.sim_prompt import asks_for_fences, read_values
from engine.models.sim_text import (
    ErrorKind,
    StepView,
    answer_lines,
    cut,
    malformed,
    overlong,
    reasoning,
    wrong_answer,
    wrong_reasoning,
)
from engine.task.hanoi import (
    IllegalMove,
    State,
    apply_move,
    state_before_step,
    strategy_move,
    total_steps,
)
from engine.task.prompt import Message
from engine.voting.scaling import NoMargin, expected_votes_per_step

SIM_MODEL = "sim"
"""The simulated model's name, in the price table and in recordings."""


DEFAULT_ERROR_KINDS = {
    ErrorKind.WRONG_MOVE: 0.45,
    ErrorKind.WRONG_STATE: 0.25,
    ErrorKind.MALFORMED: 0.2,
    ErrorKind.OVERLONG: 0.1,
}


class SimConfig(BaseModel):
    """How the simulated model behaves; everything it does follows from these and the seed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    error_rate: float = Field(0.0022, ge=0.0, le=1.0)
    """Chance that a sample is wrong in any way (the paper's gpt-4.1-mini at temperature 0.1)."""
    error_kinds: dict[ErrorKind, float] = Field(default_factory=lambda: dict(DEFAULT_ERROR_KINDS))
    """Relative weights of the error kinds."""
    wrong_answers: Literal["spread", "same"] = "spread"
    """``same``: every valid wrong vote of a step is one answer (two candidates, the gambler's-ruin
    case); ``spread``: wrong votes scatter over several wrong answers."""
    hard_steps: tuple[int, ...] = ()
    """Steps (1-based) on which the model errs at ``hard_error_rate``: correlated, hard steps."""
    hard_error_rate: float = Field(0.5, ge=0.0, le=1.0)
    latency_s: float = Field(0.0, ge=0.0)
    """Median reply time; 0 answers at once."""
    latency_spread: float = Field(0.0, ge=0.0)
    """Sigma of the log-normal factor on the latency; 0 makes it fixed."""
    seed: int = 0

    def expected_votes(self, k: int) -> float | None:
        """The gambler's-ruin valid votes per step at this error rate (red flags are not votes);
        None when p <= 0.5. Hard steps are left out: they are too few to move the mean."""
        weights = self.error_kinds
        total = sum(weights.values())
        valid_wrong = (weights.get(ErrorKind.WRONG_MOVE, 0) + weights.get(ErrorKind.WRONG_STATE, 0)) / total
        valid = 1 - self.error_rate * (1 - valid_wrong)
        if valid <= 0:
            return None
        p = 1 - self.error_rate * valid_wrong / valid
        try:
            return expected_votes_per_step(p, k)
        except NoMargin:
            return None

    @field_validator("error_kinds")
    @classmethod
    def _some_weight(cls, kinds: dict[ErrorKind, float]) -> dict[ErrorKind, float]:
        if any(weight < 0 for weight in kinds.values()) or sum(kinds.values()) <= 0:
            raise ValueError("error kinds need non-negative weights that do not all vanish")
        return kinds


def _splitmix(key: int) -> int:
    """53 well-mixed random bits from a 64-bit key (splitmix64's finaliser)."""
    z = ((key ^ (key >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return (z ^ (z >> 31)) >> 11


class _Step:
    """One prompt as the model has seen it: what it read, its key, and how often it was asked."""

    __slots__ = ("view", "key", "bits", "calls", "same_wrong")

    def __init__(self, view: StepView, key: int) -> None:
        self.view = view
        self.key = key
        """The step's key: every draw for its samples comes from it and the sample's index."""
        self.bits = _splitmix(key)
        """Random bits for the uniform draws of the step's first three samples, 17 bits each (so a
        draw is a multiple of 2**-17: an error rate is rounded up to the next multiple)."""
        self.calls = 0
        self.same_wrong: str | None = None
        """The step's one wrong answer, in ``same`` mode."""


_M64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
STEPS_REMEMBERED = 1024
"""Prompts the model keeps its count of samples for, when a caller does not number them."""


class SimulatedLLM:
    """A seeded stand-in for a chat model; see the module docstring. A :class:`Sampler`.

    Every draw for a sample depends only on the seed, the step, the prompt's state and previous
    move, and the sample's index in the step (``sample``, which the engine gives with each
    request), never on the order of calls: a run makes the same replies whether its steps are
    sampled one at a time or many ahead, and whether it was killed and resumed or not. A caller
    that does not say which sample it asks for (a server answering requests) gets the prompt's
    next sample, counted per prompt.
    """

    base_url = None
    hedging = False
    """Never: a sample's reply and its latency depend on the sample alone, so asking again is as slow."""

    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config or SimConfig()
        self.name = SIM_MODEL
        self.completes_without_waiting = self.config.latency_s == 0
        """True without latency: ``complete`` never suspends, so the runner calls ``complete_now``."""
        self.usage_estimated = 0
        weights = {kind: w for kind, w in self.config.error_kinds.items() if w > 0}
        self._kinds = list(weights)
        total = sum(weights.values())
        self._kind_cumulative = []
        running = 0.0
        for kind in self._kinds:
            running += weights[kind] / total
            self._kind_cumulative.append(running)
        self._hard_states: dict[int, frozenset[State]] = {}
        self._counted: OrderedDict[str, _Step] = OrderedDict()
        """Prompts asked without saying which sample, with how often each was asked."""
        self._last_prompt: str | None = None
        self._last_step_number = 0
        self._last_step: _Step | None = None
        self._last_system: Message | None = None
        self._fenced = False
        self._last_index = 0

    async def start(self) -> None:
        """Nothing to reach: the model runs in this process."""

    async def close(self) -> None:
        """Nothing to release."""

    def wire_report(self) -> None:
        """None: the simulated model has no server."""

    def settings(self) -> dict[str, Any]:
        """The model's configuration, seed included: a recording rebuilds it from these."""
        return {"kind": SIM_MODEL, **self.config.model_dump(mode="json")}

    async def complete(
        self, messages: Sequence[Message], temperature: float, max_tokens: int, sample: tuple[int, int] | None = None
    ) -> Completion:
        """Write one reply to ``messages``, after the configured latency; see :class:`SimConfig`."""
        completion = self.complete_now(messages, temperature, max_tokens, sample)
        if self.config.latency_s:
            latency = self.config.latency_s
            if self.config.latency_spread:  # drawn for the sample just written
                step, index = self._last_step, self._last_index
                rng = random.Random((step.key + index * _GOLDEN) & _M64 ^ _GOLDEN)  # type: ignore[union-attr]
                latency *= rng.lognormvariate(0.0, self.config.latency_spread)
            await asyncio.sleep(latency)
            completion = completion._replace(latency_s=latency)
        return completion

    def complete_now(
        self, messages: Sequence[Message], temperature: float, max_tokens: int, sample: tuple[int, int] | None = None
    ) -> Completion:
        """Write one reply at once (the model's thinking, without its latency). ``sample`` is the
        (step, index) the engine asks for; without it the prompt's next sample is written."""
        prompt = messages[-1]["content"]
        if sample is None:
            step = self._counted_step(messages, max_tokens)
            index = step.calls
            step.calls = index + 1
        else:
            number, index = sample
            step = self._last_step  # type: ignore[assignment]
            if prompt is not self._last_prompt or number != self._last_step_number:
                step = self._numbered_step(messages, max_tokens, number)
        self._last_index = index
        if index < 3:  # the common case: 17 of the step's 51 random bits
            u = ((step.bits >> (17 * index)) & 0x1FFFF) * 7.62939453125e-06
        else:
            u = _splitmix((step.key + index * _GOLDEN) & _M64) * 1.1102230246251565e-16
        view = step.view
        if u >= view.error_rate and view.right_completion is not None:
            if max_tokens == view.max_tokens:
                return view.right_completion
            return cut(view.right_completion.text, view.tokens_in, max_tokens)
        rng = random.Random((step.key + index * _GOLDEN) & _M64)
        return cut(self._wrong_text(view, rng, max_tokens, step), view.tokens_in, max_tokens)

    def _numbered_step(self, messages: Sequence[Message], max_tokens: int, number: int) -> _Step:
        """Step ``number`` shown this prompt: its draws come from the seed, the number and what
        the prompt shows (an off-path run can show one state at two steps)."""
        view = self._read(messages, max_tokens)
        shown = (view.state, view.previous or (0, 0, 0))  # None's hash is not the same in every process
        step = _Step(view, hash((self.config.seed, number, shown)) & _M64)
        self._last_prompt, self._last_step_number, self._last_step = messages[-1]["content"], number, step
        return step

    def _counted_step(self, messages: Sequence[Message], max_tokens: int) -> _Step:
        """The prompt's step when the caller does not number its samples, remembered with its count
        (a server's requests for several steps interleave)."""
        prompt = messages[-1]["content"]
        step = self._counted.get(prompt)
        if step is None:
            view = self._read(messages, max_tokens)
            shown = (view.state, view.previous or (0, 0, 0))
            step = self._counted[prompt] = _Step(view, hash((self.config.seed, shown)) & _M64)
            if len(self._counted) > STEPS_REMEMBERED:
                self._counted.popitem(last=False)
        self._last_prompt, self._last_step_number, self._last_step = None, 0, step
        return step

    # -- reading the prompt ---------------------------------------------------------------------

    def _read(self, messages: Sequence[Message], max_tokens: int) -> StepView:
        """What the model makes of a prompt: read once, shared by all the samples asked of it."""
        prompt = messages[-1]["content"]
        tokens_in = estimate_prompt_tokens(messages)
        if messages[0] is not self._last_system:  # the same system message all run long: read it once
            self._last_system, self._fenced = messages[0], asks_for_fences(messages)
        fenced = self._fenced
        state, previous = read_values(prompt)
        view = StepView(0, ((), (), ()), previous, None, "I could not find the current state.", 1.0, tokens_in, None,
                         max_tokens, fenced)
        if state is not None:
            disks = len(state[0]) + len(state[1]) + len(state[2])
            move = strategy_move(state, previous, disks)
            try:
                right = (move, apply_move(state, move)) if move is not None else None
            except IllegalMove:
                right = None
            if right is None:
                view = view._replace(disks=disks, state=state,
                                     reasoning="No move fits the strategy here; I will move disk 1 anyway.")
            else:
                error_rate = self.config.error_rate
                if self.config.hard_steps and state in self._hard_states_for(disks):
                    error_rate = self.config.hard_error_rate
                thought = reasoning(previous, right[0], disks)
                completion = cut(f"{thought}\n{answer_lines(*right, fenced)}", tokens_in, max_tokens)
                view = StepView(disks, state, previous, right, thought, error_rate, tokens_in, completion, max_tokens,
                                 fenced)
        return view

    def _hard_states_for(self, disks: int) -> frozenset[State]:
        states = self._hard_states.get(disks)
        if states is None:
            states = frozenset(
                state_before_step(step, disks) for step in self.config.hard_steps if 1 <= step <= total_steps(disks)
            )
            self._hard_states[disks] = states
        return states

    # -- getting it wrong -----------------------------------------------------------------------

    def _wrong_text(self, view: StepView, rng: random.Random, max_tokens: int, step: _Step) -> str:
        draw = rng.random()
        kind = self._kinds[-1]
        for candidate, edge in zip(self._kinds, self._kind_cumulative, strict=True):
            if draw < edge:
                kind = candidate
                break
        if view.right is None:
            kind = ErrorKind.MALFORMED
        if kind is ErrorKind.OVERLONG:
            return overlong(view.reasoning, max_tokens)
        if kind is ErrorKind.MALFORMED:
            return malformed(view, rng)
        if self.config.wrong_answers == "same":
            if step.same_wrong is None:
                wrong = wrong_answer(view, ErrorKind.WRONG_MOVE, None)
                step.same_wrong = f"{wrong_reasoning(view, wrong[0], None)}\n{answer_lines(*wrong, view.fenced)}"
            return step.same_wrong
        move, state = wrong_answer(view, kind, rng)
        return f"{wrong_reasoning(view, move, rng)}\n{answer_lines(move, state, view.fenced)}"


