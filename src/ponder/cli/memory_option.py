"""``--memory summary|notes``: keep an iterative strategy's prompt within the model's window."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from .numbers import FiniteFloat

F = TypeVar("F", bound=Callable[..., Any])


def memory_options(func: F) -> F:
    func = click.option(
        "--memory-threshold",
        type=FiniteFloat(min=0, max=1, min_open=True),
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
