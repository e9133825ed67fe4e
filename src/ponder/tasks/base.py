"""What the ``tree`` strategy needs to know about a task.

A :class:`ThoughtTask` owns the prompts and the checks of one kind of problem;
the strategy owns the search. States are opaque to the strategy (a task may
use any immutable value). Prompts are built from data files in
``ponder/prompts`` (see :func:`chat_prompt`), so every call can be shown
exactly as sent.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, runtime_checkable

from .. import prompts
from ..errors import ConfigError
from ..requests import Generate
from ..types import Message, MessageRole

S = TypeVar("S")


@dataclass(frozen=True, slots=True)
class Rejected:
    """A proposed thought that failed the task's step check (shown in the tree, never expanded)."""

    text: str
    reason: str


@runtime_checkable
class ThoughtTask(Protocol[S]):
    """A problem the tree strategy can search. See :mod:`ponder.tasks.generic` for the simplest one."""

    @property
    def name(self) -> str: ...

    @property
    def has_final_check(self) -> bool:
        """Whether :meth:`solution` checks answers (a search without a check answers from its best leaf)."""
        ...

    @property
    def depth(self) -> int | None:
        """The natural depth (number of thoughts) of a complete solution, if the task has one."""
        ...

    def root(self, question: str) -> S:
        """The state before any thought."""
        ...

    def describe(self, state: S) -> str:
        """A short, human-readable summary of the state (for the trace)."""
        ...

    def thought(self, state: S) -> str:
        """The last thought that led to ``state`` (the node's text in the tree)."""
        ...

    def key(self, state: S) -> str:
        """States with the same key are the same for the search (deduplicated, value cached)."""
        ...

    def propose(self, state: S, k: int) -> Generate:
        """One call that lists up to ``k`` next thoughts."""
        ...

    def sample(self, state: S) -> Generate:
        """One call that writes a single next thought (sampled ``k`` times)."""
        ...

    def expand(self, state: S, text: str, limit: int) -> list[S | Rejected]:
        """The children of ``state`` from a propose/sample reply: new states, or rejected thoughts."""
        ...

    def value(self, state: S) -> Generate:
        """One call that judges how promising ``state`` is (see :func:`parse_value`)."""
        ...

    def vote(self, candidates: Sequence[S]) -> Generate:
        """One call that picks the most promising of ``candidates`` (states at the same depth)."""
        ...

    def is_final(self, state: S) -> bool:
        """No further thoughts make sense (an answer was given, or nothing is left to combine)."""
        ...

    def solution(self, state: S) -> str | None:
        """The answer if ``state`` passes the task's final check; ``None`` otherwise (or without a check)."""
        ...

    def dead(self, state: S) -> str | None:
        """Why a final ``state`` cannot be an answer (it is pruned without a model call), else ``None``."""
        ...

    def answer(self, state: S) -> Generate | None:
        """The call that turns the best leaf into the final answer, or ``None`` when no call is needed."""
        ...

    def parse_answer(self, state: S, text: str) -> str | None:
        """The final answer from the reply to :meth:`answer` (or from the state, with ``text=''``)."""
        ...


# -- helpers shared by tasks ------------------------------------------------

VALUE_WORDS: dict[str, float] = {"sure": 1.0, "likely": 0.5, "impossible": 0.0}
#: the value of a reply that names none of the words (counts like "likely": no evidence either way)
UNKNOWN_VALUE = 0.5
VALUE_GRAMMAR = 'root ::= "sure" | "likely" | "impossible"'

_ROLE_LINE = re.compile(r"^\[(system|user|assistant)\]$", re.MULTILINE)


def parse_value(text: str) -> float:
    """Map a judgement to a number: the first of sure/likely/impossible in ``text``."""
    found = re.search(r"\b(sure|likely|impossible)\b", text.lower())
    return VALUE_WORDS[found.group(1)] if found else UNKNOWN_VALUE


def parse_vote(text: str, n: int) -> int | None:
    """The 0-based choice a vote reply names (the first number 1..n in it), or ``None``."""
    for token in re.findall(r"\d+", text):
        choice = int(token)
        if 1 <= choice <= n:
            return choice - 1
    return None


def vote_grammar(n: int) -> str:
    return "root ::= " + " | ".join(f'"{i}"' for i in range(1, n + 1))


def chat_prompt(name: str, **values: Any) -> list[Message]:
    """Render prompt ``name`` and split it into messages at ``[system]``/``[user]``/``[assistant]`` lines.

    A template without role lines is a single user message.
    """
    text = prompts.render(name, **{k: str(v) for k, v in values.items()})
    parts = _ROLE_LINE.split(text)
    if len(parts) == 1:
        return [Message("user", text.strip())]
    if parts[0].strip():
        raise ConfigError(f"prompt {name!r} has text before its first role line")
    messages = []
    for i in range(1, len(parts), 2):
        role: MessageRole = parts[i]  # type: ignore[assignment]
        messages.append(Message(role, parts[i + 1].strip("\n")))
    return messages


def numbered(items: Sequence[str]) -> str:
    return "\n".join(f"{i}. {item}" for i, item in enumerate(items, 1))


def split_thoughts(text: str) -> list[str]:
    """The non-empty lines of a reply, without list markers ("1.", "-", "*")."""
    out = []
    for line in text.splitlines():
        line = re.sub(r"^\s*(?:[-*•]|\(?\d+[.)]|step\s*\d+\s*:)\s*", "", line, flags=re.IGNORECASE).strip()
        if line:
            out.append(line)
    return out
