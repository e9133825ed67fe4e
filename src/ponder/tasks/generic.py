"""The generic task: thoughts are next reasoning steps towards answering a free-form question.

The model proposes next steps, judges partial chains (sure/likely/impossible),
and finally writes the answer from the best chain. A step that starts with
``Answer:`` ends its chain. There is no final check, so the search runs to its
depth limit and the best leaf is answered.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..requests import Generate
from ..steps import ANSWER, PROPOSE, THOUGHT, VALUE, VOTE
from .base import VALUE_GRAMMAR, Rejected, chat_prompt, numbered, split_thoughts, vote_grammar

_ANSWER = re.compile(r"^\s*(?:final\s+)?answer\s*:\s*", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Chain:
    """A question and the reasoning steps taken so far."""

    question: str
    steps: tuple[str, ...] = ()

    def then(self, step: str) -> Chain:
        return Chain(self.question, (*self.steps, step))


def _steps_text(chain: Chain) -> str:
    return numbered(chain.steps) if chain.steps else "(none yet)"


@dataclass(frozen=True, slots=True)
class Reasoning:
    """Free-form questions (``ponder ask Q --strategy tree``)."""

    name: str = "generic"
    has_final_check: bool = False
    depth: int | None = None

    def root(self, question: str) -> Chain:
        return Chain(question.strip())

    def describe(self, state: Chain) -> str:
        return f"{len(state.steps)} steps" + (f"; last: {state.steps[-1]}" if state.steps else "")

    def thought(self, state: Chain) -> str:
        return state.steps[-1] if state.steps else state.question

    def key(self, state: Chain) -> str:
        return "\n".join(" ".join(s.lower().split()) for s in state.steps)

    def propose(self, state: Chain, k: int) -> Generate:
        messages = chat_prompt("tree/propose", question=state.question, steps=_steps_text(state), k=k)
        return Generate.of(messages, kind=PROPOSE)

    def sample(self, state: Chain) -> Generate:
        messages = chat_prompt("tree/sample", question=state.question, steps=_steps_text(state))
        return Generate.of(messages, kind=THOUGHT, stop=("\n",))

    def expand(self, state: Chain, text: str, limit: int) -> list[Chain | Rejected]:
        out: list[Chain | Rejected] = []
        for line in split_thoughts(text):
            if len(out) >= limit:
                break
            if not any(ch.isalnum() for ch in line):
                out.append(Rejected(line, "not a step (no words)"))
                continue
            out.append(state.then(line))
        return out

    def value(self, state: Chain) -> Generate:
        messages = chat_prompt("tree/value", question=state.question, steps=_steps_text(state))
        return Generate.of(messages, kind=VALUE, stop=("\n",), grammar=VALUE_GRAMMAR)

    def vote(self, candidates: Sequence[Chain]) -> Generate:
        choices = numbered([" / ".join(c.steps) for c in candidates])
        messages = chat_prompt("tree/vote", question=candidates[0].question, choices=choices)
        return Generate.of(messages, kind=VOTE, stop=("\n",), grammar=vote_grammar(len(candidates)))

    def is_final(self, state: Chain) -> bool:
        return bool(state.steps) and _ANSWER.match(state.steps[-1]) is not None

    def solution(self, state: Chain) -> str | None:
        return None

    def dead(self, state: Chain) -> str | None:
        return None

    def answer(self, state: Chain) -> Generate | None:
        if self.is_final(state):
            return None
        messages = chat_prompt("tree/answer", question=state.question, steps=_steps_text(state))
        return Generate.of(messages, kind=ANSWER)

    def parse_answer(self, state: Chain, text: str) -> str | None:
        if not text and self.is_final(state):
            return _ANSWER.sub("", state.steps[-1]).strip() or None
        if not text and state.steps:
            return state.steps[-1]
        return _ANSWER.sub("", text.strip()).strip() or None
