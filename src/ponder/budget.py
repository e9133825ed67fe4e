"""Budgets: the limits the engine enforces on every run.

A :class:`Budget` is typed, validated configuration. The engine checks it
*before* each model call, so a run never starts a call it cannot afford, and
records which limit ended the run (stop reason ``max_steps`` for the step
limit, ``budget`` for every other limit).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from .errors import ConfigError, DepthLimit, RunInterruptedError, StopRun
from .numbers import MAX_SECONDS, finite, whole
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
            if value is None:
                continue
            if name == "max_seconds":
                finite(name, value, maximum=MAX_SECONDS)
            else:
                whole(name, value)
            if value <= 0:
                raise ConfigError(f"{name} must be a positive number, got {value}")
        whole("max_depth", self.max_depth)
        if self.max_depth < 0:
            raise ConfigError(f"max_depth must be >= 0, got {self.max_depth}")


class Cancellation:
    """A flag another thread sets to end a run at its next request (a client that went away, a server
    shutting down). ``cancel``: the run stops with stop reason ``cancelled`` and a partial answer;
    ``interrupt``: the run ends with an error (:class:`~ponder.errors.RunInterruptedError`), so a store
    keeps it unfinished and ``ponder resume`` can continue it."""

    __slots__ = ("_event", "detail", "interrupted")

    def __init__(self) -> None:
        self._event = threading.Event()
        self.detail = ""
        self.interrupted = False

    def cancel(self, detail: str = "the run was cancelled") -> None:
        self.detail = detail
        self._event.set()

    def interrupt(self, detail: str = "the run was interrupted") -> None:
        self.interrupted = True
        self.cancel(detail)

    @property
    def is_set(self) -> bool:
        return self._event.is_set()


class BudgetMeter:
    """The one gate of a run tree: it admits model calls, tool calls and child runs against a
    :class:`Budget`, caps each call's ``max_tokens`` to what is left, and counts what was used.

    The engine asks it before every request it executes; nothing else raises a budget stop.
    """

    __slots__ = ("budget", "cancellation", "started", "steps", "usage")

    def __init__(self, budget: Budget, cancellation: Cancellation | None = None) -> None:
        self.budget = budget
        self.cancellation = cancellation
        self.usage = Usage()
        self.steps = 0
        self.started = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def admit_calls(self, calls: int = 1) -> None:
        """Admit ``calls`` model calls (each one step), or raise :class:`StopRun` naming the limit they would break.
        The steps count once the calls' token caps are admitted too (:meth:`take_steps`)."""
        self._check_calls(calls)

    def take_steps(self, calls: int) -> None:
        """Count ``calls`` admitted model calls as steps (after :meth:`admit_calls` and :meth:`cap`)."""
        self.steps += calls

    def admit_tool(self) -> None:
        """Admit a tool call: tool calls are steps, but only tokens and time limit them."""
        self._check_running()

    @property
    def watched(self) -> bool:
        """Whether calls must be watched while they run (a time limit, or a cancellation that may come)."""
        return self.budget.max_seconds is not None or self.cancellation is not None

    def seconds_left(self) -> float | None:
        """Seconds until the time limit (``None``: no time limit); never negative."""
        if self.budget.max_seconds is None:
            return None
        return max(0.0, self.budget.max_seconds - self.elapsed())

    def check_running(self, during: str = "") -> None:
        """While a call runs: :class:`StopRun` (or RunInterruptedError) once the run must end; ``during``
        names the call in a time stop's detail."""
        self._check_running(during)

    def time_stop(self, during: str = "") -> StopRun:
        """The stop for the time limit; ``during`` names the call still running (it is abandoned)."""
        detail = f"time limit of {self.budget.max_seconds:g}s reached"
        return StopRun("budget", f"{detail} during {during}" if during else detail)

    def admit_child(self, depth: int) -> None:
        """Admit a child run at ``depth``: within ``max_depth``, and while one more model call fits
        (a child that could not make one call would only swallow the stop)."""
        if depth > self.budget.max_depth:
            raise DepthLimit(self.budget.max_depth)
        self._check_calls(1)

    def cap(self, max_tokens: int, prompt_tokens: Callable[[], int]) -> int:
        """The ``max_tokens`` a call may use: cut to the token budget left after its prompt
        (``prompt_tokens`` is only counted when there is a token limit). A call whose prompt
        alone would break the limit is not admitted (:class:`StopRun`)."""
        left = self.tokens_left()
        if left is None:
            return max_tokens
        prompt = prompt_tokens()
        if prompt >= left:
            raise StopRun("budget", f"token limit of {self.budget.max_tokens} reached")
        return min(max_tokens, left - prompt)

    def count(self, usage: Usage) -> None:
        """Add what one call used."""
        self.usage.add(usage)

    def tokens_left(self) -> int | None:
        if self.budget.max_tokens is None:
            return None
        return max(1, self.budget.max_tokens - self.usage.total_tokens)

    def _check_calls(self, calls: int) -> None:
        b = self.budget
        if b.max_steps is not None and self.steps + calls > b.max_steps:
            raise StopRun("max_steps", f"step limit of {b.max_steps} reached")
        if b.max_model_calls is not None and self.usage.model_calls + calls > b.max_model_calls:
            raise StopRun("budget", f"model call limit of {b.max_model_calls} reached")
        self._check_running()

    def _check_running(self, during: str = "") -> None:
        cancel = self.cancellation
        if cancel is not None and cancel.is_set:
            if cancel.interrupted:
                raise RunInterruptedError(cancel.detail)
            raise StopRun("cancelled", cancel.detail)
        b = self.budget
        if b.max_tokens is not None and self.usage.total_tokens >= b.max_tokens:
            raise StopRun("budget", f"token limit of {b.max_tokens} reached")
        if b.max_seconds is not None and self.elapsed() >= b.max_seconds:
            raise self.time_stop(during)
