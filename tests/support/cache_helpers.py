"""Helpers shared by tests/unit/test_cache.py and tests/integration/test_cache_integration.py."""

from __future__ import annotations

from ponder import Batch, Generate, Outcome
from ponder.requests import StrategyGen
from ponder.types import user

ASK = (user("What is 2 + 2?"),)


class Twice:
    """Asks the same thing twice, then twice more in one batch."""

    name = "twice"

    def __init__(self, temperature: float | None = None, seed: int | None = None) -> None:
        self.temperature, self.seed = temperature, seed

    def run(self, question: str) -> StrategyGen:
        ask = Generate.of(ASK, temperature=self.temperature, seed=self.seed)
        first = yield ask
        second = yield ask
        pair = yield Batch((ask, ask))
        return Outcome(" | ".join(c.text for c in [first, second, *pair]))
