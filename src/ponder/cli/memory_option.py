"""``--memory summary|notes``: keep an iterative strategy's prompt within the model's window."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields, is_dataclass, replace
from typing import Any, TypeVar

import click

from ..errors import ConfigError
from ..memory import Memory
from ..strategies.base import Strategy

F = TypeVar("F", bound=Callable[..., Any])


def memory_options(func: F) -> F:
    func = click.option(
        "--memory-threshold",
        type=click.FloatRange(min=0, max=1, min_open=True),
        default=0.8,
        show_default=True,
        help="With --memory: compact when the prompt passes this share of the model's window.",
    )(func)
    return click.option(
        "--memory",
        "memory_mode",
        type=click.Choice(["off", "summary", "notes"]),
        default="off",
        show_default=True,
        help="react/refine: fold older steps into a summary (a model call) or clipped notes.",
    )(func)


def with_memory(strategy: Strategy, mode: str, threshold: float, window: int) -> Strategy:
    """``strategy`` with a :class:`Memory` of ``mode`` over ``window`` tokens (unchanged for ``off``)."""
    if mode == "off":
        return strategy
    if not is_dataclass(strategy) or isinstance(strategy, type) or "memory" not in {f.name for f in fields(strategy)}:
        raise ConfigError(f"--memory does not apply to {strategy.name} (use it with --strategy react or refine)")
    changed: Strategy = replace(strategy, memory=Memory(window=window, threshold=threshold, mode=mode))
    return changed
