"""Resuming a stored run: rebuild it from its recipe, replay what was recorded, go on live.

The rerun produces the same requests as the original run (a deterministic
strategy on recorded results), so every recorded model and tool result is
served from the store instead of being paid for again; the first request with
no recorded result is executed live, and from there on the run continues,
appending its events to the same stored run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import ExitStack
from typing import Any

from ..calls import TextObserver
from ..engine import Engine
from ..events import EventSink
from ..models import load_model
from ..models.base import Model
from ..result import RunResult
from ..strategies import close_strategy, get_strategy
from ..strategies.base import Strategy
from ..strategies.configure import with_memory, with_stop_policy
from ..tools import close_tools, parse_tool_specs
from .recipe import Recipe
from .replay import Replayer
from .schema import StoreError
from .sqlite import RunStore


def build_strategy(recipe: Recipe, model: Model, tools: Sequence[Any] = ()) -> Strategy:
    """The strategy a recipe names, configured as the original run was (its options as ``ponder ask`` chose them)."""
    strategy = with_stop_policy(get_strategy(recipe.strategy, tools=tools, **recipe.strategy_options), recipe.stop)
    if recipe.memory:
        strategy = with_memory(strategy, recipe.memory["mode"], recipe.memory["threshold"], recipe.memory["window"])
    return strategy


def resume(
    store: RunStore,
    run_id: str,
    *,
    model: Model | None = None,
    strategy: Strategy | None = None,
    sinks: Iterable[EventSink] = (),
    on_text: TextObserver | None = None,
) -> tuple[RunResult, Replayer]:
    """Continue the stored run ``run_id``; returns its result and the replayer (how much was replayed).

    ``model`` and ``strategy`` default to what the run's recipe names (as
    ``ponder ask`` stored it); pass them to resume a run recorded through the
    Python API.
    """
    root = store.resolve(run_id)
    info = store.run(root)
    if info["status"] == "finished":
        raise StoreError(f"run {root} already finished ({info['stop_reason']}); nothing to resume")
    recipe = store.recipe(root)
    if recipe is None and (model is None or strategy is None):
        raise StoreError(f"run {root} has no stored recipe; resume it from Python with its model and strategy")
    store.drop_error_tail(root)
    replayer = Replayer(store.events(root))
    with ExitStack() as stack:
        if recipe is not None and model is None:
            model = load_model(recipe.model, base_url=recipe.base_url)
        assert model is not None
        if strategy is None:
            assert recipe is not None
            tools = parse_tool_specs(recipe.tools) if recipe.tools.strip() else []
            stack.callback(close_tools, tools)
            strategy = build_strategy(recipe, model, tools)
            stack.callback(close_strategy, strategy)
        budget = recipe.make_budget() if recipe is not None else None
        options = recipe.make_options() if recipe is not None else None
        if recipe is None:
            budget, options = _budget_and_options(store.events(root))
        engine = Engine(
            model,
            budget=budget,
            options=options,
            sinks=[store.sink(recipe, resume=root), *sinks],
            on_text=on_text,
            replay=replayer,
        )
        result = engine.run(strategy, info["question"])
    store.add_resume(root, replayer.replayed_calls, replayer.replayed_tools)
    return result, replayer


def _budget_and_options(events: list[dict[str, Any]]) -> tuple[Any, Any]:
    """Without a recipe: the budget from ``run_started`` and the options of the first recorded call."""
    from ..budget import Budget
    from ..types import GenerationOptions

    started = events[0]
    budget = Budget(**started.get("budget", {}))
    options = None
    for event in events:
        if event["type"] == "model_call" and event.get("options"):
            data = dict(event["options"])
            data["stop"] = tuple(data.get("stop", ()))
            options = GenerationOptions(**data)
            break
    return budget, options
