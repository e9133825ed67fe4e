"""Strategies: reasoning loops written as generators of engine requests.

Use :func:`get_strategy` to build one by name, as the CLI does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import ConfigError, StrategyNotFoundError
from .base import Strategy
from .react import React
from .refine import Refine
from .single import Single

STRATEGIES: dict[str, type] = {"single": Single, "refine": Refine, "react": React}
#: strategies that need tools
NEEDS_TOOLS = frozenset({"react"})


def get_strategy(name: str, *, tools: Sequence[Any] = (), **options: Any) -> Strategy:
    """Build the strategy registered under ``name``; ``tools`` and ``options`` go to strategies that take them."""
    try:
        factory = STRATEGIES[name]
    except KeyError:
        known = ", ".join(sorted(STRATEGIES))
        raise StrategyNotFoundError(f"unknown strategy {name!r} (known: {known})") from None
    if name in NEEDS_TOOLS:
        strategy: Strategy = factory(tools=tuple(tools), **options)
        return strategy
    if tools:
        raise ConfigError(f"strategy {name!r} takes no tools (use --strategy react)")
    strategy = factory(**options)
    return strategy


__all__ = ["STRATEGIES", "React", "Refine", "Single", "Strategy", "get_strategy"]
