"""Strategies: reasoning loops written as generators of engine requests.

Use :func:`get_strategy` to build one by name, as the CLI does. Strategies that
take strategies (``inner`` of consistency and verify, ``fast``/``slow`` of
route) accept a name there too; it is built with the same tools, and receives
the options its outer strategy does not take itself::

    get_strategy("consistency", inner="react", tools=[calculator_tool()], samples=3)
    get_strategy("route", slow="consistency", samples=8)   # samples → consistency
    get_strategy("verify", inner="react", verifier="contains:Paris", tools=[...])

Verifier options (``verifier`` of verify, ``check`` of route, ``weigh`` of
consistency) accept a spec string (see :mod:`ponder.verifiers.specs`), so a
strategy's whole configuration is plain data. Release what such a verifier
holds (a sandbox) with :func:`close_strategy`.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Sequence
from typing import Any

from ..errors import ConfigError, StrategyNotFoundError
from ..verifiers import Verifier, close_verifier, parse_verifier
from .base import Strategy
from .consistency import Consistency
from .react import React
from .recursive import Recursive
from .refine import Refine
from .route import Route
from .single import Single
from .tree import Tree
from .verify import Verify

STRATEGIES: dict[str, type] = {
    "single": Single,
    "refine": Refine,
    "react": React,
    "verify": Verify,
    "consistency": Consistency,
    "route": Route,
    "tree": Tree,
    "recursive": Recursive,
}
#: strategies that need tools
NEEDS_TOOLS = frozenset({"react"})
#: options that hold a strategy (a name there is built by get_strategy)
NESTED = ("inner", "fast", "slow")
#: options that hold a verifier (a spec string there is built by parse_verifier)
VERIFIERS = ("verifier", "check", "weigh")


def get_strategy(name: str, *, tools: Sequence[Any] = (), **options: Any) -> Strategy:
    """Build the strategy registered under ``name``; ``tools`` and ``options`` go to strategies that take them.

    Each option goes to the outermost strategy that has a field of that name;
    an option no strategy takes, or tools no strategy uses, is a ConfigError.
    """
    used: set[str] = set()
    strategy = _build(name, tuple(tools), options, used)
    unused = sorted(set(options) - used)
    if unused:
        raise ConfigError(f"strategy {name!r} takes no option {', '.join(unused)}")
    if tools and "tools" not in used:
        raise ConfigError(f"strategy {name!r} takes no tools (use --strategy react, or --inner react)")
    return strategy


def _build(name: str, tools: tuple[Any, ...], options: dict[str, Any], used: set[str]) -> Strategy:
    try:
        factory = STRATEGIES[name]
    except KeyError:
        known = ", ".join(sorted(STRATEGIES))
        raise StrategyNotFoundError(f"unknown strategy {name!r} (known: {known})") from None
    accepted = _fields(factory)
    own = {k: v for k, v in options.items() if k in accepted}
    rest = {k: v for k, v in options.items() if k not in own}
    for key in NESTED:
        if isinstance(own.get(key), str):
            own[key] = _build(own[key], tools, rest, used)
    for key in VERIFIERS:
        if isinstance(own.get(key), str):
            shared = {k: options[k] for k in ("extract",) if k in options}
            own[key] = parse_verifier(own[key], **shared)
            used.update(shared)
    used.update(own)
    if name in NEEDS_TOOLS:
        used.add("tools")
        strategy: Strategy = factory(tools=tools, **own)
        return strategy
    strategy = factory(**own)
    return strategy


def close_strategy(strategy: object) -> None:
    """Release the verifiers a strategy (or any strategy nested in it) holds; tools are closed by their owner."""
    if not dataclasses.is_dataclass(strategy) or isinstance(strategy, type):
        return
    for f in dataclasses.fields(strategy):
        value = getattr(strategy, f.name, None)
        if f.name in VERIFIERS and isinstance(value, Verifier):
            close_verifier(value)
        elif f.name in NESTED:
            close_strategy(value)


def options_of(name: str) -> set[str]:
    """The options the strategy registered as ``name`` takes (empty for an unknown name)."""
    factory = STRATEGIES.get(name)
    return _fields(factory) if factory is not None else set()


def _fields(factory: type) -> set[str]:
    """The options a strategy class takes (its dataclass fields or init parameters), without ``name``/``tools``."""
    if dataclasses.is_dataclass(factory):
        names = {f.name for f in dataclasses.fields(factory) if f.init}
    else:
        names = set(inspect.signature(factory).parameters)
    return names - {"name", "tools", "self"}


__all__ = [
    "NEEDS_TOOLS",
    "STRATEGIES",
    "Consistency",
    "React",
    "Recursive",
    "Refine",
    "Route",
    "Single",
    "Strategy",
    "Tree",
    "Verify",
    "close_strategy",
    "get_strategy",
    "options_of",
]
