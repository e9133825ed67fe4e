"""Build strategies from spec nodes: the one place that turns plain data into strategy objects.

:func:`build_strategy` builds a :class:`~ponder.spec.node.StrategySpec` tree:
slots are built first (each under the model role its slot names), the
``verifier`` spec string becomes a verifier, strategies that take tools get the
run's tools, and an entry's ``prepare`` resolves what depends on the running
models. :func:`get_strategy` is the short form for Python users: a name and
flat options, each placed on the outermost strategy that declares it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, cast

from ..errors import ConfigError
from ..requests import Strategy
from ..strategies.entry import BuildContext, is_plain
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
    slots = {k: v for k, v in options.items() if k in _slot_names()}
    node = place_slots(node, slots, lambda key: ConfigError(f"strategy {name!r} takes no option {key}"))
    for key, value in options.items():
        if key in slots:
            continue
        placed = node.place(key, value.to_dict() if isinstance(value, StrategySpec) else value)
        if placed is None:
            raise ConfigError(f"strategy {name!r} takes no option {key}")
        node = placed
    return node


def place_slots(node: StrategySpec, slots: Mapping[str, Any], error: Callable[[str], Exception]) -> StrategySpec:
    """``node`` with the strategies of ``slots`` placed top-down: always the slot whose outermost declaring
    node is shallowest first, so a strategy placed in a slot can bring the slot a later one fills
    (``--escalate-to verify --inner react``: route's slow is verify, verify's inner is react)."""
    left = dict(slots)
    while left:
        paths = {key: node.path_to(key) for key in left}
        missing = [key for key, path in paths.items() if path is None]
        if missing and len(missing) == len(left):
            raise error(missing[0])
        key = min((k for k in left if paths[k] is not None), key=lambda k: len(paths[k] or ()))
        value = left.pop(key)
        placed = node.place(key, value.to_dict() if isinstance(value, StrategySpec) else value)
        assert placed is not None
        node = placed
    return node


def _slot_names() -> set[str]:
    return {s.name for e in entries().values() for s in e.slots}


#: the old Python names of the verifier slot (route's ``check``, consistency's ``weigh``)
_ALIASES = {"check": "verifier", "weigh": "verifier"}


def get_strategy(name: str, *, tools: Sequence[Tool] = (), **options: Any) -> Strategy:
    """Build strategy ``name`` with ``options`` (each on the outermost strategy that declares it) and ``tools``.

    Plain values go through a spec tree; Python objects (a strategy in a slot, a verifier, an
    extractor function) are set on the built strategy that declares them.

    >>> get_strategy("route", slow="consistency", samples=8).slow.samples
    8
    """
    named = {_ALIASES.get(k, k): v for k, v in options.items()}
    objects = {k: v for k, v in named.items() if not _is_data(k, v)}
    node = place_options(name, {k: v for k, v in named.items() if k not in objects})
    if tools and not node.takes_tools():
        raise ConfigError(f"strategy {name!r} takes no tools (use --strategy react, or --inner react)")
    paths = {}
    for key in objects:
        path = node.path_to(key)
        if path is None:
            raise ConfigError(f"strategy {name!r} takes no option {key}")
        paths[key] = path
    strategy = build_strategy(node, BuildContext(tools=tuple(tools)))
    for key, value in objects.items():
        strategy = _set_on(strategy, node, paths[key], key, value)
    return strategy


def _is_data(key: str, value: Any) -> bool:
    if key == "verifier":
        return isinstance(value, str | Mapping)
    if key in _slot_names():
        return isinstance(value, str | Mapping | StrategySpec)
    return is_plain(value)


def _set_on(strategy: Strategy, node: StrategySpec, path: tuple[str, ...], key: str, value: Any) -> Strategy:
    """``strategy`` with ``value`` set on the strategy at slot ``path`` (rebuilt upwards with ``replace``)."""
    if path:
        inner = _set_on(getattr(strategy, path[0]), node.slots[path[0]], path[1:], key, value)
        changed: Strategy = replace(cast(Any, strategy), **{path[0]: inner})
        return changed
    entry = node.entry
    field = entry.verifier_field if key == "verifier" and entry.verifier_field else key
    done: Strategy = replace(cast(Any, strategy), **{field: value})
    return done
