"""``verify``: generate, verify, then accept — or revise with the verifier's feedback; bounded.

Round 1 produces an answer: one model call (``kind="draft"``), or a child run
of ``inner`` (any strategy: react, tree, consistency, ...). The ``verifier``
checks it (see :mod:`ponder.verifiers`: an LM judge, any Python callable, a
grounded check against a source text, code run in the sandbox). A ``verdict``
step records each judgement (round, ok, score, feedback).

* accepted → stop reason ``answered``;
* rejected → the next round revises with the feedback: without ``inner`` the
  conversation continues (``prompts/verify/revise.txt``, so prompts stay
  prefix-stable); with ``inner`` a new child run gets the question plus the
  rejected answer and the feedback (``prompts/verify/retry.txt``);
* or, with ``revise="fresh"``, the next round draws a new answer to the question
  alone (the first call's messages, sampled at ``fresh_temperature``, seeded by
  the round): generate and filter, for a model that repairs its own answer worse
  than it answers again (Olausson et al. 2023 found independent samples match or
  beat self-repair at equal cost for most models they tried);
* after ``max_rounds`` rejected answers → stop reason ``rounds``, and the
  answer is the best-scored one (the latest among equals).

**A repeated answer** (the same text, spaces aside, as one already rejected: a
small model at temperature 0 often gives back its rejected code unchanged) is
not checked again: its verdict is the earlier one, recorded with ``repeat`` in
the step's data, and the next revision says so (``prompts/verify/repeat.txt``)
and is sampled at ``repeat_temperature`` (seeded by the round), so it can leave
the answer it keeps returning (``fresh`` answers are sampled anyway). ``repeat_temperature=0`` keeps every call greedy.

When the budget ends the run first, the latest answer is returned unverified.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import prompts, steps
from ..access import CLIENT
from ..errors import ConfigError, StopRun
from ..requests import Child, Generate, Outcome, Record, Request, Strategy, StrategyGen
from ..types import Message, assistant, system, user
from ..verifiers.base import Verdict, Verifier
from ..verifiers.judge import Judge
from ..verifiers.specs import verifier_calls
from .entry import Option, Slot, StrategyEntry

#: what follows a rejected answer (see the module docs)
REVISE = ("feedback", "fresh")


@dataclass(frozen=True)
class Verify:
    """Generator–verifier loop (see module docs)."""

    inner: Strategy | None = None
    verifier: Verifier = field(default_factory=Judge)
    max_rounds: int = 3
    system_prompt: str | None = None
    #: the temperature of a revision asked after a repeated answer (see the module docs)
    repeat_temperature: float = 0.7
    #: how a rejected answer is followed: ``feedback`` (revise it with the verifier's feedback) or ``fresh``
    #: (a new, independent answer to the question; see the module docs)
    revise: str = "feedback"
    #: the temperature of ``fresh`` answers (each seeded by its round)
    fresh_temperature: float = 0.8
    name: str = "verify"

    def __post_init__(self) -> None:
        if self.max_rounds < 1:
            raise ConfigError(f"verify needs max_rounds >= 1, got {self.max_rounds}")
        if not 0 <= self.repeat_temperature <= 2:
            raise ConfigError(f"verify's repeat temperature is between 0 and 2, got {self.repeat_temperature}")
        if self.revise not in REVISE:
            raise ConfigError(f"verify revises with one of {', '.join(REVISE)}, got {self.revise!r}")
        if not 0 < self.fresh_temperature <= 2:
            raise ConfigError(f"verify's fresh temperature is above 0 and at most 2, got {self.fresh_temperature}")
        if self.revise == "fresh" and self.inner is not None:
            raise ConfigError(
                "verify --revise fresh samples new answers with one model call each; it takes no --inner "
                "(use --revise feedback with an inner strategy)"
            )

    def run(self, question: str) -> StrategyGen:
        sys_prompt = self.system_prompt if self.system_prompt is not None else prompts.load("system")
        history: list[Message] = [system(sys_prompt), user(question)]
        answer: str | None = None
        verdict: Verdict | None = None
        best: tuple[float, int, str] | None = None
        rejected: dict[str, tuple[int, Verdict]] = {}  # answer (spaces aside) -> its round and verdict
        repeat: int | None = None  # the round whose answer the last one repeated
        try:
            for round_ in range(1, self.max_rounds + 1):
                answer = yield from self._answer(question, history, answer, verdict, repeat is not None, round_)
                repeat = None
                if answer is None:
                    verdict = Verdict(False, "no answer was given")
                elif _same(answer) in rejected:
                    repeat, verdict = rejected[_same(answer)]
                else:
                    verdict = yield from self.verifier.check(question, answer)
                    if best is None or verdict.value >= best[0]:
                        best = (verdict.value, round_, answer)
                    if not verdict.ok:
                        rejected[_same(answer)] = (round_, verdict)
                state = "accepted" if verdict.ok else "rejected"
                again = f" (the answer of round {repeat} again, not checked again)" if repeat is not None else ""
                yield Record(
                    steps.VERDICT,
                    f"round {round_}: {state} by {self.verifier.name}{again}: {verdict.feedback}",
                    {"round": round_, "verifier": self.verifier.name, **verdict.to_dict()}
                    | ({"repeat": repeat} if repeat is not None else {}),
                )
                if verdict.ok:
                    return Outcome(answer, "answered", f"accepted by {self.verifier.name} in round {round_}")
            if best is None:
                return Outcome(None, "rounds", f"no answer in {self.max_rounds} rounds")
            detail = (
                f"no answer passed {self.verifier.name} in {self.max_rounds} rounds; "
                f"kept round {best[1]} (score {best[0]:.2f}); last feedback: {verdict.feedback if verdict else ''}"
            )
            return Outcome(best[2], "rounds", detail)
        except StopRun as stop:
            return Outcome(answer, stop.reason, f"{stop.detail}; the last answer is unverified")

    def _answer(
        self,
        question: str,
        history: list[Message],
        previous: str | None,
        verdict: Verdict | None,
        repeated: bool,
        round_: int,
    ) -> Generator[Request, Any, str | None]:
        """The first answer (``verdict`` None) or a revision of ``previous`` after ``verdict`` (``repeated``:
        ``previous`` was an answer rejected before)."""
        if self.inner is not None:
            asked = question
            if verdict is not None:
                asked = prompts.render(
                    "verify/retry", question=question, answer=previous or "(none)", feedback=verdict.feedback
                )
            outcome: Outcome = yield Child(self.inner, asked)
            return outcome.answer.strip() if outcome.answer and outcome.answer.strip() else None
        if verdict is not None and self.revise == "fresh":
            completion = yield Generate.of(
                history[:2], kind=steps.SAMPLE, temperature=self.fresh_temperature, seed=round_
            )
            return completion.text.strip() or None
        if verdict is not None:
            history.append(assistant(previous or ""))
            history.append(
                user(prompts.render("verify/repeat" if repeated else "verify/revise", feedback=verdict.feedback))
            )
        kind = steps.DRAFT if verdict is None else steps.REVISION
        if repeated and self.repeat_temperature > 0:
            completion = yield Generate.of(history, kind=kind, temperature=self.repeat_temperature, seed=round_)
        else:
            completion = yield Generate.of(history, kind=kind)
        return completion.text.strip() or None


def _same(answer: str) -> str:
    """An answer with its spacing dropped: what makes two answers the same one."""
    return " ".join(answer.split())


def _call_count(options: Mapping[str, Any], slots: Mapping[str, int]) -> int:
    """Each round: an answer (one call, or the inner strategy's) and a check."""
    return int(options.get("max_rounds", 3)) * (slots.get("inner", 1) + max(1, verifier_calls(options.get("verifier"))))


ENTRY = StrategyEntry(
    "verify",
    Verify,
    "generate, verify, revise with the verifier's feedback",
    options=(
        Option(
            "max_rounds",
            int,
            "verify: most generate-verify rounds (default 3).",
            "--rounds",
            minimum=1,
            maximum=1000,
            access=CLIENT,
            client_max=16,
        ),
        Option(
            "revise",
            str,
            "verify: after a rejected answer, revise it with the feedback, or draw a fresh one (default feedback).",
            "--revise",
            choices=REVISE,
            access=CLIENT,
        ),
        Option(
            "fresh_temperature",
            float,
            "verify: the temperature of fresh answers (default 0.8).",
            minimum=0,
            open_min=True,
            maximum=2,
            access=CLIENT,
        ),
    ),
    slots=(
        Slot(
            "inner", "consistency/verify: the strategy to sample or verify (e.g. react).", flag="--inner", access=CLIENT
        ),
    ),
    verifier_field="verifier",
    verifier_help="verify: the verifier (default judge).",
    calls=_call_count,
)
