"""``route`` (System 1 / System 2): answer fast; escalate to a slower strategy only when a check fails.

1. ``fast`` (default: ``single``) answers, as a child run;
2. ``check`` (a verifier; default: :class:`~ponder.verifiers.Agreement`, i.e.
   fresh samples must agree with the fast answer; a number is taken as that
   agreement threshold) judges the fast answer;
3. passed → the fast answer is final; failed, or no fast answer → ``slow``
   (default: ``consistency``; any strategy) runs as a child run and its answer
   is final (the fast answer is kept when the slow path gives none).

``prompt`` (a packaged prompt, see :mod:`.asking`) is how the route asks: it
goes to the fast path, the agreement check's samples and the slow path,
wherever one of them (``single``, ``consistency``, :class:`Agreement`) sets
none of its own. When the slow path is ``consistency`` (of plain samples, no ``inner``) and the check is
:class:`Agreement`, the check draws the vote's own samples 1..K (its prompt,
temperature, seeds and extraction), so with a call cache an escalation reuses them
instead of drawing them again (``share_samples=False`` keeps the check's
own seeds).

A ``route`` step records the decision (``path``: fast or slow, and why, with
the verdict) and the outcome's detail says the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .. import steps
from ..access import CLIENT
from ..errors import StopRun
from ..requests import Child, Outcome, Record, Strategy, StrategyGen
from ..verifiers.agreement import Agreement
from ..verifiers.base import Verdict, Verifier
from ..verifiers.specs import verifier_calls
from .asking import PROMPTS
from .consistency import Consistency
from .entry import Option, Slot, StrategyEntry
from .single import Single


@dataclass(frozen=True)
class Route:
    """System 1 / System 2 routing (see module docs)."""

    fast: Strategy = field(default_factory=Single)
    slow: Strategy = field(default_factory=Consistency)
    check: Verifier | float = field(default_factory=Agreement)
    name: str = "route"
    #: a packaged prompt for every asking of the route that sets none (see the module docs)
    prompt: str | None = None
    #: the agreement check draws the slow vote's samples 1..K (see the module docs)
    share_samples: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.check, int | float) and not isinstance(self.check, bool):
            object.__setattr__(self, "check", Agreement(threshold=float(self.check)))
        if self.prompt is not None:
            for part in ("fast", "slow", "check"):
                object.__setattr__(self, part, _asking_with(getattr(self, part), self.prompt))
        vote = self.slow
        if (
            self.share_samples
            and isinstance(self.check, Agreement)
            and isinstance(vote, Consistency)
            and not vote.inner
        ):
            shared = replace(
                self.check,
                seed=vote.seed + 1,
                temperature=vote.temperature,
                extract=vote.extract,
                prompt=vote.prompt,
                system_prompt=vote.system_prompt,
            )
            object.__setattr__(self, "check", shared)

    def run(self, question: str) -> StrategyGen:
        check = self.check
        assert not isinstance(check, int | float)  # converted in __post_init__
        fast: Outcome | None = None
        try:
            fast = yield Child(self.fast, question, role="fast")
            if fast.answer is None or not fast.answer.strip():
                verdict = Verdict(False, f"the fast path gave no answer ({fast.stop_reason}: {fast.detail})")
            else:
                verdict = yield from check.check(question, fast.answer)
            data = {"verifier": check.name, **verdict.to_dict(), "fast": self.fast.name, "slow": self.slow.name}
            if verdict.ok:
                yield Record(
                    steps.ROUTE, f"fast path accepted by {check.name}: {verdict.feedback}", {"path": "fast", **data}
                )
                return Outcome(fast.answer, "answered", f"fast path ({self.fast.name}) accepted by {check.name}")
            yield Record(
                steps.ROUTE,
                f"escalating to {self.slow.name}: {check.name} failed: {verdict.feedback}",
                {"path": "slow", **data},
            )
            slow: Outcome = yield Child(self.slow, question)
        except StopRun as stop:
            kept = fast.answer if fast is not None else None
            return Outcome(kept, stop.reason, f"{stop.detail}; kept the fast answer")
        why = f"slow path ({self.slow.name}) after {check.name} rejected the fast answer"
        if slow.answer is None or not slow.answer.strip():
            return Outcome(fast.answer, slow.stop_reason, f"{why}; it gave no answer, kept the fast one: {slow.detail}")
        return Outcome(slow.answer, slow.stop_reason, f"{why}: {slow.detail}")


def _asking_with(part: Any, prompt: str) -> Any:
    """``part`` asking with the packaged ``prompt`` when it is a one-shot asker that sets no prompt of its own."""
    if isinstance(part, Single | Consistency | Agreement) and part.prompt is None and part.system_prompt is None:
        return replace(part, prompt=prompt)
    return part


def _call_count(options: Mapping[str, Any], slots: Mapping[str, int]) -> int:
    """The fast path, the check's calls (default: agreement, 3 fresh samples) and the slow path."""
    return slots.get("fast", 1) + verifier_calls(options.get("verifier"), "agree") + slots.get("slow", 0)


ENTRY = StrategyEntry(
    "route",
    Route,
    "answer fast; escalate to a slower strategy when a check fails (System 1 / System 2)",
    slots=(
        Slot("fast", "route: the fast strategy (default single).", default="single", role="fast", access=CLIENT),
        Slot(
            "slow",
            "route: the slow strategy (default consistency).",
            flag="--escalate-to",
            default="consistency",
            access=CLIENT,
        ),
    ),
    options=(
        Option(
            "prompt",
            str,
            "route: the packaged prompt of the fast path, the check and the slow path (where they set none).",
            "--prompt",
            choices=PROMPTS,
            nullable=True,
            access=CLIENT,
        ),
    ),
    verifier_field="check",  # the spec key is "verifier" (as everywhere); "check" is the field
    verifier_help="route: the check of the fast answer (default agree:3:0.6).",
    calls=_call_count,
)
