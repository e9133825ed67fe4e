"""Budgets: the limits the engine enforces on every run.

A :class:`Budget` is typed, validated configuration. The engine checks it
*before* each model call, so a run never starts a call it cannot afford, and
records which limit ended the run (stop reason ``max_steps`` for the step
limit, ``budget`` for every other limit).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from .errors import ConfigError, StopRun
from .types import Usage


@dataclass(frozen=True, slots=True)
class Budget:
    """Limits for one run (child runs share their parent's budget).

    ``None`` means unlimited. ``max_depth`` bounds how deep child runs may nest
    (0: no child runs at all).
    """

    max_steps: int | None = 8
    max_model_calls: int | None = None
    max_tokens: int | None = None
    max_seconds: float | None = None
    max_depth: int = 3

    def __post_init__(self) -> None:
        for name in ("max_steps", "max_model_calls", "max_tokens", "max_seconds"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ConfigError(f"{name} must be a positive number, got {value}")
        if self.max_depth < 0:
            raise ConfigError(f"max_depth must be >= 0, got {self.max_depth}")


class BudgetMeter:
    """Running totals for one run tree, checked against a :class:`Budget`."""

    __slots__ = ("budget", "started", "steps", "usage")

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.usage = Usage()
        self.steps = 0
        self.started = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def check(self, steps: int = 1, calls: int = 1) -> None:
        """Raise :class:`StopRun` if ``steps`` more steps with ``calls`` model calls would break a limit."""
        b = self.budget
        if b.max_steps is not None and self.steps + steps > b.max_steps:
            raise StopRun("max_steps", f"step limit of {b.max_steps} reached")
        if b.max_model_calls is not None and self.usage.model_calls + calls > b.max_model_calls:
            raise StopRun("budget", f"model call limit of {b.max_model_calls} reached")
        if b.max_tokens is not None and self.usage.total_tokens >= b.max_tokens:
            raise StopRun("budget", f"token limit of {b.max_tokens} reached")
        if b.max_seconds is not None and self.elapsed() >= b.max_seconds:
            raise StopRun("budget", f"time limit of {b.max_seconds:g}s reached")

    def tokens_left(self) -> int | None:
        if self.budget.max_tokens is None:
            return None
        return max(1, self.budget.max_tokens - self.usage.total_tokens)
