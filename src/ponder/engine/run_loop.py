"""One run's generator, stepped: the rules of how a strategy receives results and stops.

The engine drives every run through a :class:`RunLoop`: :meth:`next` asks the
strategy for its next request (sending it the previous result, or throwing
the pending stop into it), :meth:`settle` executes a request and turns the
engine's refusals into what the strategy sees next:

* a :class:`~ponder.errors.DepthLimit` refuses that one child run: it is thrown
  into the strategy, which may go on;
* a :class:`~ponder.errors.PromptTooLong` (a prompt the model's window cannot
  hold) is thrown into the strategy, which may send less; if it does not catch
  it, the run ends with that error;
* a :class:`~ponder.errors.StopRun` (a limit of the budget) is thrown into the
  strategy, which may catch it and return its best answer; if it asks for
  more after that, the run ends with the stop's reason.

The engine's own loop steps one run at a time; a group of child runs
(:class:`~ponder.requests.Children`, see :mod:`ponder.engine.children`) steps
several loops in turn, so their model calls can go out together.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import DepthLimit, PromptTooLong, StopRun
from ..requests import Outcome, Request, StrategyGen
from .run_state import RunState


class RunLoop:
    """The generator of one run and what it is waiting for (see the module docs)."""

    __slots__ = ("gen", "outcome", "pending", "run", "value")

    def __init__(self, gen: StrategyGen, run: RunState) -> None:
        self.gen = gen
        self.run = run
        self.value: Any = None
        self.pending: StopRun | PromptTooLong | None = None
        #: set once the strategy has returned (or the run was ended by a stop)
        self.outcome: Outcome | None = None

    def next(self) -> Request | None:
        """The strategy's next request, or None once it is done (then :attr:`outcome` is set)."""
        if self.outcome is not None:
            return None
        try:
            request = self.gen.throw(self.pending) if self.pending is not None else self.gen.send(self.value)
        except StopIteration as done:
            self.outcome = done.value if isinstance(done.value, Outcome) else Outcome(done.value)
            return None
        except StopRun as stop:
            self.outcome = Outcome(None, stop.reason, stop.detail)
            return None
        self.pending = None
        stopping = self.run.stopping
        if stopping is not None:  # the strategy caught StopRun but asked for more: end it here
            self.outcome = Outcome(None, stopping.reason, stopping.detail)
            return None
        return request

    def settle(self, execute: Callable[[], Any]) -> None:
        """Run ``execute`` (the engine executing this loop's request) and keep its result for the strategy."""
        try:
            self.deliver(execute())
        except DepthLimit as refused:  # refuses that child only; the run may go on
            self.pending = refused
        except PromptTooLong as long:  # the strategy may act on it (send less); else it ends the run
            self.pending = long
        except StopRun as stop:
            self.run.stopping = self.pending = stop

    def deliver(self, value: Any) -> None:
        """``value`` is the result of the request :meth:`next` returned."""
        self.value = value

    def close(self) -> None:
        self.gen.close()
