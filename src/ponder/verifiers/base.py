"""The verifier protocol, verdicts, and programmatic checks.

A verifier looks at a question and a proposed answer and returns a
:class:`Verdict`. Its ``check`` is a generator, like a strategy: a model-based
verifier yields engine requests (a judge's model call, a batch of samples, a
sandbox run as ``CallTool``) and so is budgeted and traced like everything
else; a programmatic one yields nothing and returns at once.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from ..errors import ConfigError
from ..guards.patterns import user_pattern
from ..requests import Request

VerifierGen = Generator[Request, Any, "Verdict"]


@dataclass(frozen=True, slots=True)
class Verdict:
    """A verifier's judgement: accepted or not, why (feedback for a revision), and a score in [0, 1]."""

    ok: bool
    feedback: str = ""
    #: how good the answer is, in [0, 1]; None means 1.0 when ok, else 0.0
    score: float | None = None

    @property
    def value(self) -> float:
        """The score clamped to [0, 1] (1.0 / 0.0 from ``ok`` when no score was given)."""
        if self.score is None:
            return 1.0 if self.ok else 0.0
        return min(1.0, max(0.0, self.score))

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "feedback": self.feedback, "score": round(self.value, 4)}


@runtime_checkable
class Verifier(Protocol):
    """Anything with a ``name`` and a generator ``check(question, answer) -> Verdict``."""

    @property
    def name(self) -> str:
        """A short name shown in steps and details (a plain attribute in implementations)."""
        ...

    def check(self, question: str, answer: str) -> VerifierGen: ...


CheckResult = bool | tuple[bool, str] | Verdict
CheckFn = Callable[[str, str], CheckResult]


@dataclass(frozen=True, slots=True)
class Check:
    """A programmatic verifier: any Python callable ``fn(question, answer)``.

    ``fn`` returns a bool, ``(ok, feedback)`` or a :class:`Verdict`. If it raises,
    the answer is rejected and the exception (type and message) is the
    feedback: a malformed answer is the model's problem, so it goes back to it.
    """

    fn: CheckFn
    name: str = "check"
    #: feedback used when ``fn`` returns a bare False
    failure: str = "the answer did not pass the check"

    def check(self, question: str, answer: str) -> VerifierGen:
        try:
            result = self.fn(question, answer)
        except Exception as exc:  # the check could not handle this answer
            return Verdict(False, f"the check raised {type(exc).__name__}: {exc}")
        return _as_verdict(result, self.failure)
        yield  # pragma: no cover - makes this a generator


def _as_verdict(result: CheckResult, failure: str) -> Verdict:
    if isinstance(result, Verdict):
        return result
    if isinstance(result, tuple):
        ok, feedback = result
        return Verdict(bool(ok), str(feedback))
    return Verdict(True, "passed") if result else Verdict(False, failure)


def contains(text: str, *, case_sensitive: bool = False) -> Check:
    """A check that the answer contains ``text`` (case-insensitive unless asked)."""
    if not text:
        raise ConfigError("contains: the text to look for is empty")

    def fn(_question: str, answer: str) -> CheckResult:
        found = text in answer if case_sensitive else text.casefold() in answer.casefold()
        return (True, f"the answer contains {text!r}") if found else (False, f"the answer must contain {text!r}")

    return Check(fn, name=f"contains:{text}")


def matches(pattern: str) -> Check:
    """A check that the answer matches the regular expression ``pattern`` somewhere (time-bounded: a
    match that runs out of time fails the check, see :mod:`ponder.guards.patterns`)."""
    compiled = user_pattern(pattern, "verifier pattern")

    def fn(_question: str, answer: str) -> CheckResult:
        if compiled.search(answer):
            return True, f"the answer matches {pattern!r}"
        return False, f"the answer must match the pattern {pattern!r}"

    return Check(fn, name=f"regex:{pattern}")


def close_verifier(verifier: object) -> None:
    """Release what a verifier holds (a sandbox); does nothing for those that hold nothing."""
    close = getattr(verifier, "close", None)
    if callable(close):
        close()
