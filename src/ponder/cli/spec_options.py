"""The run-spec flags shared by ``ponder ask`` and ``ponder eval``: models by role, budget (and prices), generation
options, tools, context, store, stop policy, memory (each made from its declaration,
:data:`~ponder.spec.run_flags.RUN_FLAGS`) and every registered strategy's own flags.

:func:`given_flags` names the flags a user gave (for :func:`~ponder.spec.spec_from_flags` over a ``--spec`` base).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from ..spec.run_flags import RUN_FLAGS
from .flag_option import click_option
from .strategy_options import strategy_options

F = TypeVar("F", bound=Callable[..., Any])


def spec_options(*, trace: bool = True) -> Callable[[F], F]:
    """Add the run-spec flags (``--strategy`` is each command's own); ``trace=False`` leaves out ``--trace``."""

    def decorate(func: F) -> F:
        func = strategy_options(func)
        for flag in reversed(RUN_FLAGS):
            if flag.shared and (trace or flag.name != "trace_path"):
                func = click_option(flag)(func)
        return func

    return decorate


def given_flags(ctx: click.Context) -> set[str]:
    """The parameters of ``ctx`` the user gave (not left at their defaults)."""
    return {name for name in ctx.params if ctx.get_parameter_source(name) is not ParameterSource.DEFAULT}
