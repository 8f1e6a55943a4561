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
from collections import Counter
from collections.abc import Sequence
from enum import StrEnum
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, field_validator

from engine.models.sampler import Completion, estimate_prompt_tokens, estimate_tokens
from engine.models.sim_prompt import asks_for_fences, read_values
from engine.task.hanoi import (
    IllegalMove,
    Move,
    State,
    apply_move,
    format_move,
    format_state,
    is_legal,
    state_before_step,
    strategy_move,
    total_steps,
)
from engine.task.prompt import Message
from engine.voting.scaling import NoMargin, expected_votes_per_step

SIM_MODEL = "sim"
"""The simulated model's name, in the price table and in recordings."""


class ErrorKind(StrEnum):
    """The ways the simulated model gets a step wrong."""

    WRONG_MOVE = "wrong_move"
    """Another legal move, with the state it really leads to: a consistent wrong vote."""
    WRONG_STATE = "wrong_state"
    """The right move, with a disk misplaced in the next state: an inconsistent wrong vote."""
    MALFORMED = "malformed"
    """A reply the parser rejects: a line missing, a move of two numbers, a disk written twice."""
    OVERLONG = "overlong"
    """Rambling cut off at the token limit (finish reason ``length``)."""


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


class _StepView(NamedTuple):
    """What the model made of one prompt; shared by all samples of a step."""

    disks: int
    state: State
    right: tuple[Move, State] | None
    """The strategy's answer, or None when the prompt admits none (no state, or a broken one)."""
    reasoning: str
    error_rate: float
    tokens_in: int
    right_completion: Completion | None
    """The right reply, built once a step: a model at temperature 0 writes the same text each time."""
    max_tokens: int
    fenced: bool
    """The prompt asks for the answer lines between inline triple backticks."""


_DIRECTION_WORD = {1: "clockwise", -1: "counterclockwise"}
_RAMBLE = (
    "Hmm, wait. Let me look at the pegs again and reconsider which disk is on top, because the "
    "previous move matters here and I want to be sure before I answer. "
)


class SimulatedLLM:
    """A seeded stand-in for a chat model; see the module docstring. A :class:`Sampler`."""

    base_url = None

    def __init__(self, config: SimConfig | None = None, stream: int = 1) -> None:
        """``stream`` picks the random stream: a run resumed at step s uses stream s, so that the
        resumed part does not repeat the draws the first part made."""
        self.config = config or SimConfig()
        self.name = SIM_MODEL
        self.completes_without_waiting = self.config.latency_s == 0
        """True without latency: ``complete`` never suspends, so the runner calls ``complete_now``."""
        self.transport_errors: Counter[str] = Counter()
        self.usage_estimated = 0
        self._rng = random.Random(self.config.seed if stream == 1 else f"{self.config.seed}/{stream}")
        weights = {kind: w for kind, w in self.config.error_kinds.items() if w > 0}
        self._kinds = list(weights)
        total = sum(weights.values())
        self._kind_cumulative = []
        running = 0.0
        for kind in self._kinds:
            running += weights[kind] / total
            self._kind_cumulative.append(running)
        self._hard_states: dict[int, frozenset[State]] = {}
        self._last_prompt: str | None = None
        self._last_system: Message | None = None
        self._fenced = False
        self._last_view: _StepView | None = None
        self._same_wrong: tuple[str, str] | None = None

    async def start(self) -> None:
        """Nothing to reach: the model runs in this process."""

    async def close(self) -> None:
        """Nothing to release."""

    def settings(self) -> dict[str, Any]:
        """The model's configuration, seed included: a recording rebuilds it from these."""
        return {"kind": SIM_MODEL, **self.config.model_dump(mode="json")}

    async def complete(self, messages: Sequence[Message], temperature: float, max_tokens: int) -> Completion:
        """Write one reply to ``messages``, after the configured latency; see :class:`SimConfig`."""
        completion = self.complete_now(messages, temperature, max_tokens)
        if self.config.latency_s:
            latency = self.config.latency_s
            if self.config.latency_spread:
                latency *= self._rng.lognormvariate(0.0, self.config.latency_spread)
            await asyncio.sleep(latency)
            completion = completion._replace(latency_s=latency)
        return completion

    def complete_now(self, messages: Sequence[Message], temperature: float, max_tokens: int) -> Completion:
        """Write one reply at once (the model's thinking, without its latency)."""
        prompt = messages[-1]["content"]
        view = self._last_view if prompt is self._last_prompt else self._read(messages, max_tokens)
        if self._rng.random() >= view.error_rate and view.right_completion is not None:
            if max_tokens == view.max_tokens:
                return view.right_completion
            return _cut(view.right_completion.text, view.tokens_in, max_tokens)
        return _cut(self._wrong_text(view, self._rng, max_tokens), view.tokens_in, max_tokens)

    # -- reading the prompt ---------------------------------------------------------------------

    def _read(self, messages: Sequence[Message], max_tokens: int) -> _StepView:
        prompt = messages[-1]["content"]
        tokens_in = estimate_prompt_tokens(messages)
        if messages[0] is not self._last_system:  # the same system message all run long: read it once
            self._last_system, self._fenced = messages[0], asks_for_fences(messages)
        fenced = self._fenced
        state, previous = read_values(prompt)
        view = _StepView(0, ((), (), ()), None, "I could not find the current state.", 1.0, tokens_in, None, max_tokens,
                         fenced)
        if state is not None:
            disks = len(state[0]) + len(state[1]) + len(state[2])
            move = strategy_move(state, previous, disks)
            try:
                right = (move, apply_move(state, move)) if move is not None else None
            except IllegalMove:
                right = None
            if right is None:
                reasoning = "No move fits the strategy here; I will move disk 1 anyway."
                view = view._replace(disks=disks, state=state, reasoning=reasoning)
            else:
                error_rate = self.config.error_rate
                if self.config.hard_steps and state in self._hard_states_for(disks):
                    error_rate = self.config.hard_error_rate
                reasoning = _reasoning(previous, right[0], disks)
                completion = _cut(f"{reasoning}\n{_answer_lines(*right, fenced)}", tokens_in, max_tokens)
                view = _StepView(disks, state, right, reasoning, error_rate, tokens_in, completion, max_tokens, fenced)
        self._last_prompt, self._last_view, self._same_wrong = prompt, view, None
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

    def _wrong_text(self, view: _StepView, rng: random.Random, max_tokens: int) -> str:
        draw = rng.random()
        kind = self._kinds[-1]
        for candidate, edge in zip(self._kinds, self._kind_cumulative, strict=True):
            if draw < edge:
                kind = candidate
                break
        if view.right is None:
            kind = ErrorKind.MALFORMED
        if kind is ErrorKind.OVERLONG:
            return _overlong(view.reasoning, max_tokens)
        if kind is ErrorKind.MALFORMED:
            return _malformed(view, rng)
        if self.config.wrong_answers == "same":
            if self._same_wrong is None:
                wrong = _wrong_answer(view, ErrorKind.WRONG_MOVE, None)
                self._same_wrong = (view.reasoning, _answer_lines(*wrong, view.fenced))
            return "\n".join(self._same_wrong)
        move, state = _wrong_answer(view, kind, rng)
        return f"{view.reasoning}\n{_answer_lines(move, state, view.fenced)}"


def _reasoning(previous: Move | None, move: Move, disks: int) -> str:
    disk, source, target = move
    if disk == 1:
        why = "There is no previous move" if previous is None else "The previous move did not move disk 1"
        way = _DIRECTION_WORD[1 if disks % 2 == 0 else -1]
        return f"{why}, so disk 1 moves one peg {way}: from peg {source} to peg {target}."
    return (
        f"The previous move moved disk 1, so the other move is made: disk {disk} is the smaller top "
        f"disk of pegs {source} and {target}, so it moves from peg {source} to peg {target}."
    )


def _answer_lines(move: Move, state: State, fenced: bool) -> str:
    """The two answer lines, between inline triple backticks when the prompt asks for them so."""
    if fenced:
        return f"```move = {format_move(move)}```\n```next_state = {format_state(state)}```"
    return f"move = {format_move(move)}\nnext_state = {format_state(state)}"


def _legal_moves(state: State) -> list[Move]:
    moves = [(peg[-1], source, target) for source, peg in enumerate(state) if peg for target in range(3)]
    return [move for move in moves if is_legal(state, move)]


def _wrong_answer(view: _StepView, kind: ErrorKind, rng: random.Random | None) -> tuple[Move, State]:
    """A valid but wrong answer; ``rng`` None picks the step's first one deterministically."""
    if view.right is None:
        raise ValueError("a wrong answer needs the step's right one to differ from")
    right_move, right_state = view.right
    if kind is ErrorKind.WRONG_MOVE:
        others = [m for m in _legal_moves(view.state) if m != right_move]
        if others:
            move = others[0] if rng is None else rng.choice(others)
            return move, apply_move(view.state, move)
    pegs = [list(peg) for peg in right_state]
    movable = [disk for disk in range(1, view.disks + 1) if disk != right_move[0]] or [right_move[0]]
    disk = movable[0] if rng is None else rng.choice(movable)
    home = next(p for p in range(3) if disk in pegs[p])
    away = (home + 1) % 3 if rng is None else rng.choice([p for p in range(3) if p != home])
    pegs[home].remove(disk)
    pegs[away].append(disk)
    return right_move, (tuple(pegs[0]), tuple(pegs[1]), tuple(pegs[2]))


def _malformed(view: _StepView, rng: random.Random) -> str:
    if view.right is None:
        return view.reasoning
    move, state = view.right
    lines = _answer_lines(move, state, view.fenced).split("\n")
    form = rng.randrange(5)
    if form == 0:
        body = lines[1]
    elif form == 1:
        body = lines[0]
    elif form == 2:
        body = f"move = [{move[0]}, {move[2]}]\n{lines[1]}"
    elif form == 3:
        duplicated = (state[0], state[1], state[2] + (max(1, view.disks),))
        body = f"{lines[0]}\nnext_state = {format_state(duplicated)}"
    else:
        body = f"{lines[0]}\nnext_state = [{list(state[0])}, {list(state[1]) + list(state[2])}]"
    return f"{view.reasoning}\n{body}"


def _cut(text: str, tokens_in: int, max_tokens: int) -> Completion:
    """The reply as a server returns it: cut at the token limit, with finish reason ``length``."""
    tokens_out = estimate_tokens(text)
    if tokens_out <= max_tokens:
        return Completion(text, "stop", tokens_in, tokens_out, 0.0)
    return Completion(text[: max_tokens * 4], "length", tokens_in, max_tokens, 0.0)


def _overlong(reasoning: str, max_tokens: int) -> str:
    """A ramble longer than the token limit; ``complete`` cuts it there, as a server would."""
    return reasoning + " " + _RAMBLE * (max_tokens * 4 // len(_RAMBLE) + 2)
