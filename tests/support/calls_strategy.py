"""A test strategy shared by the store tests: N model calls, one after the other (a fast writer)."""

from __future__ import annotations

from ponder import Generate, Outcome
from ponder.types import user


class Calls:
    """N model calls, one after the other."""

    name = "calls"

    def __init__(self, n: int) -> None:
        self.n = n

    def run(self, question: str):  # type: ignore[no-untyped-def]
        for i in range(self.n):
            yield Generate.of([user(f"{question} {i}")], kind="step")
        return Outcome("done")
