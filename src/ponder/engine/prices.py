"""Prices: what a model's tokens cost in US dollars, so a run can report its cost and stop at ``max_usd``.

ponder ships no prices (they change, and a local model costs nothing per token). A user gives a
table, per model, in US dollars per million tokens::

    # prices.toml (or the same as a JSON object; or a run spec's "prices")
    ["openai:gpt-4o-mini"]
    prompt = 0.15        # per million prompt tokens the server processed
    completion = 0.60    # per million completion tokens
    cached = 0.075       # per million prompt tokens served from the server's prompt cache (default: prompt)

A model is looked up by its name (``openai:gpt-4o-mini``), then by the name without the backend
prefix (``gpt-4o-mini``), then ``"*"`` (any model). A server that reports what a call cost
(``usage.cost`` in an OpenAI-compatible response, as OpenRouter and LiteLLM proxies do) is charged
that instead: the price table is then only the estimate the budget gate uses before the call.
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..types import Usage

#: the most a price may be, in dollars per million tokens (far above any real one; a typo guard)
MAX_PRICE = 10_000_000.0
#: the most models a price table may name, and the longest model name
MAX_MODELS = 1000
MAX_NAME = 300
#: the largest prices file read
MAX_FILE_BYTES = 1 << 20
#: the most a server's reported cost of one call may be, in dollars (a larger one is not believed)
MAX_REPORTED_COST = 10_000.0
PER = 1_000_000


@dataclass(frozen=True, slots=True)
class Price:
    """US dollars per million tokens: ``prompt`` (processed), ``completion``, ``cached`` (prompt tokens
    the server served from its cache; None: the prompt price)."""

    prompt: float
    completion: float
    cached: float | None = None

    def __post_init__(self) -> None:
        for name in ("prompt", "completion", "cached"):
            value = getattr(self, name)
            if value is None and name == "cached":
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ConfigError(f"a price's {name} must be a number of dollars per million tokens, got {value!r}")
            if not 0 <= value <= MAX_PRICE:
                raise ConfigError(f"a price's {name} must be between 0 and {MAX_PRICE:g} dollars per million tokens")

    def cost(self, usage: Usage) -> float:
        """The dollars of ``usage``: processed prompt tokens, cached prompt tokens, completion tokens."""
        cached = max(0, usage.prompt_tokens - usage.prompt_tokens_evaluated)
        fresh = usage.prompt_tokens - cached
        cached_price = self.prompt if self.cached is None else self.cached
        return (fresh * self.prompt + cached * cached_price + usage.completion_tokens * self.completion) / PER

    def prompt_cost(self, tokens: int) -> float:
        """The most ``tokens`` prompt tokens may cost (none of them cached)."""
        return tokens * self.prompt / PER

    def completion_tokens_for(self, dollars: float) -> int | None:
        """How many completion tokens ``dollars`` buy (None: any number, the completion is free)."""
        if self.completion <= 0:
            return None
        return max(0, math.floor(dollars * PER / self.completion))

    def to_dict(self) -> dict[str, float]:
        out = {"prompt": self.prompt, "completion": self.completion}
        if self.cached is not None:
            out["cached"] = self.cached
        return out


@dataclass(frozen=True)
class PriceTable:
    """Prices by model name (see the module docs for the lookup)."""

    prices: Mapping[str, Price]

    def get(self, model: str) -> Price | None:
        """The price of the model named ``model``, or None."""
        found = self.prices.get(model)
        if found is None and ":" in model:
            found = self.prices.get(model.split(":", 1)[1])
        return found if found is not None else self.prices.get("*")

    def charge(self, usage: Usage, model: str) -> Usage:
        """``usage`` with its cost: the one the server reported, else its price; as it is when neither is known."""
        if usage.cost is not None or not self.prices:
            return usage
        price = self.get(model)
        return usage if price is None else replace(usage, cost=price.cost(usage))

    def __bool__(self) -> bool:
        return bool(self.prices)

    def __iter__(self) -> Iterator[str]:
        return iter(self.prices)

    def to_dict(self) -> dict[str, dict[str, float]]:
        return {name: price.to_dict() for name, price in self.prices.items()}

    @classmethod
    def parse(cls, data: Any, where: str = "the price table") -> PriceTable:
        """A table from plain data: ``{model: {"prompt": ..., "completion": ..., "cached": ...}}``."""
        if isinstance(data, PriceTable):
            return data
        if not isinstance(data, Mapping):
            raise ConfigError(f"{where} must map model names to prices, got {type(data).__name__}")
        if len(data) > MAX_MODELS:
            raise ConfigError(f"{where} names {len(data)} models; at most {MAX_MODELS}")
        prices: dict[str, Price] = {}
        for name, entry in data.items():
            if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
                raise ConfigError(f"{where}: a model name must be 1-{MAX_NAME} characters, got {name!r}")
            if not isinstance(entry, Mapping):
                raise ConfigError(f"{where}: the price of {name} must be a table of prompt, completion (and cached)")
            unknown = sorted(str(k) for k in set(entry) - {"prompt", "completion", "cached"})
            if unknown:
                raise ConfigError(f"{where}: the price of {name} has no field {', '.join(unknown)}"
                                  " (fields: prompt, completion, cached; dollars per million tokens)")  # fmt: skip
            missing = [k for k in ("prompt", "completion") if k not in entry]
            if missing:
                raise ConfigError(f"{where}: the price of {name} needs {' and '.join(missing)}")
            try:
                prices[name.strip()] = Price(entry["prompt"], entry["completion"], entry.get("cached"))
            except ConfigError as exc:
                raise ConfigError(f"{where}, {name}: {exc}") from None
        return cls(prices)

    @classmethod
    def load(cls, path: str | Path) -> PriceTable:
        """The table in a TOML file (``.toml``) or a JSON file (anything else)."""
        where = f"the prices file {path}"
        try:
            with Path(path).open("rb") as stream:
                raw = stream.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise ConfigError(f"cannot read {where}: {exc.strerror}") from None
        if len(raw) > MAX_FILE_BYTES:
            raise ConfigError(f"{where} is larger than {MAX_FILE_BYTES} bytes")
        try:
            text = raw.decode("utf-8")
            data = tomllib.loads(text) if str(path).endswith(".toml") else json.loads(text)
        except UnicodeDecodeError:
            raise ConfigError(f"{where} is not UTF-8 text") from None
        except (tomllib.TOMLDecodeError, ValueError) as exc:
            kind = "TOML" if str(path).endswith(".toml") else "JSON"
            raise ConfigError(f"{where} is not valid {kind}: {exc}") from None
        return cls.parse(data, where)


def reported_cost(value: Any) -> float | None:
    """A cost a server reported for one call, if it is believable (a finite number of dollars, 0 to
    :data:`MAX_REPORTED_COST`); None otherwise (a server's reply is input from outside)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    cost = float(value)
    return cost if math.isfinite(cost) and 0 <= cost <= MAX_REPORTED_COST else None


def dollars(value: float) -> str:
    """``value`` dollars for people: ``$0.0123``, ``$1.50``, ``$0.000004``."""
    if value == 0:
        return "$0"
    if value >= 1:
        return f"${value:,.2f}"
    return f"${value:.6f}".rstrip("0") if value >= 1e-6 else f"${value:.2e}"


def cost_line(total: float | None, by_model: Mapping[str, float | None]) -> str | None:
    """``$0.0123`` for a run on one model, ``$0.0123 (openai:a $0.01, openai:b -)`` on several; None when
    no call had a cost (``-``: a model with neither a price nor a reported cost)."""
    if total is None:
        return None
    if len(by_model) <= 1:
        return dollars(total)
    parts = ", ".join(f"{name} {'-' if cost is None else dollars(cost)}" for name, cost in by_model.items())
    return f"{dollars(total)} ({parts})"
