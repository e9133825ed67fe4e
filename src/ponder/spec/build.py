"""Build strategies from spec nodes: the one place that turns plain data into strategy objects.

:func:`build_strategy` builds a :class:`~ponder.spec.node.StrategySpec` tree:
slots are built first (each under the model role its slot names), the
``verifier`` spec string becomes a verifier, strategies that take tools get the
run's tools, and an entry's ``prepare`` resolves what depends on the running
models. :func:`get_strategy` is the short form for Python users: a name and
flat options, each placed on the outermost strategy that declares it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from ..errors import ConfigError
from ..requests import Strategy
from ..strategies.entry import BuildContext
from ..strategies.registry import close_strategy, entries
from ..tools.base import Tool
from ..verifiers import Verifier, close_verifier, parse_verifier
from .node import StrategySpec


def make_verifier(spec: str | Mapping[str, Any]) -> Verifier:
    """The verifier a node's ``verifier`` names: a spec string, or ``{"spec": ..., **options}``."""
    if isinstance(spec, str):
        return parse_verifier(spec)
    extra = {k: v for k, v in spec.items() if k != "spec"}
    return parse_verifier(str(spec["spec"]), **extra)


def build_strategy(node: StrategySpec, ctx: BuildContext | None = None) -> Strategy:
    """The strategy ``node`` describes, built for the tools and models of ``ctx``.

    Release what it holds (a verifier's sandbox) with :func:`~ponder.strategies.close_strategy`.
    """
    ctx = ctx or BuildContext()
    entry = node.entry
    kwargs: dict[str, Any] = dict(node.options)
    built: list[Strategy] = []
    try:
        for slot in entry.slots:
            child = node.slots.get(slot.name)
            if child is not None:
                kwargs[slot.name] = build_strategy(child, replace(ctx, role=slot.role or ctx.role))
                built.append(kwargs[slot.name])
        if node.verifier is not None and entry.verifier_field is not None:
            kwargs[entry.verifier_field] = make_verifier(node.verifier)
        if entry.takes_tools:
            kwargs["tools"] = tuple(ctx.tools)
        if entry.prepare is not None:
            kwargs = entry.prepare(kwargs, ctx)
        strategy: Strategy = entry.factory(**kwargs)
        return strategy
    except BaseException:
        for child_strategy in built:
            close_strategy(child_strategy)
        verifier = kwargs.get(entry.verifier_field or "")
        if isinstance(verifier, Verifier):
            close_verifier(verifier)
        raise


def place_options(name: str, options: Mapping[str, Any]) -> StrategySpec:
    """The tree of strategy ``name`` with each option set on the outermost strategy that declares it.

    Slots are placed first (so ``inner`` may bring the strategy that takes a later option).
    An option no strategy of the tree declares is a ConfigError.
    """
    node = StrategySpec.parse(name)
    slot_names = {s.name for e in entries().values() for s in e.slots}
    ordered = sorted(options.items(), key=lambda kv: kv[0] not in slot_names)
    for key, value in ordered:
        placed = node.place(key, value.to_dict() if isinstance(value, StrategySpec) else value)
        if placed is None:
            raise ConfigError(f"strategy {name!r} takes no option {key}")
        node = placed
    return node


def get_strategy(name: str, *, tools: Sequence[Tool] = (), **options: Any) -> Strategy:
    """Build strategy ``name`` with ``options`` (each on the outermost strategy that takes it) and ``tools``.

    >>> get_strategy("route", slow="consistency", samples=8).slow.samples
    8
    """
    node = place_options(name, options)
    if tools and not node.takes_tools():
        raise ConfigError(f"strategy {name!r} takes no tools (use --strategy react, or --inner react)")
    return build_strategy(node, BuildContext(tools=tuple(tools)))
