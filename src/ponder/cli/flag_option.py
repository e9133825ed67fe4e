"""A run flag's declaration (:class:`~ponder.spec.run_flags.RunFlag`) as a click option."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from ..spec.run_flags import BY_NAME, RunFlag
from .numbers import FiniteFloat, Whole

F = TypeVar("F", bound=Callable[..., Any])


def click_option(flag: RunFlag) -> Callable[[F], F]:
    """The click option that reads ``flag`` as its declaration says."""
    extra: dict[str, Any] = {"show_default": True} if flag.show_default else {}
    if flag.metavar is not None:
        extra["metavar"] = flag.metavar
    if flag.shape == "switch":
        extra["is_flag"] = True
    elif flag.shape == "texts":
        extra["multiple"] = True
    else:
        extra["type"] = _type(flag)
    return click.option(*flag.flags, flag.name, default=flag.default, help=flag.help or None, **extra)


def run_flag_option(name: str) -> Callable[[F], F]:
    """The click option of the run flag ``name`` (a command's own, e.g. ``--session``)."""
    return click_option(BY_NAME[name])


def _type(flag: RunFlag) -> Any:
    low, high = flag.minimum, flag.maximum
    types: dict[str, Callable[[], Any]] = {
        "whole": lambda: Whole(
            min=None if low is None else int(low), max=None if high is None else int(high), min_open=flag.open_min
        ),
        "number": lambda: FiniteFloat(min=low, max=high, min_open=flag.open_min),
        "choice": lambda: click.Choice(list(flag.choices)),
        "file": lambda: click.Path(exists=True, dir_okay=False, path_type=Path),
        "path": lambda: click.Path(exists=True, path_type=Path),
        "output": lambda: click.Path(dir_okay=False, path_type=Path),
    }
    make = types.get(flag.shape)
    return make() if make is not None else None
