"""An LM judge: the model (or another one) says CORRECT or INCORRECT, with a reason.

The prompt is ``prompts/verify/judge.txt``. On backends with grammars (the
embedded one) the reply is constrained to ``CORRECT: reason`` or
``INCORRECT: reason``, so even a small model answers in the format; elsewhere
the first verdict word in the reply counts. A reply with neither word is not
accepted (score 0.5) and the reply itself becomes the feedback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .. import prompts, steps
from ..requests import Generate
from ..types import user
from .base import Verdict, VerifierGen

GRAMMAR = 'root ::= ("CORRECT" | "INCORRECT") ": " [^\\n]+'
_VERDICT = re.compile(r"\b(INCORRECT|NOT CORRECT|WRONG|CORRECT|RIGHT)\b", re.IGNORECASE)
_NEGATIVE = {"incorrect", "not correct", "wrong"}


@dataclass(frozen=True, slots=True)
class Judge:
    """Ask the model whether ``answer`` answers ``question`` correctly (see module docs)."""

    prompt: str = "verify/judge"
    constrained: bool = True
    name: str = "judge"

    def check(self, question: str, answer: str) -> VerifierGen:
        text = prompts.render(self.prompt, question=question, answer=answer)
        grammar = GRAMMAR if self.constrained else None
        reply = yield Generate.of([user(text)], kind=steps.JUDGE, stop=("\n",), grammar=grammar, role="judge")
        return parse_judgement(reply.text)


def parse_judgement(text: str) -> Verdict:
    """The verdict in a judge's reply (first verdict word wins)."""
    found = _VERDICT.search(text)
    if found is None:
        return Verdict(False, f"the judge gave no verdict: {text.strip()[:300]}", 0.5)
    reason = text[found.end() :].strip().lstrip(":-–, ").strip() or text.strip()
    if found.group(1).casefold() in _NEGATIVE:
        return Verdict(False, reason, 0.0)
    return Verdict(True, reason, 1.0)
