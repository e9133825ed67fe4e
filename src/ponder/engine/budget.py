"""Budgets: the limits the engine enforces on every run.

A :class:`Budget` is typed, validated configuration. The engine checks it
*before* each model call, so a run never starts a call it cannot afford, and
records which limit ended the run (stop reason ``max_steps`` for the step
limit, ``budget`` for every other limit).

Dollars (``max_usd``) are counted from each call's cost (:mod:`ponder.engine.prices`: the
server's reported cost, else the model's price). Before a call of a priced model, the
gate holds back what the call could cost at most (its prompt, plus ``max_tokens``
completion tokens), cutting ``max_tokens`` to what the money left buys, and refuses
the call when not even its prompt fits. A model with no price (only a server-reported
cost) is admitted while money is left; one with neither cannot be held to dollars.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import ConfigError, DepthLimit, RunInterruptedError, StopRun
from ..guards.numbers import MAX_SECONDS, finite, whole
from ..types import Usage
from .prices import PriceTable, dollars

#: the largest dollar limit (a typo guard; far above any run)
MAX_USD = 1_000_000.0
#: prompt tokens a chat template adds per message (role markers), counted in a call's most cost for a
#: backend that does not say (a backend's ``template_tokens``)
TEMPLATE_TOKENS = 8


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
    #: US dollars the run may spend (see the module docs)
    max_usd: float | None = None

    def __post_init__(self) -> None:
        for name in ("max_steps", "max_model_calls", "max_tokens", "max_seconds", "max_usd"):
            value = getattr(self, name)
            if value is None:
                continue
            if name == "max_seconds":
                finite(name, value, maximum=MAX_SECONDS)
            elif name == "max_usd":
                finite(name, value, maximum=MAX_USD)
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

    __slots__ = ("budget", "cancellation", "prices", "reserved", "started", "steps", "uncounted", "usage")

    def __init__(
        self, budget: Budget, cancellation: Cancellation | None = None, prices: PriceTable | None = None
    ) -> None:
        self.budget = budget
        self.cancellation = cancellation
        #: the models' prices (what a call costs; the estimate before a call under ``max_usd``)
        self.prices = prices or PriceTable({})
        self.usage = Usage()
        self.steps = 0
        self.started = time.perf_counter()
        #: dollars held back for the calls admitted and not yet counted (see :meth:`cap`, :meth:`release`)
        self.reserved = 0.0
        #: a model whose call came back with no cost (no price, none reported): dollars cannot be kept
        self.uncounted: str | None = None

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

    def cap(self, max_tokens: int, prompt_tokens: Callable[[], int], model: str = "", template: int = 0) -> int:
        """The ``max_tokens`` a call of ``model`` may use: cut to the token budget left after its prompt
        and to the completion tokens the dollars left buy (``prompt_tokens`` is only counted when
        there is such a limit). A call whose prompt alone would break a limit is not admitted
        (:class:`StopRun`). Under a dollar limit the call's most cost (its prompt with ``template`` more
        tokens for the chat template) is held back until :meth:`release`, so the calls of one batch
        together stay within it."""
        left = self.tokens_left()
        price = self.prices.get(model) if self.budget.max_usd is not None else None
        if left is None and price is None:
            return max_tokens
        prompt = prompt_tokens()
        if left is not None:
            if prompt >= left:
                raise StopRun("budget", f"token limit of {self.budget.max_tokens} reached")
            max_tokens = min(max_tokens, left - prompt)
        if price is not None:
            money = self.dollars_left() - self.reserved
            prompt_cost = price.prompt_cost(prompt + template)
            affordable = price.completion_tokens_for(money - prompt_cost)
            if prompt_cost >= money:
                raise self.dollar_stop(
                    f"the next call on {model} would cost {dollars(prompt_cost)} for its prompt alone"
                )
            if affordable == 0:
                raise self.dollar_stop(f"what is left does not buy the next call on {model} one completion token")
            if affordable is not None:
                max_tokens = min(max_tokens, affordable)
            self.reserved += prompt_cost + max_tokens * price.completion / 1_000_000
        return max_tokens

    def release(self) -> None:
        """The calls admitted by :meth:`cap` are counted (or were not made): their dollars are not held back."""
        self.reserved = 0.0

    def count(self, usage: Usage, model: str = "") -> Usage:
        """Add what one call of ``model`` used; returns ``usage`` with its cost (:meth:`PriceTable.charge`)."""
        usage = self.prices.charge(usage, model)
        if usage.cost is None and usage.model_calls and self.budget.max_usd is not None:
            self.uncounted = model or "a model"
        self.usage.add(usage)
        return usage

    def dollars_left(self) -> float:
        """Dollars under ``max_usd`` not yet spent (infinite without a dollar limit); never negative."""
        if self.budget.max_usd is None:
            return float("inf")
        return max(0.0, self.budget.max_usd - (self.usage.cost or 0.0))

    def dollar_stop(self, why: str = "") -> StopRun:
        """The stop for the dollar limit, saying what was spent (and ``why`` the next call does not fit)."""
        spent = dollars(self.usage.cost or 0.0)
        limit = f"dollar limit of {dollars(self.budget.max_usd or 0.0)} reached"
        return StopRun("budget", f"{limit}: {spent} spent, and {why}" if why else f"{limit} ({spent} spent)")

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
        if b.max_usd is not None:
            if self.uncounted is not None:
                raise ConfigError(
                    f"--max-usd cannot be kept: {self.uncounted} has no price and its server reported no cost"
                    " (give its price with --prices FILE)"
                )
            if (self.usage.cost or 0.0) >= b.max_usd:
                raise self.dollar_stop()
        if b.max_seconds is not None and self.elapsed() >= b.max_seconds:
            raise self.time_stop(during)
