"""USD prices per million tokens, from the validated price table in ``engine/data/prices.toml``,
and the one formula that turns tokens into dollars."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class Pricing(NamedTuple):
    """What a model charges, in USD per million tokens."""

    input_usd_per_m: float
    output_usd_per_m: float

    def cost(self, tokens_in: float, tokens_out: float) -> float:
        """USD for the given token counts: the one place tokens become dollars."""
        return (tokens_in * self.input_usd_per_m + tokens_out * self.output_usd_per_m) / 1e6

    @classmethod
    def known(cls, price_in: float | None, price_out: float | None) -> Pricing | None:
        """Prices as a file stores them, None unless both are known (cost is then unknown)."""
        return None if price_in is None or price_out is None else cls(price_in, price_out)


class PriceEntry(BaseModel):
    """One row of the price table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input_usd_per_m: float = Field(ge=0)
    output_usd_per_m: float = Field(ge=0)
    note: str = ""

    @property
    def pricing(self) -> Pricing:
        return Pricing(self.input_usd_per_m, self.output_usd_per_m)


class PriceTable(BaseModel):
    """Every priced model by the name a request uses."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    models: dict[str, PriceEntry]


class PriceTableError(ValueError):
    """The shipped price table does not validate."""


@cache
def price_table() -> PriceTable:
    """The shipped price table, validated once."""
    raw = resources.files("engine").joinpath("data/prices.toml").read_text(encoding="utf-8")
    try:
        return PriceTable.model_validate(tomllib.loads(raw))
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise PriceTableError(f"engine/data/prices.toml is invalid: {exc}") from exc


def pricing_for(model: str) -> Pricing | None:
    """The model's prices, or None when the table does not know it (cost is then unknown, not zero)."""
    entry = price_table().models.get(model)
    return entry.pricing if entry else None
