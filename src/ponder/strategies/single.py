"""``single``: one pass, the baseline every other strategy is compared with."""

from __future__ import annotations

from dataclasses import dataclass

from .. import steps
from ..requests import Generate, Outcome, StrategyGen
from .asking import PROMPT_OPTION, ask
from .entry import StrategyEntry


@dataclass(frozen=True, slots=True)
class Single:
    """Ask once, answer with what comes back (``prompt``: a packaged prompt, see :mod:`.asking`)."""

    system_prompt: str | None = None
    prompt: str | None = None
    name: str = "single"

    def run(self, question: str) -> StrategyGen:
        completion = yield Generate.of(ask(question, self.prompt, self.system_prompt), kind=steps.ANSWER)
        return Outcome(completion.text.strip(), "answered")


ENTRY = StrategyEntry(
    "single", Single, "one pass, the baseline", options=(PROMPT_OPTION,), calls=lambda options, slots: 1
)
