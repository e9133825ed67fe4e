"""Strategies: reasoning loops written as generators of engine requests.

Use :func:`get_strategy` to build one by name, as the CLI does.
"""

from __future__ import annotations

from ..errors import StrategyNotFoundError
from .base import Strategy
from .refine import Refine
from .single import Single

STRATEGIES: dict[str, type] = {"single": Single, "refine": Refine}


def get_strategy(name: str) -> Strategy:
    """Build the strategy registered under ``name`` with its default settings."""
    try:
        factory = STRATEGIES[name]
    except KeyError:
        known = ", ".join(sorted(STRATEGIES))
        raise StrategyNotFoundError(f"unknown strategy {name!r} (known: {known})") from None
    strategy: Strategy = factory()
    return strategy


__all__ = ["STRATEGIES", "Refine", "Single", "Strategy", "get_strategy"]
