"""The strategy protocol: plain logic that yields requests to the engine."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ..requests import StrategyGen


@runtime_checkable
class Strategy(Protocol):
    """A reasoning loop. ``run`` is a generator: it yields requests and returns an Outcome.

    A strategy never calls a backend, a clock or a file itself; that keeps it
    deterministic under a scripted model and lets the engine budget, trace and
    (later) replay everything it does.
    """

    @property
    def name(self) -> str:
        """The strategy's name, shown in results and traces (a plain attribute in implementations)."""
        ...

    def run(self, question: str) -> StrategyGen: ...
