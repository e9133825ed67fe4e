"""``--stop fixed|learned:PATH``: the stop policy of an iterative strategy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def stop_option(func: F) -> F:
    return click.option(
        "--stop",
        "stop",
        default=None,
        metavar="POLICY",
        help="refine, consistency: fixed (its own rules, the default) or learned:PATH (a fitted stop policy).",
    )(func)
