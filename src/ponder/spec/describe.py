"""Describe a run started from Python as a :class:`RunSpec`, so the store can resume it.

The engine asks for a description when a run has sinks but no spec
(``Engine(model, sinks=[store.sink()]).run(strategy, question)``). A run is
describable when every part of it can be built again from plain data: each
strategy is registered and its declared options hold plain values, a verifier
is its strategy's default, tools know their ``--tools`` item (``Tool.spec``),
and each model can be loaded again by name (``Model.spec``). Anything else (a
Python callable, an in-memory context, a scripted model with a list of
replies) makes the description ``None``: the run is stored without a spec and
resumes only from Python, with its model and strategy given.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from ..engine.budget import Budget
from ..engine.prices import PriceTable
from ..models.base import Model
from ..requests import Strategy
from ..strategies.entry import is_plain
from ..strategies.memory import Memory
from ..strategies.registry import entry_of
from ..types import GenerationOptions
from .node import StrategySpec
from .parts import BudgetSpec, MemorySpec, ModelSpec
from .run import RunSpec


class _NotPlainError(Exception):
    """Raised inside the description when some part of the run is not plain data."""


def describe_strategy(strategy: Strategy) -> StrategySpec | None:
    """The spec node that builds ``strategy`` again, or None if it cannot be described."""
    try:
        return _node(strategy)
    except _NotPlainError:
        return None


def describe_run(
    strategy: Strategy,
    model: Model,
    models: Mapping[str, Model],
    budget: Budget,
    options: GenerationOptions,
    question: str,
    prices: PriceTable | None = None,
) -> RunSpec | None:
    """The spec of a run the engine was given as objects (see the module docs), or None."""
    try:
        node = _node(strategy)
        roles = {"root": _model(model), **{r: _model(m) for r, m in models.items() if m is not model}}
        tools = tuple(dict.fromkeys(_tool_spec(t) for n in _tree(strategy) for t in getattr(n, "tools", ()) or ()))
        memory = getattr(strategy, "memory", None)
        context = getattr(strategy, "context_path", None)
        if getattr(strategy, "context", None) is not None or getattr(strategy, "stop_policy", None) is not None:
            raise _NotPlainError
        if isinstance(memory, Memory) and memory != Memory(model.context_window, memory.threshold, mode=memory.mode):
            raise _NotPlainError  # a window or setting the spec does not hold
        return RunSpec(
            strategy=node,
            question=question,
            models=roles,
            tools=tools,
            budget=BudgetSpec(**dataclasses.asdict(budget)),
            options=options,
            memory=MemorySpec(memory.mode, memory.threshold) if isinstance(memory, Memory) else None,
            context=context,
            prices=prices or None,
        )
    except (_NotPlainError, ValueError):
        return None


def _node(strategy: Strategy, root: bool = True) -> StrategySpec:
    """The node of ``strategy``: every field must be a declared option (plain), a slot, a default
    verifier, its tools, what ``prepare`` fills, a root's memory or stop policy (described by the run),
    or equal to its default; anything else cannot be rebuilt from data."""
    entry = entry_of(strategy)
    if entry is None or not dataclasses.is_dataclass(strategy):
        raise _NotPlainError
    defaults = _defaults(type(strategy))
    declared = {o.name for o in entry.options}
    slots = {s.name for s in entry.slots}
    special = {entry.verifier_field, *entry.prepared, *(("tools",) if entry.takes_tools else ())}
    if root:
        special |= {"memory", "stop_policy"}
    options: dict[str, Any] = {}
    nested: dict[str, StrategySpec] = {}
    for f in dataclasses.fields(strategy):
        value = getattr(strategy, f.name)
        default = defaults.get(f.name, dataclasses.MISSING)
        if f.name in slots:
            if value is not None:
                nested[f.name] = _node(value, root=False)
        elif f.name in declared:
            if value != default:
                if not is_plain(value):
                    raise _NotPlainError
                options[f.name] = value
        elif f.name in special:
            if f.name == entry.verifier_field and value is not None and value != default:
                raise _NotPlainError
        elif value != default:
            raise _NotPlainError
    if entry.describe is not None:
        options.update(entry.describe(strategy))
    return StrategySpec.parse(StrategySpec(entry.name, options, nested).to_dict())


def _defaults(kind: type) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(kind):
        if f.default is not dataclasses.MISSING:
            out[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            out[f.name] = f.default_factory()
    return out


def _tree(strategy: Any) -> list[Any]:
    entry = entry_of(strategy)
    nested = [getattr(strategy, s.name, None) for s in entry.slots] if entry is not None else []
    return [strategy, *(n for child in nested if child is not None for n in _tree(child))]


def _tool_spec(tool: Any) -> str:
    spec = getattr(tool, "spec", None)
    if not isinstance(spec, str):
        raise _NotPlainError
    return spec


def _model(model: Model) -> ModelSpec:
    spec = getattr(model, "spec", None)
    if not isinstance(spec, str):
        raise _NotPlainError
    kind = getattr(model, "server_kind", None)
    window = getattr(model, "configured_window", None)
    return ModelSpec(
        spec,
        getattr(model, "base_url", None),
        server_kind=kind if isinstance(kind, str) and kind != "auto" else None,
        context_window=window if isinstance(window, int) else None,
    )
