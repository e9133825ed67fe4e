"""Scorers: how an answer is compared with the gold answer.

=========================  =============================================================
spec                       correct when
=========================  =============================================================
``exact``                  the answer equals the gold answer (case, spaces, end punctuation ignored)
``number``                 the last number of the answer equals the gold's last number
                           (``1,234 dollars`` = ``1234``; relative tolerance 1e-6)
``contains``               the gold answer occurs in the answer (case-folded)
``regex:PAT``              PAT's last match in the answer (its first group, if any) equals the gold
                           answer; with no gold answer, any match counts
``choice``                 the option letter (A-D) the answer picks is the gold letter
``python:MODULE:FUNC``     ``FUNC(answer, gold, record)`` says so: a bool, a score in [0, 1]
                           (correct from 0.5), or ``{"score": s, "correct": c}``
``judge``                  an LM judge (the ``judge`` model role) says CORRECT
``game24``                 the answer's expression solves the item's Game of 24 puzzle
``humaneval``              the answer's function passes the item's hidden tests, in the sandbox
=========================  =============================================================

Every scorer gives a :class:`Score`: a number in [0, 1] and whether it counts as
correct; a missing answer (the run failed) scores 0. Scorers are named by their
spec string, so a worker on another machine rebuilds the same one.
"""

from __future__ import annotations

import importlib
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .. import prompts
from ..errors import ConfigError, PonderError
from ..extract import last_number, normalize
from ..extract import regex as regex_extractor
from ..models.base import Model
from ..types import GenerationOptions, user
from ..verifiers.judge import GRAMMAR, parse_judgement
from .data import Item
from .score import Score, Scorer
from .task_scorers import Game24Scorer, HumanEvalScorer

SCORERS = ("exact", "number", "contains", "regex:PAT", "choice", "python:MODULE:FUNC", "judge", "game24", "humaneval")


def _score(ok: bool, detail: str = "") -> Score:
    return Score(1.0 if ok else 0.0, ok, detail)


@dataclass(frozen=True, slots=True)
class Compare(Scorer):
    """A scorer from a comparison function (``exact``, ``number``, ``contains``, ``choice``)."""

    spec: str
    compare: Callable[[str, str], Score]
    needs_judge: bool = False

    def check(self, item: Item) -> None:
        """Fail now, with one line, for an item this scorer cannot score (no gold, or a gold of the wrong kind)."""
        if item.gold is None:
            raise ConfigError(f"item {item.id} has no gold answer for the {self.spec} scorer (use --answer-field)")
        try:
            self.compare("", item.gold)
        except ConfigError as exc:
            raise ConfigError(f"item {item.id}: {exc}") from None

    def score(self, answer: str | None, item: Item, judge: Model | None = None) -> Score:
        if answer is None:
            return _score(False, "no answer")
        if item.gold is None:
            raise ConfigError(f"item {item.id} has no gold answer for the {self.spec} scorer (use --answer-field)")
        return self.compare(answer, item.gold)


def _exact(answer: str, gold: str) -> Score:
    return _score(normalize(answer) == normalize(gold))


def _number(answer: str, gold: str) -> Score:
    want = last_number(gold)
    if want is None:
        raise ConfigError(f"the gold answer {gold[:60]!r} has no number (the number scorer compares numbers)")
    got = last_number(answer)
    if got is None:
        return _score(False, "no number in the answer")
    ok = math.isclose(float(got), float(want), rel_tol=1e-6, abs_tol=1e-9)
    return _score(ok, f"{got} vs {want}")


def _contains(answer: str, gold: str) -> Score:
    return _score(" ".join(gold.split()).casefold() in " ".join(answer.split()).casefold())


_CHOICE_PATTERNS = (
    re.compile(r"\banswer\s*(?:is|:)?\s*[:\-]?\s*\(?([A-D])\b\)?", re.IGNORECASE),
    re.compile(r"^\s*\(?([A-D])\)?(?:[.):\s]|$)"),
    re.compile(r"\(([A-D])\)"),
    re.compile(r"\b([A-D])\b"),
)


def choice_letter(text: str) -> str | None:
    """The option letter A-D an answer picks (``The answer is (C)``, ``B) ...``, a lone ``D``), or None."""
    for pattern in _CHOICE_PATTERNS:
        found = pattern.findall(text)
        if found:
            return str(found[-1] if pattern is _CHOICE_PATTERNS[0] else found[0]).upper()
    return None


def _choice(answer: str, gold: str) -> Score:
    letter = gold.strip().strip("()").strip(". ")
    want = letter.upper() if len(letter) == 1 and letter.upper() in "ABCD" else choice_letter(gold.strip())
    if want is None:
        raise ConfigError(f"the gold answer {gold[:60]!r} is not an option letter A-D (the choice scorer)")
    got = choice_letter(answer)
    return _score(got == want, f"{got or '-'} vs {want}")


@dataclass(frozen=True, slots=True)
class Regex(Scorer):
    spec: str
    needs_judge: bool = False

    def score(self, answer: str | None, item: Item, judge: Model | None = None) -> Score:
        extract = regex_extractor(self.spec.removeprefix("regex:"))
        if answer is None:
            return _score(False, "no answer")
        got = extract(answer)
        if got is None:
            return _score(False, "no match")
        if item.gold is None:
            return _score(True, got)
        return _score(got == normalize(item.gold), f"{got} vs {normalize(item.gold)}")


@dataclass(frozen=True, slots=True)
class Python(Scorer):
    """``python:MODULE:FUNC``: a function of (answer, gold, record) returning a bool, a number or a dict."""

    spec: str
    needs_judge: bool = False

    def function(self) -> Callable[..., Any]:
        parts = self.spec.split(":")
        if len(parts) != 3 or not all(parts[1:]):
            raise ConfigError(f"a python scorer is python:MODULE:FUNCTION, got {self.spec!r}")
        try:
            module = importlib.import_module(parts[1])
        except ImportError as exc:
            raise ConfigError(f"cannot import the scorer module {parts[1]!r}: {exc}") from None
        func = getattr(module, parts[2], None)
        if not callable(func):
            raise ConfigError(f"the module {parts[1]} has no function {parts[2]!r}")
        return func  # type: ignore[no-any-return]

    def score(self, answer: str | None, item: Item, judge: Model | None = None) -> Score:
        if answer is None:
            return _score(False, "no answer")
        try:
            value = self.function()(answer, item.gold, dict(item.record))
        except ConfigError:
            raise
        except Exception as exc:  # the user's scorer failed on this item: a scoring error, not a crash
            raise PonderError(f"the scorer {self.spec} raised {type(exc).__name__}: {exc}") from None
        return _from_value(value, self.spec)


def _from_value(value: Any, spec: str) -> Score:
    if isinstance(value, Mapping) and "score" in value:
        number = float(value["score"])
        return Score(number, bool(value.get("correct", number >= 0.5)), str(value.get("detail", "")))
    if isinstance(value, bool):
        return _score(value)
    if isinstance(value, int | float) and 0 <= value <= 1:
        return Score(float(value), value >= 0.5)
    raise PonderError(f"the scorer {spec} returned {value!r}; return a bool, a number in [0, 1] or {{'score': ...}}")


@dataclass(frozen=True, slots=True)
class Judge(Scorer):
    """An LM judge: the ``judge`` model is shown the question, the gold answer (if any) and the answer."""

    spec: str = "judge"
    needs_judge: bool = True
    prompt: str = "eval/judge"

    def score(self, answer: str | None, item: Item, judge: Model | None = None) -> Score:
        if answer is None:
            return _score(False, "no answer")
        if judge is None:
            raise ConfigError("the judge scorer needs a judge model")
        text = prompts.render(
            self.prompt,
            question=item.question,
            gold=item.gold if item.gold is not None else "(none given)",
            answer=answer,
        )
        grammar = GRAMMAR if judge.supports_grammar else None
        reply = judge.complete([user(text)], GenerationOptions(max_tokens=96, stop=("\n",), grammar=grammar))
        verdict = parse_judgement(reply.text)
        return Score(verdict.value, verdict.ok, verdict.feedback[:200])


_COMPARE: dict[str, Callable[[str, str], Score]] = {
    "exact": _exact,
    "number": _number,
    "contains": _contains,
    "choice": _choice,
}


#: the scorers a name alone builds
_NAMED: dict[str, Callable[[], Scorer]] = {"judge": Judge, "game24": Game24Scorer, "humaneval": HumanEvalScorer}


def get_scorer(spec: str) -> Scorer:
    """The scorer named by ``spec`` (see the module docs); one clear error for an unknown one."""
    spec = spec.strip()
    if spec in _COMPARE:
        return Compare(spec, _COMPARE[spec])
    if spec.startswith("regex:"):
        regex_extractor(spec.removeprefix("regex:"))  # a bad pattern fails now, not per item
        return Regex(spec)
    if spec.startswith("python:"):
        scorer = Python(spec)
        scorer.function()
        return scorer
    if spec in _NAMED:
        return _NAMED[spec]()
    raise ConfigError(f"unknown scorer {spec!r} (use {', '.join(SCORERS)})")
