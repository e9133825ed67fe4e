"""A test strategy shared by the engine and price tests (unit and integration): it asks the model until the engine stops it."""

from __future__ import annotations

from ponder import Generate, Outcome, StopRun
from ponder.types import user


class Looper:
    """Asks the model forever; returns its last reply when stopped."""

    name = "looper"

    def run(self, question: str):
        last = None
        try:
            while True:
                last = (yield Generate.of([user(question)], kind="pass")).text
        except StopRun as stop:
            return Outcome(last, stop.reason, stop.detail)
