"""``single``: one pass, the baseline every other strategy is compared with."""

from __future__ import annotations

from dataclasses import dataclass

from .. import prompts, steps
from ..requests import Generate, Outcome, StrategyGen
from ..types import system, user
from .entry import StrategyEntry


@dataclass(frozen=True, slots=True)
class Single:
    """Ask once, answer with what comes back."""

    system_prompt: str | None = None
    name: str = "single"

    def run(self, question: str) -> StrategyGen:
        sys_prompt = self.system_prompt if self.system_prompt is not None else prompts.load("system")
        completion = yield Generate.of([system(sys_prompt), user(question)], kind=steps.ANSWER)
        return Outcome(completion.text.strip(), "answered")


ENTRY = StrategyEntry("single", Single, "one pass, the baseline", calls=lambda options, slots: 1)
