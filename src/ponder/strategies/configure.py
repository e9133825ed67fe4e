"""Give a built strategy the stop policy and memory a recipe or command line asks for.

Used by ``ponder ask`` and by ``ponder resume`` (which rebuilds the strategy of a
stored run from its recipe), so both configure a strategy the same way.
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass, replace
from typing import Any, Literal, cast

from ..errors import ConfigError
from ..memory import Memory
from ..stop_learned import parse_stop
from .base import Strategy


def _has_field(strategy: Strategy, name: str) -> bool:
    return is_dataclass(strategy) and not isinstance(strategy, type) and name in {f.name for f in fields(strategy)}


def with_stop_policy(strategy: Strategy, spec: str | None) -> Strategy:
    """``strategy`` with the policy ``spec`` names (unchanged for none/fixed)."""
    policy = parse_stop(spec)
    if policy is None:
        return strategy
    if not _has_field(strategy, "stop_policy"):
        raise ConfigError(
            f"--stop {spec} does not apply to {strategy.name} (use it with --strategy refine or --strategy consistency)"
        )
    try:
        changed: Strategy = replace(cast(Any, strategy), stop_policy=policy)
    except ConfigError as exc:  # e.g. a policy fitted on refine passes given to consistency
        raise ConfigError(f"--stop {spec}: {exc}") from None
    return changed


def with_memory(strategy: Strategy, mode: str, threshold: float, window: int) -> Strategy:
    """``strategy`` with a :class:`Memory` of ``mode`` over ``window`` tokens (unchanged for ``off``)."""
    if mode == "off":
        return strategy
    if not _has_field(strategy, "memory"):
        raise ConfigError(f"--memory does not apply to {strategy.name} (use it with --strategy react or refine)")
    if mode not in ("summary", "notes"):
        raise ConfigError(f"unknown memory mode {mode!r} (use off, summary or notes)")
    memory = Memory(window=window, threshold=threshold, mode=cast(Literal["summary", "notes"], mode))
    changed: Strategy = replace(cast(Any, strategy), memory=memory)
    return changed
