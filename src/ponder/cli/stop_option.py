"""``--stop fixed|learned:PATH``: the stop policy of an iterative strategy."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields, is_dataclass, replace
from typing import Any, TypeVar

import click

from ..errors import ConfigError
from ..stop_learned import parse_stop
from ..strategies.base import Strategy

F = TypeVar("F", bound=Callable[..., Any])


def stop_option(func: F) -> F:
    return click.option(
        "--stop",
        "stop",
        default=None,
        metavar="POLICY",
        help="refine, consistency: fixed (its own rules, the default) or learned:PATH (a fitted stop policy).",
    )(func)


def with_stop_policy(strategy: Strategy, spec: str | None) -> Strategy:
    """``strategy`` with the policy ``spec`` names (unchanged for none/fixed)."""
    policy = parse_stop(spec)
    if policy is None:
        return strategy
    if (
        not is_dataclass(strategy)
        or isinstance(strategy, type)
        or "stop_policy" not in {f.name for f in fields(strategy)}
    ):
        raise ConfigError(
            f"--stop {spec} does not apply to {strategy.name} (use it with --strategy refine or --strategy consistency)"
        )
    try:
        changed: Strategy = replace(strategy, stop_policy=policy)
    except ConfigError as exc:  # e.g. a policy fitted on refine passes given to consistency
        raise ConfigError(f"--stop {spec}: {exc}") from None
    return changed
