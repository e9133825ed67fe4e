"""Scorers that check an answer by running it: a Game of 24 expression, a HumanEval function.

``game24``     the answer's expression (after ``Answer:``, or the longest arithmetic in it) uses the
               puzzle's four numbers (the record's ``numbers``, else the question) exactly once
               each and makes exactly 24
``humaneval``  the function in the answer (its fenced code, else the whole text) passes the item's
               hidden tests (the record's ``test`` and ``entry_point``), run in the code sandbox
               with a time limit; the question never holds the tests

The HumanEval scorer uses one sandbox per process for the whole evaluation (each item runs in a
fresh namespace, so nothing one answer defines reaches the next); a sandbox that
cannot isolate code (no bubblewrap) is refused unless the operator allows it the
usual way (``PONDER_ALLOW_UNISOLATED_ROOT``, see the sandbox's docs).
"""

from __future__ import annotations

import atexit
import threading
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from ..models.base import Model
from ..tasks.game24_math import check_expression, extract_expression, parse_puzzle
from ..verifiers.code import code_of
from .data import Item
from .score import Score, Scorer

#: seconds one item's hidden tests may run
HUMANEVAL_TIMEOUT = 10.0


def _numbers(item: Item) -> tuple[int, ...]:
    text = str(item.record.get("numbers") or item.question)
    found = parse_puzzle(text)
    if found is None:
        raise ConfigError(f"item {item.id}: no Game of 24 puzzle (four numbers) in {text[:60]!r}")
    return found


@dataclass(frozen=True, slots=True)
class Game24Scorer(Scorer):
    spec: str = "game24"
    needs_judge: bool = False

    def check(self, item: Item) -> None:
        _numbers(item)

    def score(self, answer: str | None, item: Item, judge: Model | None = None) -> Score:
        if answer is None:
            return Score(0.0, False, "no answer")
        expression = extract_expression(answer)
        if expression is None:
            return Score(0.0, False, "no expression")
        verdict = check_expression(expression, _numbers(item))
        return Score(1.0 if verdict.ok else 0.0, verdict.ok, f"{expression}: {verdict.reason or 'ok'}"[:200])


def humaneval_program(answer: str, record: Any) -> str:
    """The code the sandbox runs: the answer's code, the hidden tests, ``check(ENTRY_POINT)``."""
    code = code_of(answer)
    source = f"{code}\n\n{record['test']}\n\ncheck({record['entry_point']})\n"
    return f"exec(compile({source!r}, '<answer>', 'exec'), {{'__name__': '__answer__'}})"


_SANDBOX: list[Any] = []
_SANDBOX_LOCK = threading.Lock()


def _run_sandboxed(program: str) -> Any:
    """Run ``program`` in this process's scoring sandbox (made on first use, closed at exit), one call at a time."""
    with _SANDBOX_LOCK:
        if not _SANDBOX:
            from ..sandbox import Sandbox, SandboxConfig

            _SANDBOX.append(Sandbox(SandboxConfig(timeout=HUMANEVAL_TIMEOUT)))
            atexit.register(_close_sandbox)
        return _SANDBOX[0].run(program)


def _close_sandbox() -> None:
    with _SANDBOX_LOCK:
        while _SANDBOX:
            _SANDBOX.pop().close()


@dataclass(frozen=True, slots=True)
class HumanEvalScorer(Scorer):
    spec: str = "humaneval"
    needs_judge: bool = False

    def check(self, item: Item) -> None:
        if not isinstance(item.record.get("test"), str) or not isinstance(item.record.get("entry_point"), str):
            raise ConfigError(f"item {item.id} has no HumanEval 'test' and 'entry_point' (ponder generate humaneval)")

    def score(self, answer: str | None, item: Item, judge: Model | None = None) -> Score:
        if answer is None:
            return Score(0.0, False, "no answer")
        self.check(item)
        if not code_of(answer).strip():
            return Score(0.0, False, "no code in the answer")
        result = _run_sandboxed(humaneval_program(answer, item.record))
        if result.ok:
            return Score(1.0, True, "hidden tests pass")
        why = "timed out" if result.timed_out else (result.error or "failed")
        return Score(0.0, False, why[:200])
