"""Calibrate a model before a big run: sample it on random steps, without voting, and project.

The paper's workflow: estimate p on a random sample of steps of the optimal solution, compute k_min
and the projected cost, choose the model, then run. Each calibration sample is one agent call on a
step drawn uniformly from all 2^N - 1 steps (seeded), shown the step's true state and previous move
exactly as a run would show them, and judged by the same parser.

Two success rates come out of it. ``p`` is the share of samples that are right: the paper's per-
sample success, what the simulated model's ``--error-rate`` sets (1 - p). ``p_vote`` is the share
of *valid* samples that are right: red-flagged samples never vote, so this is the p voting sees.

The advice holds up to its own uncertainty: k_min comes from the pessimistic end of p_vote's 95%
interval (:attr:`Calibration.p_advised`), not from the point estimate. A hundred samples without
an error say p_vote = 1, which would advise k = 1 for a million steps; what they support is
p_vote >= 0.963, and that asks for k = 6. More samples narrow the interval and lower the advice
(:attr:`Calibration.samples_for_less`). ``maker solve --k auto`` and ``maker plan --calibration``
take the same p.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from engine.models.pricing import Pricing
from engine.models.sampler import Completion, Sampler
from engine.models.urls import host_of
from engine.task.hanoi import apply_move, optimal_move, state_before_step, total_steps
from engine.task.parser import Answer, RedFlag, judge_reply
from engine.task.prompt import DEFAULT_STYLE, PromptBuilder, PromptTemplate, built_in
from engine.voting.scaling import NoMargin, expected_samples_per_step, k_min, wilson_interval

TARGETS = (0.90, 0.95, 0.99)
ADVICE_TARGET = 0.95
"""The target the advice in words is given at (the middle of :data:`TARGETS`)."""


class CalibrationError(Exception):
    """A calibration file that cannot be used."""


class Projection(BaseModel):
    """What a full run would take at one target."""

    target: float
    k_min: int | None
    expected_samples_per_step: float | None
    """Samples drawn per step, red-flagged ones included."""
    cost_usd: float | None
    time_s: float | None


class Calibration(BaseModel):
    """A calibration's measurements and projections; ``--out`` writes it as JSON."""

    model: str
    base_url_host: str | None = None
    disks: int
    temperature: float
    max_tokens: int
    seed: int
    samples: int
    right: int
    valid: int
    red_flags: dict[str, int]
    p: float
    p_interval: tuple[float, float]
    p_vote: float
    """Share of valid samples that are right: the p that voting sees."""
    p_vote_interval: tuple[float, float]
    v: float
    """Share of samples that are valid (not red-flagged)."""
    mean_tokens_in: float
    mean_tokens_out: float
    mean_latency_s: float
    """Mean reply time of a sample, waiting in a server's queue included."""
    wall_s: float | None = None
    """Wall clock of the whole calibration, samples in flight together (None: an older file)."""
    price_in: float | None = None
    price_out: float | None = None
    prompt_style: str | None = None
    """The prompt the model was asked with (None: a calibration made before prompts had styles)."""
    prompt_digest: str | None = None
    cost_per_sample_usd: float | None
    projections: list[Projection] = Field(default_factory=list)
    """At each target: k_min from :attr:`p_advised`, and the samples, cost and time it takes."""
    samples_for_less: int | None = None
    """Valid samples, with the same share right, after which the advised k at 0.95 would be lower,
    or, when no k can be trusted yet, after which one could (None: the advice is already the point
    estimate's k, or p_vote <= 0.5 and no number of samples helps)."""
    k_with_more: int | None = None
    """The advised k at 0.95 after :attr:`samples_for_less` valid samples."""
    created_at: str = ""

    @property
    def pricing(self) -> Pricing | None:
        """The prices the calibration was costed at, None when the model had none."""
        return Pricing.known(self.price_in, self.price_out)

    @property
    def prompt_label(self) -> str:
        return "an unrecorded prompt" if self.prompt_digest is None else f"{self.prompt_style} ({self.prompt_digest})"

    def made_with(self, template: PromptTemplate) -> bool:
        """Whether the model was calibrated with this prompt: the same built-in style (which
        differs between towers only in disk 1's direction, or in the disk count for ``guided``),
        or exactly the same template."""
        if template.style != "file":
            return self.prompt_style == template.style
        return self.prompt_digest == template.digest

    @property
    def p_advised(self) -> float:
        """The p the advice is made with: the pessimistic end of p_vote's 95% interval."""
        return self.p_vote_interval[0]

    def k_for(self, disks: int, target: float) -> int:
        """k_min for a run of ``disks`` disks at ``target`` from :attr:`p_advised`; raises
        CalibrationError when that is not above 0.5."""
        try:
            return k_min(self.p_advised, total_steps(disks), target)
        except NoMargin:
            if self.p_vote > 0.5:
                raise CalibrationError(
                    f"{self.model}: p_vote = {self.p_vote:.3f}, but its 95% interval reaches down to "
                    f"{self.p_advised:.3f} <= 0.5 after {self.valid:,} valid samples, so no k can be trusted: "
                    "calibrate with more samples"
                ) from None
            raise CalibrationError(
                f"{self.model}: p_vote = {self.p_vote:.3f} <= 0.5, so voting cannot reach any target"
            ) from None

    @classmethod
    def load(cls, path: Path) -> Calibration:
        try:
            return cls.model_validate_json(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CalibrationError(f"{path}: no such file") from None
        except (ValidationError, ValueError, UnicodeDecodeError) as exc:
            raise CalibrationError(f"{path}: not a maker calibration file ({str(exc).splitlines()[0]})") from None


def samples_for_less(right: int, valid: int, disks: int, target: float = ADVICE_TARGET) -> tuple[int, int] | None:
    """See :attr:`Calibration.samples_for_less`: that many samples and the k they would advise.
    The share right is kept as it is (no rounding), so that the advice only goes down as the
    samples grow, and a bisection finds the first count that lowers it."""
    steps = total_steps(disks)
    if valid == 0 or right * 2 <= valid:
        return None
    share = right / valid

    def advised(n: int) -> int | None:
        try:
            return k_min(wilson_interval(share * n, n)[0], steps, target)
        except NoMargin:
            return None

    now, point = advised(valid), k_min(share, steps, target)
    if now is not None and now <= point:
        return None
    low, high = valid, valid
    while (k := advised(high)) is None or (now is not None and k >= now):
        low, high = high, high * 2
        if high > 10**12:
            return None
    while high - low > 1:
        middle = (low + high) // 2
        k = advised(middle)
        if k is not None and (now is None or k < now):
            high = middle
        else:
            low = middle
    return high, advised(high)  # type: ignore[return-value]


def projections(
    p_vote: float,
    v: float,
    disks: int,
    k_fixed: int | None,
    cost_per_sample: float | None,
    latency_s: float,
    sequential: bool = False,
) -> list[Projection]:
    """k_min, samples, cost and time of a full run at each target, all from ``p_vote`` (for a
    calibration, the advised p: the pessimistic end of its interval, as ``plan`` takes it too).

    Time assumes the first k samples of a step go out together (one round trip) and the rest one
    at a time, which is what the runner does: ``latency * (1 + extra samples)`` a step. A sampler
    that never waits (the simulated model) draws them one after another: ``latency * samples``.
    """
    steps = total_steps(disks)
    rows = []
    for target in TARGETS:
        try:
            k = k_fixed or k_min(p_vote, steps, target)
            per_step = expected_samples_per_step(p_vote, k, v) if v > 0 else None
        except NoMargin:
            rows.append(Projection(target=target, k_min=None, expected_samples_per_step=None, cost_usd=None, time_s=None))
            continue
        cost = None if cost_per_sample is None or per_step is None else cost_per_sample * steps * per_step
        rounds = per_step if sequential else 1 + max(0.0, per_step - k)
        time_s = steps * latency_s * rounds
        rows.append(Projection(target=target, k_min=k, expected_samples_per_step=per_step, cost_usd=cost, time_s=time_s))
    return rows


async def calibrate(
    sampler: Sampler,
    *,
    disks: int,
    samples: int,
    seed: int,
    temperature: float = 0.1,
    max_tokens: int = 750,
    pricing: Pricing | None = None,
    template: PromptTemplate | None = None,
) -> Calibration:
    """Sample ``samples`` random steps once each and measure; see the module docstring.
    ``template`` is the prompt to ask with (default: the paper's for ``disks`` disks)."""
    rng = random.Random(seed)
    last = total_steps(disks)
    steps = [rng.randint(1, last) for _ in range(samples)]
    template = template if template is not None else built_in(DEFAULT_STYLE, disks)
    builder = PromptBuilder(template)

    async def one(number: int, step: int) -> tuple[int, Completion]:
        previous = optimal_move(step - 1, disks) if step > 1 else None
        messages = builder.messages(previous, state_before_step(step, disks))
        return step, await sampler.complete(messages, temperature, max_tokens, (step, number))

    sampler.hedging = False  # each reply as it comes: the faster of two is not what one sample gives
    await sampler.start()
    began = time.perf_counter()
    try:
        results = await asyncio.gather(*(one(number, step) for number, step in enumerate(steps)))
    finally:
        await sampler.close()
    right = valid = tokens_in = tokens_out = 0
    latency = 0.0
    flags: Counter[str] = Counter()
    for step, completion in results:
        tokens_in += completion.tokens_in
        tokens_out += completion.tokens_out
        latency += completion.latency_s
        parsed = judge_reply(completion.text, completion.finish_reason, completion.tokens_out, max_tokens, disks)
        if isinstance(parsed, RedFlag):
            flags[parsed.value] += 1
            continue
        valid += 1
        move = optimal_move(step, disks)
        right += parsed == Answer(move, apply_move(state_before_step(step, disks), move))
    n = len(results)
    sequential = sampler.completes_without_waiting
    if sequential and latency == 0.0:
        latency = time.perf_counter() - began  # its own compute time is all a sample takes
    p_vote = right / valid if valid else 0.0
    p_vote_interval = wilson_interval(right, valid)
    more = samples_for_less(right, valid, disks)
    v = valid / n if n else 0.0
    mean_in, mean_out = tokens_in / n, tokens_out / n
    cost_per_sample = pricing.cost(mean_in, mean_out) if pricing else None
    return Calibration(
        model=sampler.name,
        base_url_host=host_of(sampler.base_url),
        disks=disks,
        temperature=temperature,
        max_tokens=max_tokens,
        seed=seed,
        samples=n,
        right=right,
        valid=valid,
        red_flags={reason.value: flags.get(reason.value, 0) for reason in RedFlag},
        p=right / n,
        p_interval=wilson_interval(right, n),
        p_vote=p_vote,
        p_vote_interval=p_vote_interval,
        v=v,
        mean_tokens_in=mean_in,
        mean_tokens_out=mean_out,
        mean_latency_s=latency / n,
        wall_s=time.perf_counter() - began,
        prompt_style=template.style,
        prompt_digest=template.digest,
        price_in=pricing.input_usd_per_m if pricing else None,
        price_out=pricing.output_usd_per_m if pricing else None,
        cost_per_sample_usd=cost_per_sample,
        projections=projections(p_vote_interval[0], v, disks, None, cost_per_sample, latency / n, sequential),
        samples_for_less=more[0] if more else None,
        k_with_more=more[1] if more else None,
        created_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    )
