"""``ponder ask``'s strategy flags, generated from the strategy registry.

Each strategy's entry (see :mod:`ponder.strategies.entry`) declares which of its
options, slots and verifier have a flag, with the flag's type and help; the
flags of all registered strategies (plugins included) are merged by name here.
Where a flag's value lands in the run spec is decided by
:func:`ponder.spec.spec_from_flags` (the outermost strategy of the tree that
declares it), not here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from ..spec import strategy_flags
from ..spec.flags import StrategyFlag
from ..strategies.entry import Option
from .numbers import FiniteFloat, Whole

F = TypeVar("F", bound=Callable[..., Any])


def strategy_options(func: F) -> F:
    """Add every registered strategy's flags to a command (values default to None: not given)."""
    for flag in reversed(strategy_flags()):
        func = _click_option(flag)(func)
    return func


def strategy_dests() -> list[str]:
    """The parameter names of the generated flags."""
    return [flag.dest for flag in strategy_flags()]


def _click_option(flag: StrategyFlag) -> Callable[[F], F]:
    declared = flag.declared
    if not isinstance(declared, Option):  # a slot or the verifier: a strategy name / verifier spec
        return click.option(flag.flag, flag.dest, default=None, help=flag.help)
    if declared.flag_value is not None:
        return click.option(flag.flag, flag.dest, is_flag=True, default=None, help=flag.help)
    kind: Any = declared.type
    if declared.choices:
        kind = click.Choice(list(declared.choices))
    elif declared.type is int:
        low = int(declared.minimum) if declared.minimum is not None else None
        high = int(declared.maximum) if declared.maximum is not None else None
        kind = Whole(min=low, max=high, min_open=declared.open_min)
    elif declared.type is float:
        kind = FiniteFloat(min=declared.minimum, max=declared.maximum, min_open=declared.open_min)
    return click.option(flag.flag, flag.dest, type=kind, default=None, help=flag.help)
