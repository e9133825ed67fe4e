"""A test strategy shared by the store and viewer tests: a batch, a recorded vote and a child run."""

from __future__ import annotations

from ponder import Batch, Generate, Outcome, Record, strategies
from ponder.requests import Child
from ponder.types import user


class Fanout:
    """A batch of two samples, a recorded vote, then a refine child run."""

    name = "fanout"

    def run(self, question: str):
        first = yield Batch((Generate.of([user(question)], "sample"), Generate.of([user(question + "?")], "sample")))
        yield Record("vote", "picked the first", {"votes": [1, 0]})
        child = yield Child(strategies.Refine(max_rounds=1), "child: " + question)
        return Outcome(first[0].text + " / " + (child.answer or ""))
